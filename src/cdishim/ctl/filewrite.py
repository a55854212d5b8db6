"""Write configuration files the way an operator can trust.

Shared by `generate` and `configure`: compare with what is there, show a
unified diff, keep a timestamped backup of the file being replaced, and
replace it atomically with its mode and owner kept. Nothing is written when
the content would not change, so running a command twice is a no-op.
"""

from __future__ import annotations

import difflib
import os
import time

from cdishim.errors import FileWriteError, quote
from cdishim.fsutil import replace_file


def read_current(path: str) -> bytes | None:
    """The file's content, or ``None`` when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise FileWriteError(f"cannot read {quote(path)}: {err.strerror or err}") from err


def unified_diff(path: str, old: bytes | None, new: bytes) -> str:
    """A unified diff from *old* (``None``: no file) to *new*, labelled with *path*."""
    before = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    after = new.decode("utf-8", "replace").splitlines(keepends=True)
    source = path if old is not None else "/dev/null"
    lines = difflib.unified_diff(before, after, fromfile=source, tofile=path)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def backup_path(path: str, now: float | None = None) -> str:
    """Where the backup of *path* goes: ``PATH.bak-YYYYMMDDTHHMMSS`` (UTC)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now if now is not None else time.time()))
    candidate = f"{path}.bak-{stamp}"
    serial = 1
    while os.path.lexists(candidate):
        candidate = f"{path}.bak-{stamp}.{serial}"
        serial += 1
    return candidate


def write_file(path: str, old: bytes | None, new: bytes, mode: int = 0o644, backup: bool = False) -> str | None:
    """Atomically replace *path* (whose content is *old*) with *new*.

    Keeps the existing file's mode and owner. With *backup*, the old content
    is first copied to a new backup file, whose path is returned.
    """
    saved = None
    owner = None
    try:
        if old is not None:
            info = os.stat(path)
            mode, owner = info.st_mode & 0o7777, (info.st_uid, info.st_gid)
            if backup:
                saved = backup_path(path)
                replace_file(saved, old, mode, owner, durable=True)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        replace_file(path, new, mode, owner, durable=True)
    except OSError as err:
        raise FileWriteError(f"cannot write {quote(err.filename or path)}: {err.strerror or err}") from err
    return saved
