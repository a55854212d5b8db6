"""Stat-keyed caches: reuse what was derived from files while the files and the code are unchanged.

A create must not re-parse the settings file and every spec file each time,
so three things are kept in a cache dir: the parsed registry
(`cdishim.cdi.cache`) and the runtime record the launcher reads
(`cdishim.oci.runtime_record`) in the ``cache-dir`` setting, and the parsed
settings (`cdishim.settings`) in ``$CDISHIM_CACHE_DIR`` or ``/run/cdishim``,
since they are needed before that setting is known. The two caches are
keyed by `make_key`:

- ``code``: cdishim's version and a fingerprint of the code that derives
  cached data (size, mtime and inode of each module of the package root,
  ``cdi/`` and ``oci/``). A new version, or a development tree edited without
  a version bump, never serves what other code derived.
- ``python``: the interpreter's version (marshal formats differ).
- named inputs: for each file a `stamp` (path, dev, inode, size, mtime_ns,
  ctime_ns, or path and errno), and whatever else the derivation depends on.

The runtime record is text the launcher reads, so it carries the code
identity as a line of its own (see `cdishim.oci.runtime_record`).

**Racy files.** Timestamps are coarse (a clock tick). A file written within
`RACY_NS` of now could change again without its stamp changing, so data
derived from such a file is not cached (git's "racily clean" rule).

**Trust.** Cached data is `marshal` data, which must be trusted: the cache
dir and file must belong to the effective user and be writable by nobody
else, and the file is opened without following symlinks
(`fsutil.read_private_file`). Writes are atomic (`fsutil.replace_file`), so
readers see a whole old or a whole new file, and the key makes either correct.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from cdishim import __version__
from cdishim.fsutil import private_directory, read_private_file, replace_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    # (path, dev, inode, size, mtime_ns, ctime_ns), or (path, errno) when stat failed
    Stamp = tuple[Any, ...]

# How recently a file may have changed and still be trusted by a stat-keyed cache.
RACY_NS = 2_000_000_000
# Where the code that derives cached data lives, relative to the package.
CODE_DIRS = ("", "cdi", "oci")

_code_identity: tuple[str, Any] | None = None


def code_identity() -> tuple[str, Any]:
    """cdishim's version and a fingerprint of its code, computed once per process.

    The fingerprint is `code_fingerprint` of the modules that derive cached
    data (`CODE_DIRS`).
    """
    global _code_identity
    if _code_identity is None:
        _code_identity = (__version__, code_fingerprint(CODE_DIRS))
    return _code_identity


def code_fingerprint(directories: Sequence[str]) -> tuple[Any, ...]:
    """Each module's (dir, name, size, mtime, inode) in *directories* of the package, sorted.

    A module that cannot be stat'ed (removed mid-upgrade) is left out, and
    hidden files (an editor's lock file) are not modules: the fingerprint
    never fails, it only changes.
    """
    package = os.path.dirname(os.path.abspath(__file__))
    stamps: list[tuple[Any, ...]] = []
    for directory in directories:
        try:
            with os.scandir(os.path.join(package, directory)) as entries:
                for entry in entries:
                    if entry.name.endswith(".py") and not entry.name.startswith("."):
                        try:
                            info = entry.stat()
                        except OSError:
                            continue
                        stamps.append((directory, entry.name, info.st_size, info.st_mtime_ns, info.st_ino))
        except OSError:
            stamps.append((directory, "unreadable"))
    return tuple(sorted(stamps))


def stamp(path: str, info: os.stat_result | None = None) -> Stamp:
    """What must stay the same for data derived from the file at *path* to stay valid."""
    if info is None:
        try:
            info = os.stat(path)
        except OSError as err:
            return (path, err.errno)
    return (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def is_racy(stamp_: Stamp) -> bool:
    """Whether the stamped file changed so recently that it could change again unseen."""
    if len(stamp_) != 6:
        return False  # stat failed: nothing was read from it
    mtime_ns, ctime_ns = stamp_[4], stamp_[5]
    return max(mtime_ns, ctime_ns) >= time.time_ns() - RACY_NS


def make_key(**inputs: Any) -> dict[str, Any]:
    """A cache key: the code, the interpreter and the named *inputs*."""
    return {"code": code_identity(), "python": tuple(sys.version_info[:2]), **inputs}


def load(cache_dir: str, name: str) -> bytes | None:
    """The cache file *name* in *cache_dir*, if there is a trusted one."""
    return read_private_file(cache_dir, os.path.join(cache_dir, name)) if cache_dir else None


def store(cache_dir: str, name: str, data: bytes, stamps: Iterable[Stamp]) -> None:
    """Write *data* as cache file *name*, unless a stamped file is racy; failures only cost speed."""
    if not cache_dir or any(is_racy(each) for each in stamps) or not private_directory(cache_dir):
        return
    try:
        replace_file(os.path.join(cache_dir, name), data, 0o600)
    except OSError:
        return


def load_value(cache_dir: str, name: str, key: dict[str, Any]) -> Any:
    """The value stored with `store_value` under *key*, or ``None``."""
    data = load(cache_dir, name)
    if data is None:
        return None
    try:
        cached_key, value = marshal.loads(data)
    except (ValueError, EOFError, TypeError):
        return None
    return value if cached_key == key else None


def store_value(cache_dir: str, name: str, key: dict[str, Any], value: Any, stamps: Iterable[Stamp]) -> None:
    """Cache *value* (marshal data) under *key*."""
    store(cache_dir, name, marshal.dumps((key, value)), stamps)
