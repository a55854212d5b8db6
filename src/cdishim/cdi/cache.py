"""Load the registry, from the parsed-registry cache when no spec file changed.

A create need not re-read every spec file: a registry read once is kept in
``<cache dir>/registry-<crc of the dir list>.marshal`` and reused while its
key matches (`cdishim.statcache`: the code, the interpreter, and here the
spec-dir list, every spec file's stamp in scan order, the trust policy and
the spec dirs the scan refused). A hit costs one ``stat`` per file plus one
read of the cache.

**Layout.** A 4-byte header length, a `marshal` header (the key and the
registry's `snapshot` header with each spec's blob offset and length), then
one `marshal` blob per spec document. A hit unpacks the header and only the
blobs of the specs a request uses.

**What is cached.** Racy files (`statcache.is_racy`) and errors that may
pass (an I/O error, out of memory: `Registry.cacheable`) are never cached,
so a cached registry reports exactly the errors a cold read would.
"""

from __future__ import annotations

import marshal
import os
import time
import zlib

from cdishim import statcache
from cdishim.cdi.registry import Registry, read_registry, scan_spec_dirs
from cdishim.cdi.trust import DEFAULT_TRUST, SpecTrust

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

STALE_SECONDS = 24 * 3600
_PREFIX = "registry-"
_SUFFIX = ".marshal"


def load_registry(spec_dirs: Sequence[str], cache_dir: str = "", trust: SpecTrust = DEFAULT_TRUST) -> Registry:
    """The registry of *spec_dirs* (lowest priority first), under the *trust* policy.

    With a *cache_dir*, a registry parsed earlier is reused when no spec file
    changed; otherwise every file is read.
    """
    files, errors = scan_spec_dirs(spec_dirs, trust)
    if not cache_dir:
        return read_registry(spec_dirs, files, errors, trust)
    key = cache_key(spec_dirs, files, trust, list(errors))
    name = cache_name(spec_dirs)
    cached = _restore(spec_dirs, statcache.load(cache_dir, name), key)
    if cached is not None:
        return cached
    registry = read_registry(spec_dirs, files, errors, trust)
    if registry.cacheable:
        statcache.store(cache_dir, name, _pack(key, registry), key["stamps"])
        _prune(cache_dir, keep=name)
    return registry


def cache_name(spec_dirs: Sequence[str]) -> str:
    """The cache file name for one spec-dir list (the full list is in the key too)."""
    return f"{_PREFIX}{zlib.crc32(chr(0).join(spec_dirs).encode()):08x}{_SUFFIX}"


def cache_key(
    spec_dirs: Sequence[str],
    files: Sequence[tuple[str, int]],
    trust: SpecTrust = DEFAULT_TRUST,
    dir_errors: Sequence[str] = (),
) -> dict[str, Any]:
    """What must be unchanged for a cached registry to be used.

    Every file's stamp (ownership or mode changes move its ctime), the trust
    policy, and which spec dirs the scan refused.
    """
    return statcache.make_key(
        spec_dirs=tuple(spec_dirs),
        stamps=tuple(statcache.stamp(path) for path, _ in files),
        priorities=tuple(priority for _, priority in files),
        trust=trust.cache_key(),
        refused_dirs=tuple(sorted(dir_errors)),
    )


def _pack(key: dict[str, Any], registry: Registry) -> bytes:
    header, documents = registry.snapshot()
    blobs = [marshal.dumps(document) for document in documents]
    offsets, offset = [], 0
    for blob in blobs:
        offsets.append((offset, len(blob)))
        offset += len(blob)
    packed_header = marshal.dumps({"key": key, "registry": header, "blobs": offsets})
    return len(packed_header).to_bytes(4, "little") + packed_header + b"".join(blobs)


def _restore(spec_dirs: Sequence[str], data: bytes | None, key: dict[str, Any]) -> Registry | None:
    """The registry in cache *data* if its key is *key*; None for anything else or malformed."""
    if data is None:
        return None
    size = int.from_bytes(data[:4], "little")
    view = memoryview(data)
    try:
        header = marshal.loads(view[4:4 + size])
        if header["key"] != key:
            return None
        offsets = header["blobs"]
        if 4 + size + max((offset + length for offset, length in offsets), default=0) > len(data):
            return None  # truncated
        blobs_at = 4 + size

        def document_at(slot: int) -> Any:
            offset, length = offsets[slot]
            return marshal.loads(view[blobs_at + offset:blobs_at + offset + length])

        return Registry.from_snapshot(spec_dirs, header["registry"], document_at)
    except (ValueError, EOFError, TypeError, KeyError):
        return None


def _prune(cache_dir: str, keep: str) -> None:
    """Remove caches of spec-dir lists nobody asked for in a day."""
    horizon = time.time() - STALE_SECONDS
    try:
        with os.scandir(cache_dir) as entries:
            for entry in entries:
                if entry.name != keep and entry.name.startswith(_PREFIX) and entry.stat().st_mtime < horizon:
                    os.unlink(entry.path)
    except OSError:
        return
