"""The registry: every CDI device found in the spec directories.

Semantics of the reference cache (`pkg/cdi/cache.go`):

- spec dirs are given lowest priority first; a later dir wins over an earlier
  one (default ``/etc/cdi`` then ``/var/run/cdi``);
- only ``*.json`` and ``*.yaml`` directly inside a dir are read, in name order;
- a device defined by two files of the same priority is a conflict: it is
  unresolvable, and both files get an error naming the device and the other;
- a file that fails to read, parse or validate is reported in `errors` and
  hides nothing else. That holds for every entry a spec dir can hold (a FIFO,
  a socket, a dangling symlink, bytes no decoder expected): reading is per
  entry, never blocks, and turns any failure into that entry's one-line error.

Specs are held as plain documents and decoded into the model on first use,
so that a registry restored from the cache (`cdishim.cdi.cache`, which also
holds `load_registry`) costs only what a request needs.
"""

from __future__ import annotations

import os
import stat

from cdishim.cdi.decode import decode_spec
from cdishim.cdi.trust import DEFAULT_TRUST, SpecTrust, check_spec_dir
from cdishim.errors import SpecError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from cdishim.cdi.model import Device, Spec

SPEC_EXTENSIONS = {".json": "json", ".yaml": "yaml"}


def spec_format(path: str) -> str | None:
    """``json`` or ``yaml`` for a spec file name, ``None`` for anything else (not a spec file)."""
    return SPEC_EXTENSIONS.get(os.path.splitext(path)[1])


class ResolvedDevice(Record):
    """A device together with the spec that defines it."""

    qualified_name: str
    device: Device
    spec: Spec


class SpecFile(Record):
    """One valid spec file: where it is, its priority, the devices it defines."""

    path: str
    priority: int
    device_names: tuple[str, ...]


class Registry:
    """Devices by qualified name, and what went wrong while loading them.

    The API: `resolve` a device, `device_names`, the loaded `specs`, the
    `errors` of files and dirs (path -> messages) and the `conflicts` (device
    name -> the files defining it). How the specs are held is private: each
    spec file's plain document, decoded into the model on first use, so that
    a registry restored from the cache costs only what a request needs.
    """

    def __init__(
        self,
        spec_dirs: Sequence[str],
        files: Sequence[SpecFile],
        document_at: Callable[[int], Any],
        errors: dict[str, list[str]],
        *,
        decoded: dict[int, Spec] | None = None,
        index: dict[str, int] | None = None,
        conflicts: dict[str, tuple[str, ...]] | None = None,
        from_cache: bool = False,
        cacheable: bool = True,
    ) -> None:
        self.spec_dirs: tuple[str, ...] = tuple(spec_dirs)
        self.errors = errors
        self.from_cache = from_cache
        # False when an error may pass (an I/O error, out of memory): such a
        # registry must not outlive this read.
        self.cacheable = cacheable
        self._files = tuple(files)
        self._document_at = document_at
        self._decoded: dict[int, Spec] = dict(decoded or {})
        if index is None:
            self._index, self.conflicts = self._index_devices()
        else:
            self._index, self.conflicts = index, conflicts or {}

    def resolve(self, name: str) -> ResolvedDevice | None:
        """The device named *name* (``vendor/class=name``), if resolvable."""
        slot = self._index.get(name)
        if slot is None:
            return None
        spec = self._spec(slot)
        device_name = name.partition("=")[2]
        device = next(device for device in spec.devices if device.name == device_name)
        return ResolvedDevice(qualified_name=name, device=device, spec=spec)

    @property
    def device_names(self) -> list[str]:
        """Every resolvable device name, sorted."""
        return sorted(self._index)

    def specs(self) -> list[Spec]:
        """Every valid spec file, decoded, in scan order."""
        return [self._spec(slot) for slot in range(len(self._files))]

    def snapshot(self) -> tuple[dict[str, Any], list[Any]]:
        """This registry as plain data, for `from_snapshot`: a header and each spec's document."""
        header = {
            "files": [(file.path, file.priority) for file in self._files],
            "errors": self.errors,
            "index": self._index,
            "conflicts": self.conflicts,
        }
        return header, [self._document_at(slot) for slot in range(len(self._files))]

    @classmethod
    def from_snapshot(cls, spec_dirs: Sequence[str], header: dict[str, Any], document_at: Callable[[int], Any]) -> Registry:
        """The registry a `snapshot` header describes; documents are fetched by slot on first use."""
        files = [SpecFile(path=path, priority=priority, device_names=()) for path, priority in header["files"]]
        return cls(spec_dirs, files, document_at, header["errors"], index=header["index"],
                   conflicts=header["conflicts"], from_cache=True)

    def _spec(self, slot: int) -> Spec:
        spec = self._decoded.get(slot)
        if spec is None:
            file = self._files[slot]
            spec = self._decoded[slot] = decode_spec(self._document_at(slot), file.path, file.priority)
        return spec

    def _index_devices(self) -> tuple[dict[str, int], dict[str, tuple[str, ...]]]:
        index: dict[str, int] = {}
        holders: dict[str, list[int]] = {}
        for slot, file in enumerate(self._files):
            for device in file.device_names:
                current = index.get(device)
                if current is None or file.priority > self._files[current].priority:
                    index[device] = slot
                    holders[device] = [slot]
                elif file.priority == self._files[current].priority:
                    holders[device].append(slot)
        conflicts: dict[str, tuple[str, ...]] = {}
        for device, slots in holders.items():
            if len(slots) < 2:
                continue
            del index[device]
            paths = conflicts[device] = tuple(self._files[slot].path for slot in slots)
            for path in paths:
                others = ", ".join(quote(other) for other in paths if other != path)
                self.errors.setdefault(path, []).append(
                    f"conflicting device {quote(device)} (specs {quote(path)}, {others})")
        return index, conflicts


def list_spec_files(directory: str) -> list[str]:
    """Spec files directly inside *directory*, in name order; [] if it is absent."""
    try:
        with os.scandir(directory) as entries:
            # Subdirectories are skipped as by the reference; anything else,
            # a symlink to a directory included, is read and judged per file.
            names = sorted(entry.name for entry in entries
                           if spec_format(entry.name) and not entry.is_dir(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [os.path.join(directory, name) for name in names]


def scan_spec_dirs(
    spec_dirs: Sequence[str], trust: SpecTrust = DEFAULT_TRUST
) -> tuple[list[tuple[str, int]], dict[str, list[str]]]:
    """Every spec file as (path, priority), and errors for unreadable or untrusted dirs.

    Runs on every create, cached registry or not, so a dir that becomes
    untrusted is dropped at once.
    """
    files: list[tuple[str, int]] = []
    errors: dict[str, list[str]] = {}
    for priority, directory in enumerate(spec_dirs):
        try:
            info = os.stat(directory)
            if not stat.S_ISDIR(info.st_mode):
                continue  # as a missing dir: nothing to read
            check_spec_dir(directory, info, trust)
            files.extend((path, priority) for path in list_spec_files(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except SpecError as err:
            errors[directory] = [str(err)]
        except OSError as err:
            errors[directory] = [f"failed to read CDI spec dir {quote(directory)}: {err.strerror or err}"]
    return files, errors


def read_registry(
    spec_dirs: Sequence[str],
    files: Sequence[tuple[str, int]],
    errors: dict[str, list[str]],
    trust: SpecTrust = DEFAULT_TRUST,
) -> Registry:
    """Read, parse and validate every spec file: the cold path."""
    from cdishim.cdi.spec import SpecReadError, read_spec_document  # a cache hit needs neither
    loaded: list[SpecFile] = []
    documents: list[Any] = []
    decoded: dict[int, Spec] = {}
    cacheable = True
    for path, priority in files:
        try:
            document, spec = read_spec_document(path, priority, trust)
        except SpecError as err:  # whatever went wrong with this file: it costs only its own devices
            errors.setdefault(path, []).append(str(err))
            cacheable = cacheable and not isinstance(err, SpecReadError)
            continue
        names = tuple(f"{spec.kind}={device.name}" for device in spec.devices)
        decoded[len(loaded)] = spec
        loaded.append(SpecFile(path=spec.path, priority=priority, device_names=names))
        documents.append(document)
    return Registry(spec_dirs, loaded, documents.__getitem__, errors, decoded=decoded, cacheable=cacheable)
