"""The parsed-registry cache: a create need not re-read every spec file.

**Key.** Format, Python version, the spec-dir list and, for every spec file
in scan order, its path, priority and ``(dev, inode, size, mtime_ns,
ctime_ns)``. A cache whose key differs in anything is never used. So the
cost of a hit is one ``stat`` per file plus one read of the cache.

**Racy files.** Timestamps are coarse (a clock tick). A file written within
`RACY_NS` of now could change again without its key changing, so a registry
holding such a file is not cached. This is git's "racily clean" rule.

**Trust.** The cache is a `marshal` file: it loads in C and needs no import,
but marshal input must be trusted. The directory and the file must be owned by
the effective user and writable by nobody else (0700 dir; 0600/0644 file).
The file is opened with ``O_NOFOLLOW``. Anything else is ignored.

**Concurrency.** Each writer writes a complete file under a unique name and
renames it into place. Readers see a whole old or a whole new cache, and the
key check makes either correct.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import time
import zlib

from cdishim.cdi.registry import Registry, SpecEntry, read_registry
from cdishim.fsutil import is_private, private_directory, replace_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

FORMAT = 1
RACY_NS = 2_000_000_000
STALE_SECONDS = 24 * 3600
_PREFIX = "registry-"
_SUFFIX = ".marshal"


class CachedRegistry(Registry):
    """A registry restored from the cache: documents unpacked on first use."""

    def __init__(self, spec_dirs: Sequence[str], cached: dict[str, Any]) -> None:
        entries = [
            SpecEntry(path=path, priority=priority, document=blob, device_names=names)
            for path, priority, blob, names in cached["entries"]
        ]
        super().__init__(spec_dirs, entries, cached["errors"], index=cached["index"], conflicts=cached["conflicts"])

    def document(self, slot: int) -> Any:
        return marshal.loads(self.entries[slot].document)


def cache_file(cache_dir: str, spec_dirs: Sequence[str]) -> str:
    """The cache file for one spec-dir list (the full list is in the key too)."""
    digest = zlib.crc32("\0".join(spec_dirs).encode())
    return os.path.join(cache_dir, f"{_PREFIX}{digest:08x}{_SUFFIX}")


def cache_key(spec_dirs: Sequence[str], files: Sequence[tuple[str, int]]) -> tuple[Any, ...]:
    """What must be unchanged for a cached registry to be used."""
    stats: list[tuple[Any, ...]] = []
    for path, priority in files:
        try:
            info = os.stat(path)
        except OSError as err:
            stats.append((path, priority, err.errno))
        else:
            stats.append((path, priority, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return (FORMAT, tuple(sys.version_info[:2]), tuple(spec_dirs), tuple(stats))


def load_or_read(
    spec_dirs: Sequence[str], files: Sequence[tuple[str, int]], errors: dict[str, list[str]], cache_dir: str
) -> Registry:
    """The cached registry when its key matches; else read every file and cache it."""
    key = cache_key(spec_dirs, files)
    path = cache_file(cache_dir, spec_dirs)
    cached = _read_trusted(cache_dir, path)
    if cached is not None and cached.get("key") == key:
        return CachedRegistry(spec_dirs, cached)
    registry = read_registry(spec_dirs, files, errors)
    if not _is_racy(key):
        _write(cache_dir, path, key, registry)
    return registry


def _read_trusted(cache_dir: str, path: str) -> dict[str, Any] | None:
    try:
        directory = os.lstat(cache_dir)
        if not stat.S_ISDIR(directory.st_mode) or not is_private(directory):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not is_private(info):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            cached = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    finally:
        os.close(fd)
    return cached if isinstance(cached, dict) else None


def _is_racy(key: tuple[Any, ...]) -> bool:
    horizon = time.time_ns() - RACY_NS
    return any(len(entry) == 7 and max(entry[5], entry[6]) >= horizon for entry in key[3])


def _write(cache_dir: str, path: str, key: tuple[Any, ...], registry: Registry) -> None:
    """Store *registry*; any failure just means no cache this time."""
    data = marshal.dumps(
        {
            "key": key,
            "entries": [
                (entry.path, entry.priority, marshal.dumps(entry.document), entry.device_names)
                for entry in registry.entries
            ],
            "errors": registry.errors,
            "index": registry.index,
            "conflicts": registry.conflicts,
        }
    )
    if not private_directory(cache_dir):
        return
    try:
        replace_file(path, data, 0o600)
        _prune(cache_dir, keep=path)
    except OSError:
        return


def _prune(cache_dir: str, keep: str) -> None:
    """Remove caches of spec-dir lists nobody asked for in a day."""
    horizon = time.time() - STALE_SECONDS
    with os.scandir(cache_dir) as entries:
        for entry in entries:
            if entry.path != keep and entry.name.startswith(_PREFIX) and entry.stat().st_mtime < horizon:
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass
