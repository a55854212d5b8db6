"""The parsed-registry cache: a create need not re-read every spec file.

**Key.** Format, Python version, the spec-dir list and, for every spec file
in scan order, its path, priority and ``(dev, inode, size, mtime_ns,
ctime_ns)``. A cache whose key differs in anything is never used. So the
cost of a hit is one ``stat`` per file plus one read of the cache.

**Racy files.** Timestamps are coarse (a clock tick). A file written within
`fsutil.RACY_NS` of now could change again without its key changing, so a registry
holding such a file is not cached. This is git's "racily clean" rule.

**Passing errors.** A file that could not be read for a reason that may pass
(an I/O error, out of memory) makes its registry uncacheable: an error is
cached only when it follows from what the key holds, so a cached registry
reports exactly the errors a cold read would.

**Layout.** A 4-byte header length, a `marshal` header (key, device index,
errors, conflicts, and each spec's path, priority, and blob offset and length),
then one `marshal` blob per spec document. A hit unpacks the header and only
the blobs of the specs a request uses.

**Trust.** The cache is `marshal` data: it loads in C and needs no import,
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
import sys
import time
import zlib

from cdishim.cdi.registry import Registry, SpecEntry, read_registry
from cdishim.cdi.trust import DEFAULT_TRUST, SpecTrust
from cdishim.fsutil import is_racy, private_directory, read_private_file, replace_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

FORMAT = 3
STALE_SECONDS = 24 * 3600
_PREFIX = "registry-"
_SUFFIX = ".marshal"


class _CachedEntries:
    """The cached specs as a sequence of `SpecEntry`, each built on first use."""

    def __init__(self, rows: list[tuple[str, int, int, int]]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, slot: int) -> SpecEntry:
        path, priority, _, _ = self._rows[slot]
        return SpecEntry(path=path, priority=priority, document=None, device_names=())


class CachedRegistry(Registry):
    """A registry restored from the cache: documents unpacked on first use."""

    from_cache = True

    def __init__(self, spec_dirs: Sequence[str], header: dict[str, Any], data: bytes, blobs_at: int) -> None:
        super().__init__(spec_dirs, (), header["errors"], index=header["index"], conflicts=header["conflicts"])
        self._rows: list[tuple[str, int, int, int]] = header["entries"]
        self.entries = _CachedEntries(self._rows)  # type: ignore[assignment]
        self._data = memoryview(data)
        self._blobs_at = blobs_at

    def document(self, slot: int) -> Any:
        _, _, offset, length = self._rows[slot]
        start = self._blobs_at + offset
        return marshal.loads(self._data[start : start + length])


def cache_file(cache_dir: str, spec_dirs: Sequence[str]) -> str:
    """The cache file for one spec-dir list (the full list is in the key too)."""
    digest = zlib.crc32("\0".join(spec_dirs).encode())
    return os.path.join(cache_dir, f"{_PREFIX}{digest:08x}{_SUFFIX}")


def cache_key(
    spec_dirs: Sequence[str],
    files: Sequence[tuple[str, int]],
    trust: SpecTrust = DEFAULT_TRUST,
    dir_errors: Sequence[str] = (),
) -> tuple[Any, ...]:
    """What must be unchanged for a cached registry to be used.

    Every file's stat (ownership or mode changes move its ctime), the trust
    policy, and which spec dirs the scan refused.
    """
    stats: list[tuple[Any, ...]] = []
    for path, priority in files:
        try:
            info = os.stat(path)
        except OSError as err:
            stats.append((path, priority, err.errno))
        else:
            stats.append((path, priority, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return (FORMAT, tuple(sys.version_info[:2]), tuple(spec_dirs), tuple(stats), trust.cache_key(),
            tuple(sorted(dir_errors)))


def load_or_read(
    spec_dirs: Sequence[str],
    files: Sequence[tuple[str, int]],
    errors: dict[str, list[str]],
    cache_dir: str,
    trust: SpecTrust = DEFAULT_TRUST,
) -> Registry:
    """The cached registry when its key matches; else read every file and cache it."""
    key = cache_key(spec_dirs, files, trust, list(errors))
    path = cache_file(cache_dir, spec_dirs)
    data = read_private_file(cache_dir, path)
    unpacked = _unpack(data) if data is not None else None
    if unpacked is not None and unpacked[0].get("key") == key:
        return CachedRegistry(spec_dirs, unpacked[0], data, unpacked[1])  # type: ignore[arg-type]
    registry = read_registry(spec_dirs, files, errors, trust)
    if registry.cacheable and not _is_racy(key):
        _write(cache_dir, path, key, registry)
    return registry


def _unpack(data: bytes) -> tuple[dict[str, Any], int] | None:
    """(header, offset of the blobs), or None for anything malformed."""
    size = int.from_bytes(data[:4], "little")
    try:
        header = marshal.loads(memoryview(data)[4 : 4 + size])
    except (ValueError, EOFError, TypeError):
        return None
    try:
        blobs_end = max((offset + length for _, _, offset, length in header["entries"]), default=0)
    except (TypeError, ValueError, KeyError):
        return None
    if 4 + size + blobs_end > len(data):
        return None  # truncated
    return header, 4 + size


def _is_racy(key: tuple[Any, ...]) -> bool:
    return any(len(entry) == 7 and is_racy(entry[5], entry[6]) for entry in key[3])


def _write(cache_dir: str, path: str, key: tuple[Any, ...], registry: Registry) -> None:
    """Store *registry*; any failure just means no cache this time."""
    if not private_directory(cache_dir):
        return
    blobs = [marshal.dumps(entry.document) for entry in registry.entries]
    rows, offset = [], 0
    for entry, blob in zip(registry.entries, blobs):
        rows.append((entry.path, entry.priority, offset, len(blob)))
        offset += len(blob)
    header = marshal.dumps(
        {"key": key, "entries": rows, "errors": registry.errors, "index": registry.index, "conflicts": registry.conflicts}
    )
    data = len(header).to_bytes(4, "little") + header + b"".join(blobs)
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
