"""A hostile spec-dir corpus: entries that must cost only themselves, beside one good spec.

Each case puts one troublesome entry (or a few that belong together) into a
spec dir that also holds `GOOD_SPEC`. Whatever the entry is, reading the dir
must still give the good device, and report the entry as valid or as one
one-line error, without blocking and without an exception. Special files
cannot be committed, so every case is a function that makes its entry.

The cases cover: special files (FIFO, socket, device nodes, directories),
symlinks in awkward shapes, names no one expects, trust and size limits,
YAML scalars of every tag PyYAML resolves with values out of range, encodings
and byte order marks, and nesting and aliasing that cost more than the bytes
suggest.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

GOOD_KIND = "good.example/dev"
GOOD_DEVICE = f"{GOOD_KIND}=d0"
GOOD_ENV = "GOOD_DEVICE=present"
MAX_SPEC_BYTES = 4 * 1024 * 1024


def good_spec(device_node: str | None = None) -> str:
    """The one valid spec every case sits beside, optionally with a device node."""
    nodes = f"\n      deviceNodes: [{{path: {device_node}}}]" if device_node else ""
    return f"""\
cdiVersion: "0.6.0"
kind: {GOOD_KIND}
devices:
  - name: d0
    containerEdits:
      env: [{GOOD_ENV}]{nodes}
"""


def _spec_yaml(kind: str, value: str) -> bytes:
    """A spec of *kind* whose device's env holds *value* as YAML (often the troublemaker)."""
    return f'cdiVersion: "0.6.0"\nkind: {kind}\ndevices:\n  - name: x\n    containerEdits:\n      env: [{value}]\n'.encode()


def _write(name: str | bytes, data: bytes, mode: int = 0o644) -> Callable[[Path], None]:
    def make(directory: Path) -> None:
        path = os.path.join(os.fsencode(directory), os.fsencode(name))
        with open(path, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)

    return make


def _yaml(data: str | bytes) -> Callable[[Path], None]:
    return _write("case.yaml", data.encode() if isinstance(data, str) else data)


def _json(data: str | bytes) -> Callable[[Path], None]:
    return _write("case.json", data.encode() if isinstance(data, str) else data)


def _fifo(name: str) -> Callable[[Path], None]:
    return lambda directory: os.mkfifo(directory / name)


def _socket(directory: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(directory / "case.json"))


def _node(name: str, kind: int, major: int, minor: int) -> Callable[[Path], None]:
    return lambda directory: os.mknod(directory / name, 0o644 | kind, os.makedev(major, minor))


def _symlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda directory: os.symlink(target, directory / name)


def _symlink_to_fifo(directory: Path) -> None:
    os.mkfifo(directory.parent / f"{directory.name}-fifo")
    os.symlink(directory.parent / f"{directory.name}-fifo", directory / "case.yaml")


def _symlink_cycle(directory: Path) -> None:
    os.symlink("b.json", directory / "a.json")
    os.symlink("a.json", directory / "b.json")


def _symlink_chain(directory: Path) -> None:
    os.symlink("target.txt", directory / "link-0")
    (directory / "target.txt").write_text("{}")
    for index in range(1, 45):
        os.symlink(f"link-{index - 1}", directory / f"link-{index}")
    os.symlink("link-44", directory / "case.json")


def _symlink_to_other_spec(directory: Path) -> None:
    other = directory.parent / f"{directory.name}-other.yaml"
    other.write_bytes(_spec_yaml("other.example/dev", "OTHER=1"))
    os.symlink(other, directory / "case.yaml")


def _directory(name: str) -> Callable[[Path], None]:
    return lambda directory: (directory / name).mkdir()


def _sparse(directory: Path) -> None:
    with open(directory / "case.json", "wb") as handle:
        handle.truncate(MAX_SPEC_BYTES + 1)


def _foreign_owner(directory: Path) -> None:
    _write("case.yaml", _spec_yaml("foreign.example/dev", "F=1"))(directory)
    os.chown(directory / "case.yaml", 12345, 12345)


def _nested(opening: str, closing: str, depth: int) -> bytes:
    return (opening * depth + closing * depth).encode()


def _alias_multiplied() -> str:
    # 20,000 devices, each an alias of one device with 20,000 env entries.
    env = ",".join(["A=1"] * 20_000)
    devices = ",".join(["*d"] * 20_000)
    return f'cdiVersion: "0.6.0"\nkind: bomb.example/dev\ndevices: [&d {{name: d, containerEdits: {{env: [{env}]}}}}, {devices}]\n'


def _merge_multiplied() -> str:
    keys = ",".join(f"k{index}: 1" for index in range(20_000))
    merges = ",".join(["{<<: *a}"] * 20_000)
    return f'cdiVersion: "0.6.0"\nkind: bomb.example/dev\nx: &a {{{keys}}}\ndevices: [{merges}]\n'


def _merge_chain() -> str:
    lines = ['cdiVersion: "0.6.0"', "kind: bomb.example/dev", "a0: &a0 {" + ",".join(f"k{i}: 1" for i in range(100)) + "}"]
    for level in range(1, 6):
        lines.append(f"a{level}: &a{level} {{<<: [" + ",".join([f"*a{level - 1}"] * 100) + "]}")
    return "\n".join(lines) + "\n"


def _billion_laughs() -> str:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"lol{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\ncdiVersion: 0.6.0\n"


def _deep_indentation() -> str:
    return "a:\n" + "".join(" " * indent + "- \n" for indent in range(0, 3000, 2))


def _aliased_long_string() -> str:
    # One 1 MB env entry, aliased 100,000 times: 100 GB of env once expanded.
    return (f'cdiVersion: "0.6.0"\nkind: bomb.example/dev\ndevices:\n- name: d\n  containerEdits:\n'
            f'    env: [&e "A={"x" * 1_000_000}", ' + ", ".join(["*e"] * 100_000) + "]\n")


def _aliased_long_path() -> str:
    # One mount whose container path has 600,000 parts, aliased 100,000 times.
    return (f'cdiVersion: "0.6.0"\nkind: bomb.example/dev\ndevices:\n- name: d\n  containerEdits:\n'
            f'    mounts: [&m {{hostPath: /h, containerPath: "{"/a" * 600_000}"}}, ' + ", ".join(["*m"] * 100_000) + "]\n")


def _sexagesimal_4mb() -> str:
    return "cdiVersion: " + ":".join(["59"] * 1_300_000) + "\n"


def _merge_empty_repeated() -> str:
    return "cdiVersion: 0.6.0\nx: {" + ", ".join(["<<: {}"] * 500_000) + "}\n"


def _shared_mounts() -> str:
    # 128 devices sharing the first device's anchored list of 40 mounts, as generators share edits; valid.
    mounts = ", ".join(f"{{hostPath: /usr/lib/vendor/lib{n}.so, containerPath: /usr/lib/lib{n}.so}}" for n in range(40))
    devices = "\n".join(f"  - name: gpu{n}\n    containerEdits:\n      env: [GPU={n}]\n      mounts: "
                        + (f"&m [{mounts}]" if n == 0 else "*m") for n in range(128))
    return f'cdiVersion: "0.6.0"\nkind: other.example/dev\ndevices:\n{devices}\n'


def _merge_override() -> str:
    # A merged mapping with one key given again: the given one wins (YAML merge semantics); valid.
    return ('cdiVersion: "0.6.0"\nkind: other.example/dev\ndevices:\n  - name: x\n    containerEdits:\n'
            '      mounts:\n        - &m {hostPath: /a, containerPath: /a}\n        - {<<: *m, hostPath: /b, containerPath: /b}\n')


def _utf16(text: str, codec: str, bom: bytes) -> bytes:
    return bom + text.encode(codec)


_VALID_OTHER = _spec_yaml("other.example/dev", "OTHER=1").decode()

#: case id -> function that makes the case's entries in a spec dir.
CASES: dict[str, Callable[[Path], None]] = {
    # Special files: refused before a byte is read, and never waited on.
    "fifo-json": _fifo("case.json"),
    "fifo-yaml": _fifo("case.yaml"),
    "socket": _socket,
    "char-device": _node("case.json", stat.S_IFCHR, 1, 3),
    "block-device": _node("case.yaml", stat.S_IFBLK, 7, 250),
    "directory-named-json": _directory("case.json"),
    # Symlinks in awkward shapes.
    "symlink-to-dev-zero": _symlink("case.json", "/dev/zero"),
    "symlink-to-fifo": _symlink_to_fifo,
    "symlink-dangling": _symlink("case.json", "/nonexistent/spec.json"),
    "symlink-to-itself": _symlink("case.json", "case.json"),
    "symlink-cycle": _symlink_cycle,
    "symlink-chain-45": _symlink_chain,
    "symlink-to-directory": _symlink("case.yaml", "/"),
    "symlink-to-proc-file": _symlink("case.yaml", "/proc/self/status"),
    "symlink-to-valid-spec": _symlink_to_other_spec,
    # Names no one expects.
    "name-not-utf8": _write(b"\xff\xfe-case.json", b"{"),
    "name-with-newline": _write("bad\nname.json", b"{"),
    "name-with-escape": _write("\x1b[31mred.yaml", b"a: ["),
    "name-255-bytes": _write("n" * 250 + ".yaml", _spec_yaml("long.example/dev", "L=1")),
    # Trust and size.
    "sparse-over-size-limit": _sparse,
    "world-writable": _write("case.yaml", _spec_yaml("writable.example/dev", "W=1"), 0o666),
    "foreign-owner": _foreign_owner,
    "empty-json": _json(b""),
    "empty-yaml": _yaml(b""),
    # YAML scalars PyYAML resolves, with values out of range or malformed.
    "int-5000-digits": _yaml(f"cdiVersion: 0.6.0\nx: {'9' * 5000}\n"),
    "int-5000-digits-in-field": _yaml(_spec_yaml("int.example/dev", "A=1").decode().replace("env: [A=1]", f"additionalGids: [{'9' * 5000}]")),
    "explicit-int-not-a-number": _yaml("cdiVersion: !!int abc\n"),
    "hex-int-huge": _yaml(_spec_yaml("hex.example/dev", "A=1").decode().replace("env: [A=1]", f"additionalGids: [0x{'f' * 5000}]")),
    "octal-int": _yaml(_spec_yaml("octal.example/dev", "A=1").decode().replace("env: [A=1]", "additionalGids: [0777]")),
    "sexagesimal-int-huge": _yaml("cdiVersion: " + ":".join(["59"] * 3000) + "\n"),
    "float-not-a-number": _yaml("cdiVersion: !!float abc\n"),
    "float-overflow": _yaml("cdiVersion: 1e99999\n"),
    "float-nan-in-field": _yaml(_spec_yaml("nan.example/dev", "A=1").decode().replace("env: [A=1]", "additionalGids: [.nan]")),
    "timestamp-bad-day": _yaml("cdiVersion: 2024-02-30\n"),
    "timestamp-year-99999": _yaml("cdiVersion: !!timestamp 99999-01-01\n"),
    "timestamp-offset-99h": _yaml("cdiVersion: 2024-01-01 10:00:00 +99:00\n"),
    "binary-bad-padding": _yaml("cdiVersion: !!binary ab\n"),
    "binary-not-ascii": _yaml("cdiVersion: !!binary ü\n"),
    "bool-unknown": _yaml("cdiVersion: !!bool maybe\n"),
    "null-tag-in-field": _yaml(_spec_yaml("null.example/dev", "!!null x").decode()),
    "set-of-lists": _yaml("cdiVersion: !!set {[a]: null}\n"),
    "omap-not-pairs": _yaml("cdiVersion: !!omap [1]\n"),
    "pairs-not-pairs": _yaml("cdiVersion: !!pairs [[1, 2]]\n"),
    "merge-not-mapping": _yaml("cdiVersion: 0.6.0\n<<: 5\n"),
    "merge-list-with-scalar": _yaml("a: &a {x: 1}\nb: {<<: [*a, 5]}\n"),
    "value-key": _yaml("cdiVersion: {=: 0.6.0}\n"),
    "python-tag": _yaml("cdiVersion: !!python/object/apply:os.system [true]\n"),
    "unknown-tag": _yaml("cdiVersion: !vendor 0.6.0\n"),
    "undefined-alias": _yaml("cdiVersion: *nowhere\n"),
    "mapping-key-not-string": _yaml("? [a, b]\n: 1\n"),
    "two-documents": _yaml(_VALID_OTHER + "---\n" + _VALID_OTHER),
    # Encodings and byte order marks.
    "utf8-bom-yaml": _yaml(b"\xef\xbb\xbf" + _VALID_OTHER.encode()),
    "utf8-bom-json": _json(b"\xef\xbb\xbf" + json.dumps({"cdiVersion": "0.6.0"}).encode()),
    "utf16le-bom-yaml": _yaml(_utf16(_VALID_OTHER, "utf-16-le", b"\xff\xfe")),
    "utf16be-bom-yaml": _yaml(_utf16(_VALID_OTHER, "utf-16-be", b"\xfe\xff")),
    "utf16-odd-length": _yaml(b"\xff\xfe" + _VALID_OTHER.encode("utf-16-le")[:-1]),
    "utf16-json": _json(json.dumps({"cdiVersion": "0.6.0"}).encode("utf-16")),
    "utf32-bom-yaml": _yaml(_VALID_OTHER.encode("utf-32")),
    "latin1-yaml": _yaml(_spec_yaml("latin.example/dev", "A=caf\xe9").decode().encode("latin-1")),
    "nul-in-yaml": _yaml(b"cdiVersion: 0.6.0\x00\n"),
    "nul-in-json": _json(b'{"cdiVersion": "0.6\x00"}'),
    "lone-surrogate-json": _json(json.dumps({"cdiVersion": "0.6.0", "kind": "sur.example/dev", "devices": [
        {"name": "x", "containerEdits": {"env": ["A=\ud800"]}}]}, ensure_ascii=True)),
    "lone-surrogate-yaml": _yaml(_spec_yaml("sur.example/dev", '"A=\\ud800"')),
    "json-trailing-garbage": _json(json.dumps({"cdiVersion": "0.6.0"}) + " }"),
    # Nesting and expansion.
    "json-nested-100k": _json(_nested("[", "]", 100_000)),
    "yaml-flow-nested-100k": _yaml(_nested("[", "]", 100_000)),
    "yaml-flow-mappings-nested-100k": _yaml(_nested("{a: ", "}", 100_000)),
    "yaml-block-sequences-300k": _yaml("- " * 300_000 + "x\n"),
    "yaml-complex-keys-300k": _yaml("? " * 300_000 + "x\n"),
    "yaml-deep-indentation": _yaml(_deep_indentation()),
    "yaml-recursive-alias": _yaml("a: &a [*a]\ncdiVersion: 0.6.0\n"),
    "yaml-recursive-merge": _yaml("b: &b {<<: *b}\n"),
    "yaml-billion-laughs": _yaml(_billion_laughs()),
    "yaml-alias-multiplied": _yaml(_alias_multiplied()),
    "yaml-merge-multiplied": _yaml(_merge_multiplied()),
    "yaml-merge-chain": _yaml(_merge_chain()),
    "yaml-aliased-long-string": _yaml(_aliased_long_string()),
    "yaml-aliased-long-path": _yaml(_aliased_long_path()),
    "sexagesimal-4mb": _yaml(_sexagesimal_4mb()),
    "sexagesimal-explicit-int": _yaml("cdiVersion: !!int " + ":".join(["59"] * 1000) + "\n"),
    "merge-key-twice": _yaml("a: &a {x: 1}\nb: {<<: *a, <<: *a}\n"),
    "merge-empty-repeated": _yaml(_merge_empty_repeated()),
    # Quotes outside quoted text (a comment, a plain scalar) before deep brackets.
    "brackets-after-an-apostrophe": _yaml(b"# don't\n" + b"[" * 200_000 + b"]" * 200_000 + b"\n"),
    "brackets-after-a-plain-quote": _yaml(b"- it's\n- " + b"[" * 200_000 + b"]" * 200_000 + b"\n"),
    "brackets-after-a-block-scalar": _yaml(b"a: |\n  it's\nb: " + b"[" * 200_000 + b"]" * 200_000 + b"\n"),
    # Valid YAML features generators use.
    "shared-anchored-mounts": _yaml(_shared_mounts()),
    "merge-key-overridden": _yaml(_merge_override()),
    # Bytes that no path or message may carry.
    "nul-in-device-path": _json(json.dumps({"cdiVersion": "0.6.0", "kind": "nul.example/dev", "devices": [
        {"name": "x", "containerEdits": {"deviceNodes": [{"path": "/dev/x", "hostPath": "/dev/nu\u0000ll"}]}}]})),
    "name-with-c1-control": _write("case\x85\x9b.yaml", b"a: ["),
    "name-with-line-separator": _write("case\u2028\u202e.yaml", b"a: ["),
    "value-with-line-separator": _yaml(_spec_yaml("sep.example/dev", '"A=1\u2028B=2"')),
}


def make_spec_dir(directory: Path, case: str, device_node: str | None = None) -> Path:
    """*directory* (created, 0755) holding the good spec and the entries of *case*."""
    directory.mkdir(parents=True)
    os.chmod(directory, 0o755)  # modes as the trust policy wants them, whatever the umask
    (directory / "good.yaml").write_text(good_spec(device_node))
    os.chmod(directory / "good.yaml", 0o644)
    CASES[case](directory)
    return directory
