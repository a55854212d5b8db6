"""A self-contained runtime tree: cdishim, its Python, and every library they load, down to ld.so and libc.

The tree is made from the installation that runs this code (in the
installer image: Debian's python3 and the cdishim .deb), so that the host
needs nothing but a kernel:

    <tree>/bin/cdishim          the launcher (compiled: patched like python3)
    <tree>/bin/cdishim-hook, cdishim-ctl, cdishim-injector   scripts run by bin/python3
    <tree>/bin/python3          the interpreter, its ELF interpreter set to <tree>/lib/ld-*.so
    <tree>/lib/                 ld.so, libc and every other shared library, found by the
                                interpreter's DT_RPATH <tree>/lib before any of the host's
    <tree>/lib/python3.X/       the standard library (tests, tkinter, idle and the like left out)
    <tree>/lib/python3/dist-packages/   cdishim and the packages it needs

Paths written into the tree (the ELF interpreter, the scripts' ``#!``) are
paths as the host sees them. The tree's name carries a digest of everything
that goes into it, so an unchanged source gives the same tree, and a
changed one a new directory beside the old.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig

from cdishim.errors import CdishimError, quote
from cdishim.record import Record

#: cdishim's runtime dependencies (pyproject.toml) -> the top-level modules they install
RUNTIME_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "PyYAML": ("yaml",),
    "structlog": ("structlog",),
    "pyroute2": ("pyroute2",),
    "python-prctl": ("prctl", "_prctl"),
    "tomlkit": ("tomlkit",),
    "tomli": ("tomli",),  # Pythons before 3.11 only
}
#: parts of the standard library no cdishim program imports (and config-3.X-*: the static library)
STDLIB_LEFT_OUT = frozenset({
    "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data", "site-packages",
    "dist-packages", "__phello__", "sitecustomize.py", "turtle.py",
})
# extension modules of the tkinter/test kind, and those that pull in libraries cdishim never uses
# (Berkeley DB, ncurses, readline, SQLite, NIS with Kerberos)
_LEFT_OUT_EXTENSIONS = re.compile(
    r"^(_tkinter|_test\w*|_ctypes_test|xxlimited\w*|_xxtestfuzz|xxsubtype|_dbm|_gdbm|_curses\w*|readline"
    r"|_sqlite3|nis)\.")
SITE_DIR = "lib/python3/dist-packages"
DLOPENED_BY_LIBC = ("libgcc_s.so.1",)  # glibc's unwinder for thread exit and cancellation
TREE_NAME = re.compile(r"^[0-9][0-9A-Za-z.+~-]*-[0-9a-f]{12}$")
ELF_MAGIC = b"\x7fELF"


class TreeError(CdishimError):
    """The tree cannot be made from this installation."""


class SourceFile(Record):
    """One file of the tree: where it comes from, and where it goes (relative to the tree)."""

    source: str
    target: str
    mode: int


def _is_elf(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == ELF_MAGIC


def _walk(directory: str, target: str, skip: frozenset[str] = frozenset()) -> list[SourceFile]:
    """Every regular file under *directory*; symlinks inside it are copied as files, others left out."""
    files = []
    top = os.path.realpath(directory)
    for current, subdirs, names in os.walk(directory):
        subdirs[:] = sorted(sub for sub in subdirs
                            if sub not in skip and sub != "__pycache__" and not sub.startswith("config-"))
        for name in sorted(names):
            path = os.path.join(current, name)
            if name in skip or name.endswith((".pyc", ".pyo")):
                continue
            real = os.path.realpath(path)
            if not real.startswith(top + os.sep) or not os.path.isfile(real):
                continue  # Debian's sitecustomize.py -> /etc/python3.X/: the host's, not ours
            relative = os.path.relpath(path, directory)
            files.append(SourceFile(source=real, target=os.path.join(target, relative),
                                    mode=stat.S_IMODE(os.stat(real).st_mode)))
    return files


def _module_files(module: str) -> list[SourceFile]:
    """The files of an importable top-level *module* (a package directory or one file)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None and not spec.submodule_search_locations:
        raise TreeError(f"cannot find the module {quote(module)} that cdishim needs")
    if spec.submodule_search_locations:
        [directory] = list(spec.submodule_search_locations)[:1]
        return _walk(directory, os.path.join(SITE_DIR, module))
    origin = os.path.realpath(spec.origin or "")
    return [SourceFile(source=origin, target=os.path.join(SITE_DIR, os.path.basename(spec.origin or "")),
                       mode=0o644)]


def _stdlib_files() -> tuple[str, list[SourceFile]]:
    stdlib = sysconfig.get_paths()["stdlib"]
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    files = [entry for entry in _walk(stdlib, f"lib/{version}", STDLIB_LEFT_OUT)
             if not _LEFT_OUT_EXTENSIONS.match(os.path.basename(entry.target))]
    dynload = sysconfig.get_config_var("DESTSHARED")
    if dynload and not os.path.realpath(dynload).startswith(os.path.realpath(stdlib) + os.sep):
        files += [entry for entry in _walk(dynload, f"lib/{version}/lib-dynload")
                  if not _LEFT_OUT_EXTENSIONS.match(os.path.basename(entry.target))]
    return version, files


def _scripts() -> list[tuple[str, str]]:
    """(name, "module:function") of cdishim's console scripts."""
    entries = importlib.metadata.distribution("cdishim").entry_points
    return sorted((entry.name, entry.value) for entry in entries if entry.group == "console_scripts")


def loader_of(program: str) -> str:
    """The ELF interpreter (dynamic loader) that *program* names."""
    try:
        result = subprocess.run(["patchelf", "--print-interpreter", program], capture_output=True, text=True)
    except FileNotFoundError:
        raise TreeError("the node installer needs patchelf (Debian: patchelf)") from None
    if result.returncode != 0:
        raise TreeError(f"cannot read the ELF interpreter of {quote(program)}: {result.stderr.strip()}")
    return result.stdout.strip()


def shared_libraries(loader: str, elf_files: list[str]) -> dict[str, str]:
    """soname -> library path for everything *elf_files* load, as *loader* resolves it (``ld.so --list``)."""
    libraries: dict[str, str] = {}
    for path in elf_files:
        result = subprocess.run([loader, "--list", path], capture_output=True, text=True)
        if result.returncode != 0:
            raise TreeError(f"cannot list the libraries of {quote(path)}: {result.stderr.strip() or result.stdout.strip()}")
        for line in result.stdout.splitlines():
            name, arrow, rest = line.strip().partition(" => ")
            if arrow and rest.startswith("/"):
                libraries[name] = rest.split(" (")[0]
            elif arrow and "not found" in rest:
                raise TreeError(f"{quote(path)} needs {quote(name)}, which this installation lacks")
    return libraries


class TreeSource:
    """What goes into a tree, read from the running installation."""

    def __init__(self, launcher: str) -> None:
        from cdishim import __version__

        self.version = __version__
        self.python = os.path.realpath(sys.executable)
        self.launcher = os.path.realpath(launcher)
        self.loader = loader_of(self.python)
        self.python_dir, stdlib = _stdlib_files()
        files = [SourceFile(source=self.python, target="bin/python3", mode=0o755),
                 SourceFile(source=self.launcher, target="bin/cdishim", mode=0o755), *stdlib]
        files += _module_files("cdishim")
        for distribution, modules in RUNTIME_DISTRIBUTIONS.items():
            if distribution == "tomli" and sys.version_info >= (3, 11):
                continue
            for module in modules:
                files += _module_files(module)
        elf = [entry.source for entry in files if entry.source.endswith(".so") or _is_elf(entry.source)]
        libraries = shared_libraries(self.loader, elf)
        libraries[os.path.basename(self.loader)] = os.path.realpath(self.loader)
        for name in DLOPENED_BY_LIBC:  # loaded by glibc at run time, never listed as needed
            beside_libc = os.path.join(os.path.dirname(libraries.get("libc.so.6", "")), name)
            if name not in libraries and os.path.exists(beside_libc):
                libraries[name] = beside_libc
        files += [SourceFile(source=os.path.realpath(path), target=f"lib/{name}", mode=0o755)
                  for name, path in sorted(libraries.items())]
        self.files = files
        self.patched = [entry.target for entry in files if entry.target in ("bin/python3", "bin/cdishim")
                        and _is_elf(entry.source)]

    def digest(self, host_prefix: str) -> str:
        """A digest of everything in the tree, and of the host prefix it is written for."""
        digest = hashlib.sha256(f"{self.version}\0{host_prefix}\0{_scripts()}\0".encode())
        for entry in self.files:
            digest.update(f"{entry.target}\0{entry.mode:o}\0".encode())
            with open(entry.source, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()

    def name(self, host_prefix: str) -> str:
        """The tree's directory name: the version and a digest of its content."""
        return f"{self.version}-{self.digest(host_prefix)[:12]}"


def write_tree(source: TreeSource, directory: str, host_tree: str) -> None:
    """Make the tree in *directory*, which the host will see as *host_tree*."""
    for entry in source.files:
        target = os.path.join(directory, entry.target)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(entry.source, target)
        os.chmod(target, entry.mode)
    host_python = os.path.join(host_tree, "bin/python3")
    for name, value in _scripts():
        module, _, function = value.partition(":")
        script = (f"#!{host_python} -I\n"
                  f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n")
        path = os.path.join(directory, "bin", name)
        with open(path, "w") as handle:
            handle.write(script)
        os.chmod(path, 0o755)
    loader = os.path.join(host_tree, "lib", os.path.basename(source.loader))
    for relative in source.patched:
        # an absolute DT_RPATH, like the interpreter: $ORIGIN would need /proc to be resolved
        result = subprocess.run(["patchelf", "--set-interpreter", loader, "--force-rpath", "--set-rpath",
                                 os.path.join(host_tree, "lib"), os.path.join(directory, relative)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise TreeError(f"cannot patch {relative}: {result.stderr.strip()}")
    import compileall

    compiled = compileall.compile_dir(os.path.join(directory, "lib"), quiet=2, workers=1)
    if not compiled:
        raise TreeError(f"cannot compile the Python modules in {quote(directory)}")
