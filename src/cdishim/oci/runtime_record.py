"""The runtime record: which low-level runtime the launcher may exec directly.

The ``cdishim`` launcher (compiled, or the POSIX sh script) hands commands
that only go to runc straight to runc, without starting Python. It cannot
read TOML or search for runc by cdishim's rules, so Python writes down what
it found, in ``<cache dir>/runtime``::

    code=0.1.0 5e0c2a1f
    config=/etc/cdishim/config.toml
    path=<the PATH it searched>
    runtime=/usr/sbin/runc
    injector=/run/cdishim/injector.sock
    launcher=/usr/bin/cdishim
    python=/usr/bin/python3
    syspath=/usr/lib/python311.zip:/usr/lib/python3.11:...:/usr/lib/python3/dist-packages

The launcher uses the record only when it is a regular file owned by the
effective user in a directory owned by the effective user, the config path and
PATH are the same, the record is newer than the config file and than the
launcher itself, and the runtime is executable. In any other case it starts
Python, which writes a new record. The compiled launcher also takes
``syspath`` (for a start with ``-S``) from a trusted record, but only when
``launcher`` is this very launcher and ``python`` the interpreter path it is
about to run.

The record is keyed like the other caches (`cdishim.statcache`): the
``code`` line names the version and code fingerprint that wrote it, and
Python rewrites a record that other code wrote. The launcher cannot compute
the fingerprint, so it relies on the mtimes instead: an upgrade that
replaces the launcher (pip writes it anew) sends the next command to Python,
which rewrites the record. Where a package keeps the launcher's build-time
mtime (dpkg), the next create that runs Python does; with a resident
injector serving every create, that is the next `--version` or the next
create the injector leaves to Python (it leaves all of them once its own
code was replaced, see `cdishim.injector.server`). Until then the recorded
runtime is used, as for every passthrough command.
"""

from __future__ import annotations

import os
import sys

from cdishim.fsutil import private_directory, replace_file
from cdishim.statcache import code_identity

RECORD_NAME = "runtime"


def record_path(cache_dir: str) -> str:
    """Where the record for *cache_dir* lives."""
    return os.path.join(cache_dir, RECORD_NAME)


def record_text(settings_file: str, search_path: str, runtime: str, injector: str = "",
                launcher: str = "") -> str | None:
    """The record's content, or None when a value cannot be written on one line.

    It also names the launcher that started this interpreter, the
    interpreter and its ``sys.path``: the compiled launcher, when it is that
    launcher and finds that interpreter, starts it with ``-S`` (no site
    import, no .pth files) and that path, which a usual start would compute.
    """
    values = (settings_file, search_path, runtime, injector, launcher)
    if any("\n" in value or "\r" in value for value in values):
        return None
    return (f"code={code_line()}\nconfig={settings_file}\npath={search_path}\nruntime={runtime}\n"
            f"injector={injector}\n{interpreter_lines(launcher)}")


def interpreter_lines(launcher: str) -> str:
    """``launcher=``, ``python=`` and ``syspath=``; nothing when a value cannot be written plainly."""
    launcher = os.path.realpath(launcher) if launcher else ""
    python = sys.executable if os.path.isabs(sys.executable or "") else ""  # as the launcher runs it
    entries = [entry for entry in sys.path if entry]
    plain = all(":" not in entry and "\n" not in entry and "\r" not in entry for entry in entries)
    if not (launcher and python and entries and plain):
        return ""
    return f"launcher={launcher}\npython={python}\nsyspath={':'.join(entries)}\n"


def code_line() -> str:
    """The code that writes the record, in one line: the version and a checksum of the fingerprint."""
    import zlib  # only when a record is (re)written

    version, fingerprint = code_identity()
    return f"{version} {zlib.crc32(repr(fingerprint).encode()):08x}"


def remember_runtime(cache_dir: str, settings_file: str, runtime: str, launcher: str = "", injector: str = "") -> None:
    """Write the record if it would change; failures only cost speed.

    *launcher* is the program that runs Python (``bin/cdishim``): the record
    must be newer than it, as the launcher checks. *injector* is the resident
    injector's socket that the compiled launcher may ask (empty: none).
    """
    text = record_text(settings_file, os.environ.get("PATH", ""), runtime, injector, launcher)
    if not cache_dir or text is None:
        return
    path = record_path(cache_dir)
    if _is_current(path, text, (settings_file, launcher)):
        return
    if not private_directory(cache_dir):
        return
    try:
        replace_file(path, text.encode(), 0o644)
    except OSError:
        return


def _is_current(path: str, text: str, older_files: tuple[str, ...]) -> bool:
    """The record says *text* and is newer than each of *older_files* (as the launcher checks).

    Compared in whole seconds, the coarsest a shell's ``-nt`` may use, so a
    record the launcher would find stale is always rewritten. A file that
    does not exist (no config file) has nothing to be newer than.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() != text:
                return False
        recorded = int(os.stat(path).st_mtime)
    except (OSError, UnicodeDecodeError):
        return False
    for other in older_files:
        try:
            if recorded <= int(os.stat(other).st_mtime):
                return False
        except OSError:
            continue
    return True
