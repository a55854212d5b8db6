"""The CDI spec data model: immutable values parsed once at the edge.

Field names follow CDI 1.1.0 (`specs-go/config.go`); the JSON name of each
field is given next to it. Integers that the reference treats as "absent when
zero" (major, minor) keep that convention; optional pointers are ``None``.
"""

from __future__ import annotations

from types import MappingProxyType

from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

NO_ANNOTATIONS: Mapping[str, str] = MappingProxyType({})


class DeviceNode(Record):
    """A device node to create in the container (``deviceNodes[]``)."""

    path: str  # path
    host_path: str = ""  # hostPath
    type: str = ""  # type: b, c, u, p
    major: int = 0  # major
    minor: int = 0  # minor
    file_mode: int | None = None  # fileMode
    permissions: str = ""  # permissions: cgroup access, r/w/m
    uid: int | None = None  # uid
    gid: int | None = None  # gid


class Mount(Record):
    """A mount to add to the container (``mounts[]``)."""

    host_path: str  # hostPath
    container_path: str  # containerPath
    options: tuple[str, ...] = ()  # options
    type: str = ""  # type


class Hook(Record):
    """An OCI hook to add at stage `hook_name` (``hooks[]``)."""

    hook_name: str  # hookName
    path: str  # path
    args: tuple[str, ...] = ()  # args
    env: tuple[str, ...] = ()  # env
    timeout: int | None = None  # timeout


class IntelRdt(Record):
    """Intel RDT settings that replace the container's ``linux.intelRdt``."""

    clos_id: str = ""  # closID
    l3_cache_schema: str = ""  # l3CacheSchema
    mem_bw_schema: str = ""  # memBwSchema
    schemata: tuple[str, ...] = ()  # schemata (1.1.0)
    enable_monitoring: bool = False  # enableMonitoring (1.1.0)


class NetDevice(Record):
    """A host network interface to move into the container (1.1.0)."""

    host_interface_name: str  # hostInterfaceName
    name: str  # name


class ContainerEdits(Record):
    """Edits to apply to an OCI spec (``containerEdits``)."""

    env: tuple[str, ...] = ()
    device_nodes: tuple[DeviceNode, ...] = ()
    hooks: tuple[Hook, ...] = ()
    mounts: tuple[Mount, ...] = ()
    intel_rdt: IntelRdt | None = None
    additional_gids: tuple[int, ...] = ()
    net_devices: tuple[NetDevice, ...] = ()

    def is_empty(self) -> bool:
        """True when these edits would change nothing."""
        return self == _NO_EDITS


_NO_EDITS = ContainerEdits()


class Device(Record):
    """One named device of a spec."""

    name: str
    edits: ContainerEdits
    annotations: Mapping[str, str] = NO_ANNOTATIONS


class Spec(Record):
    """A whole CDI spec file, with where it came from."""

    version: str
    kind: str
    devices: tuple[Device, ...]
    edits: ContainerEdits = _NO_EDITS
    annotations: Mapping[str, str] = NO_ANNOTATIONS
    path: str = ""
    priority: int = 0

    @property
    def class_(self) -> str:
        """Class part of the kind."""
        return self.kind.partition("/")[2]
