"""The registry: every CDI device found in the spec directories.

Semantics of the reference cache (`pkg/cdi/cache.go`):

- spec dirs are given lowest priority first; a later dir wins over an earlier
  one (default ``/etc/cdi`` then ``/var/run/cdi``);
- only ``*.json`` and ``*.yaml`` directly inside a dir are read, in name order;
- a device defined by two files of the same priority is a conflict: it is
  unresolvable, and both files get an error naming the device and the other;
- a file that fails to read, parse or validate is reported in `errors` and
  hides nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from cdishim.cdi.model import Device, Spec
from cdishim.cdi.spec import read_spec, spec_format
from cdishim.errors import SpecError, quote

DEFAULT_SPEC_DIRS: tuple[str, ...] = ("/etc/cdi", "/var/run/cdi")


@dataclass(frozen=True)
class ResolvedDevice:
    """A device together with the spec that defines it."""

    qualified_name: str
    device: Device
    spec: Spec


@dataclass
class Registry:
    """Devices by qualified name, plus what went wrong while loading them."""

    spec_dirs: tuple[str, ...] = ()
    specs: list[Spec] = field(default_factory=list)
    devices: dict[str, ResolvedDevice] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    conflicts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def resolve(self, name: str) -> ResolvedDevice | None:
        """The device named *name* (``vendor/class=name``), if resolvable."""
        return self.devices.get(name)

    def add_error(self, path: str, message: str) -> None:
        """Record *message* against spec file *path*."""
        self.errors.setdefault(path, []).append(message)


def list_spec_files(directory: str) -> list[str]:
    """Spec files directly inside *directory*, in name order; [] if it is absent."""
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if spec_format(entry.name) and not entry.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [os.path.join(directory, name) for name in names]


def load_registry(spec_dirs: Sequence[str] = DEFAULT_SPEC_DIRS) -> Registry:
    """Read every spec file under *spec_dirs* (lowest priority first)."""
    registry = Registry(spec_dirs=tuple(spec_dirs))
    for priority, directory in enumerate(spec_dirs):
        try:
            paths = list_spec_files(directory)
        except OSError as err:
            registry.add_error(directory, f"failed to read CDI spec dir {quote(directory)}: {err.strerror or err}")
            continue
        for path in paths:
            try:
                registry.specs.append(read_spec(path, priority))
            except SpecError as err:
                registry.add_error(path, str(err))
    _index_devices(registry, registry.specs)
    return registry


def _index_devices(registry: Registry, specs: Iterable[Spec]) -> None:
    owners: dict[str, list[ResolvedDevice]] = {}
    for spec in specs:
        for device in spec.devices:
            name = f"{spec.kind}={device.name}"
            candidate = ResolvedDevice(name, device, spec)
            current = registry.devices.get(name)
            if current is None or candidate.spec.priority > current.spec.priority:
                registry.devices[name] = candidate
                owners[name] = [candidate]
            elif candidate.spec.priority == current.spec.priority:
                owners[name].append(candidate)
    for name, holders in owners.items():
        if len(holders) < 2:
            continue
        del registry.devices[name]
        paths = tuple(holder.spec.path for holder in holders)
        registry.conflicts[name] = paths
        for path in paths:
            others = ", ".join(quote(other) for other in paths if other != path)
            registry.add_error(path, f"conflicting device {quote(name)} (specs {quote(path)}, {others})")
