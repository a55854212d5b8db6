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
so that a registry restored from the cache costs only what a request needs.
"""

from __future__ import annotations

import os
import stat

from cdishim.cdi.decode import decode_spec
from cdishim.cdi.spec import SpecReadError, read_spec_document, spec_format, unexpected_error
from cdishim.cdi.trust import DEFAULT_TRUST, SpecTrust, check_spec_dir
from cdishim.errors import SpecError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cdishim.cdi.model import Device, Spec

DEFAULT_SPEC_DIRS: tuple[str, ...] = ("/etc/cdi", "/var/run/cdi")


class ResolvedDevice(Record):
    """A device together with the spec that defines it."""

    qualified_name: str
    device: Device
    spec: Spec


class SpecEntry(Record):
    """One valid spec file: where it is, its priority, its plain document."""

    path: str
    priority: int
    document: Any
    device_names: tuple[str, ...]


class Registry:
    """Devices by qualified name, plus what went wrong while loading them.

    `index` maps each resolvable device name to the slot of its spec in
    `entries`; `conflicts` maps each conflicting name to the files defining it.
    `cacheable` is false when an error may pass (an I/O error, out of
    memory): such a registry must not outlive this read.
    """

    from_cache = False
    cacheable = True

    def __init__(
        self,
        spec_dirs: Sequence[str],
        entries: Sequence[SpecEntry],
        errors: dict[str, list[str]],
        decoded: dict[int, Spec] | None = None,
        index: dict[str, int] | None = None,
        conflicts: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.spec_dirs: tuple[str, ...] = tuple(spec_dirs)
        self.entries: tuple[SpecEntry, ...] = tuple(entries)
        self.errors = errors
        self._decoded: dict[int, Spec] = dict(decoded or {})
        if index is None:
            self.index: dict[str, int] = {}
            self.conflicts: dict[str, tuple[str, ...]] = {}
            self._index_devices()
        else:
            self.index, self.conflicts = index, conflicts or {}

    def resolve(self, name: str) -> ResolvedDevice | None:
        """The device named *name* (``vendor/class=name``), if resolvable."""
        slot = self.index.get(name)
        if slot is None:
            return None
        spec = self.spec(slot)
        device_name = name.partition("=")[2]
        device = next(device for device in spec.devices if device.name == device_name)
        return ResolvedDevice(qualified_name=name, device=device, spec=spec)

    def spec(self, slot: int) -> Spec:
        """The decoded spec of entry *slot* (decoded once, then kept)."""
        spec = self._decoded.get(slot)
        if spec is None:
            entry = self.entries[slot]
            spec = self._decoded[slot] = decode_spec(self.document(slot), entry.path, entry.priority)
        return spec

    def document(self, slot: int) -> Any:
        """The plain (JSON-like) document of entry *slot*."""
        return self.entries[slot].document

    @property
    def device_names(self) -> list[str]:
        """Every resolvable device name, sorted."""
        return sorted(self.index)

    def _add_error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def _index_devices(self) -> None:
        holders: dict[str, list[int]] = {}
        for slot, entry in enumerate(self.entries):
            for device in entry.device_names:
                current = self.index.get(device)
                if current is None or entry.priority > self.entries[current].priority:
                    self.index[device] = slot
                    holders[device] = [slot]
                elif entry.priority == self.entries[current].priority:
                    holders[device].append(slot)
        for device, slots in holders.items():
            if len(slots) < 2:
                continue
            del self.index[device]
            paths = tuple(self.entries[slot].path for slot in slots)
            self.conflicts[device] = paths
            for path in paths:
                others = ", ".join(quote(other) for other in paths if other != path)
                self._add_error(path, f"conflicting device {quote(device)} (specs {quote(path)}, {others})")


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
    entries: list[SpecEntry] = []
    decoded: dict[int, Spec] = {}
    cacheable = True
    for path, priority in files:
        try:
            document, spec = read_spec_document(path, priority, trust)
        except SpecError as err:
            errors.setdefault(path, []).append(str(err))
            cacheable = cacheable and not isinstance(err, SpecReadError)
            continue
        except Exception as err:  # noqa: BLE001 - the last resort: one file costs only its own devices
            errors.setdefault(path, []).append(str(unexpected_error(f"failed to read CDI Spec {quote(path)}", err)))
            cacheable = False
            continue
        names = tuple(f"{spec.kind}={device.name}" for device in spec.devices)
        decoded[len(entries)] = spec
        entries.append(SpecEntry(path=spec.path, priority=priority, document=document, device_names=names))
    registry = Registry(spec_dirs, entries, errors, decoded)
    registry.cacheable = cacheable
    return registry


def load_registry(
    spec_dirs: Sequence[str] = DEFAULT_SPEC_DIRS, cache_dir: str = "", trust: SpecTrust = DEFAULT_TRUST
) -> Registry:
    """The registry of *spec_dirs* (lowest priority first), under the *trust* policy.

    With a *cache_dir*, a registry parsed earlier is reused when no spec file
    changed (see `cdishim.cdi.cache`); otherwise every file is read.
    """
    files, errors = scan_spec_dirs(spec_dirs, trust)
    if not cache_dir:
        return read_registry(spec_dirs, files, errors, trust)
    from cdishim.cdi import cache

    return cache.load_or_read(spec_dirs, files, errors, cache_dir, trust)
