"""The devices a plugin advertises, and what Allocate answers: plain logic, no gRPC.

One plugin serves one CDI kind. Its devices are the kind's devices in the
registry, named by their CDI device name (a device named ``all`` bundles the
others and is not advertised). A device is unhealthy when a device node its
edits name is missing on the host.
"""

from __future__ import annotations

import hashlib
import re

from cdishim.cdi.annotations import ANNOTATION_PREFIX
from cdishim.cdi.hostdevices import host_device_info
from cdishim.cdi.registry import Registry
from cdishim.errors import CdishimError, RequestError, quote
from cdishim.record import Record

HEALTHY, UNHEALTHY = "Healthy", "Unhealthy"
STRATEGIES = ("cdi-annotations", "cdi-cri", "both")

MAX_KEY_NAME = 63  # the part of an annotation key after the prefix
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class PluginDevice(Record):
    """One advertised device: its kubelet ID (the CDI device name) and health."""

    id: str
    health: str


def kind_devices(registry: Registry, kind: str) -> list[PluginDevice]:
    """The resolvable devices of *kind*, sorted by name, with their health."""
    devices = []
    prefix = f"{kind}="
    for name in registry.device_names:
        if not name.startswith(prefix) or name == f"{kind}=all":
            continue
        resolved = registry.resolve(name)
        assert resolved is not None
        edits = resolved.device.edits
        healthy = all(_node_present(node.host_path or node.path) for node in edits.device_nodes)
        devices.append(PluginDevice(id=name[len(prefix):], health=HEALTHY if healthy else UNHEALTHY))
    return devices


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


def allocate(kind: str, devices: list[PluginDevice], requested: list[str], strategy: str) -> Allocation:
    """The allocation for *requested* device IDs; `CdishimError` for unknown or unhealthy ones."""
    known = {device.id: device for device in devices}
    unknown = [device_id for device_id in requested if device_id not in known]
    if unknown:
        raise RequestError(f"unknown {kind} devices: {', '.join(quote(d) for d in unknown)}")
    unhealthy = [device_id for device_id in requested if known[device_id].health != HEALTHY]
    if unhealthy:
        raise RequestError(f"unhealthy {kind} devices: {', '.join(quote(d) for d in unhealthy)}")
    names = tuple(f"{kind}={device_id}" for device_id in requested)
    annotations = {annotation_key(kind, list(requested)): ",".join(names)} if strategy != "cdi-cri" else {}
    return Allocation(cdi_devices=names if strategy != "cdi-annotations" else (), annotations=annotations)


def preferred(available: list[str], must_include: list[str], size: int) -> list[str]:
    """The devices to suggest: those that must be included, then the others in name order."""
    chosen = list(dict.fromkeys(must_include))
    for device_id in sorted(available):
        if len(chosen) >= size:
            break
        if device_id not in chosen:
            chosen.append(device_id)
    return chosen[:max(size, len(must_include))]
