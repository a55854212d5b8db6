"""The devices a plugin advertises, and what Allocate answers: plain logic, no gRPC.

One plugin serves one resource. Its devices are either the devices of a CDI
kind in the registry (a device named ``all`` bundles the others and is not
advertised; a device is unhealthy when a device node its edits name is
missing on the host), or the devices the plugin discovered itself (unhealthy
once gone). Either way each is advertised once per replica.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from cdishim.cdi.annotations import ANNOTATION_PREFIX
from cdishim.cdi.hostdevices import host_device_info
from cdishim.cdi.registry import Registry
from cdishim.ctl.plugin.config import ResourceConfig
from cdishim.ctl.plugin.discovery import FoundDevice, node_numa
from cdishim.ctl.specbuilder import natural_key
from cdishim.errors import CdishimError, RequestError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HEALTHY, UNHEALTHY = "Healthy", "Unhealthy"
REPLICA_SEPARATOR = "::"
FORGET_GONE_S = 600.0  # how long a discovered device that went away stays listed as unhealthy

MAX_KEY_NAME = 63  # the part of an annotation key after the prefix
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class PluginDevice(Record):
    """One advertised device: its kubelet ID, the CDI device it stands for, its health and NUMA node.

    Without sharing the ID is the CDI device name; a device shared by N
    replicas is advertised as N IDs ``NAME::0`` to ``NAME::N-1``.
    """

    id: str
    device: str  # the CDI device name, without the kind
    health: str
    numa_node: int | None = None


def kind_devices(registry: Registry, kind: str, sysfs_root: str = "/sys") -> list[PluginDevice]:
    """The resolvable devices of *kind*, sorted by name, with their health and their first node's NUMA node."""
    devices = []
    prefix = f"{kind}="
    for name in registry.device_names:
        if not name.startswith(prefix) or name == f"{kind}=all":
            continue
        resolved = registry.resolve(name)
        assert resolved is not None
        edits = resolved.device.edits
        paths = [node.host_path or node.path for node in edits.device_nodes]
        healthy = all(_node_present(path) for path in paths)
        numa = next((numa for numa in (node_numa(path, sysfs_root) for path in paths) if numa is not None), None)
        device = name[len(prefix):]
        devices.append(PluginDevice(id=device, device=device, health=HEALTHY if healthy else UNHEALTHY,
                                    numa_node=numa))
    return devices


class Remembered(Record):
    """A discovered device as last seen, and when it was last present."""

    device: FoundDevice
    seen_at: float


def found_devices(found: list[FoundDevice], remembered: dict[str, Remembered], now: float,
                  forget_after_s: float = FORGET_GONE_S) -> list[PluginDevice]:
    """Discovered devices: those *found* now are healthy, those only *remembered* are not.

    *remembered* is updated with *found*, so a device that went away stays
    listed, unhealthy, until it comes back under its name, or until it has
    been gone for *forget_after_s* (kubelet then drops it from the node's
    capacity).
    """
    for device in found:
        remembered[device.name] = Remembered(device=device, seen_at=now)
    for name in [name for name, entry in remembered.items() if now - entry.seen_at > forget_after_s]:
        del remembered[name]
    present = {device.name for device in found}
    return [PluginDevice(id=name, device=name, health=HEALTHY if name in present else UNHEALTHY,
                         numa_node=remembered[name].device.numa_node)
            for name in sorted(remembered, key=natural_key)]


def with_replicas(devices: list[PluginDevice], replicas: int) -> list[PluginDevice]:
    """Each device advertised *replicas* times (``NAME::N``); unchanged for 1."""
    if replicas == 1:
        return devices
    return [device.replace(id=f"{device.device}{REPLICA_SEPARATOR}{number}")
            for device in devices for number in range(replicas)]


def _node_present(path: str) -> bool:
    try:
        host_device_info(path)
    except CdishimError:
        return False
    return True


def annotation_key(kind: str, device_ids: list[str]) -> str:
    """``cdi.k8s.io/cdishim_<kind>_<ids>``: unique per kind and device set, at most 63 characters after the prefix."""
    name = _KEY_UNSAFE.sub("-", f"cdishim_{kind.replace('/', '_')}_{'_'.join(device_ids)}")
    if len(name) > MAX_KEY_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        name = f"{name[:MAX_KEY_NAME - 13]}_{digest}"
    return ANNOTATION_PREFIX + name


class Allocation(Record):
    """What one container gets: CDI names for kubelet's ``cdi_devices`` and annotations."""

    cdi_devices: tuple[str, ...]
    annotations: dict[str, str]


def allocate(resource: ResourceConfig, devices: list[PluginDevice], requested: list[str],
             strategy: str) -> Allocation:
    """The allocation for *requested* device IDs; `RequestError` for unknown or unhealthy ones.

    Replicas of one device name it once. With ``failRequestsGreaterThanOne``
    a shared resource refuses a request for more than one ID, as a
    container asking for two replicas would most likely get one device.
    """
    if resource.fail_requests_greater_than_one and resource.replicas > 1 and len(requested) > 1:
        raise RequestError(f"request for {len(requested)} {resource.name} devices is too large: "
                           "a shared resource gives at most 1 per container (failRequestsGreaterThanOne)")
    known = {device.id: device for device in devices}
    unknown = [device_id for device_id in requested if device_id not in known]
    if unknown:
        raise RequestError(f"unknown {resource.name} devices: {', '.join(quote(d) for d in unknown)}")
    unhealthy = [device_id for device_id in requested if known[device_id].health != HEALTHY]
    if unhealthy:
        raise RequestError(f"unhealthy {resource.name} devices: {', '.join(quote(d) for d in unhealthy)}")
    kind = resource.kind
    device_names = list(dict.fromkeys(known[device_id].device for device_id in requested))
    names = tuple(f"{kind}={device}" for device in device_names)
    annotations = {annotation_key(kind, device_names): ",".join(names)} if strategy != "cdi-cri" else {}
    return Allocation(cdi_devices=names if strategy != "cdi-annotations" else (), annotations=annotations)


def preferred(devices: list[PluginDevice], available: list[str], must_include: list[str], size: int) -> list[str]:
    """The IDs to suggest: those that must be included, then spread over distinct devices.

    Each pick goes to the device this container holds fewest replicas of;
    among those, to the one with the most replicas still available (the
    least shared with other pods), then in name order. Without replicas
    this is the must-include IDs, then the others in name order.
    """
    device_of = {device.id: device.device for device in devices}
    chosen = list(dict.fromkeys(must_include))
    held = Counter(device_of.get(device_id, device_id) for device_id in chosen)
    candidates = [device_id for device_id in dict.fromkeys(available) if device_id not in chosen]
    free = Counter(device_of.get(device_id, device_id) for device_id in candidates)

    def rank(device_id: str) -> tuple[Any, ...]:
        device = device_of.get(device_id, device_id)
        return held[device], -free[device], natural_key(device), natural_key(device_id)

    while len(chosen) < size and candidates:
        pick = min(candidates, key=rank)
        candidates.remove(pick)
        chosen.append(pick)
        device = device_of.get(pick, pick)
        held[device] += 1
        free[device] -= 1
    return chosen[:max(size, len(must_include))]
