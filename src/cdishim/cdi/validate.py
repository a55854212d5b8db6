"""Semantic validation of a decoded CDI spec.

Checks and error texts follow the reference's default validator
(`pkg/cdi/producer/validator`). The first problem found is reported.
"""

from __future__ import annotations

import re

from cdishim.cdi import names
from cdishim.cdi.model import ContainerEdits, DeviceNode, Hook, IntelRdt, Mount, NetDevice, Spec
from cdishim.cdi.versions import validate_version
from cdishim.errors import InvalidNameError, SpecError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

HOOK_NAMES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
DEVICE_TYPES = ("", "b", "c", "u", "p")

# Kubernetes annotation keys: an optional DNS-subdomain prefix and a name of
# at most 63 characters (k8s.io/apimachinery ValidateAnnotations).
_ANNOTATION_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_ANNOTATIONS_MAX_BYTES = 256 * 1024
_IFNAMSIZ = 16


def validate_spec(spec: Spec) -> None:
    """Raise `SpecError` describing the first thing wrong with *spec*."""
    try:
        validate_version(spec)
        names.validate_kind(spec.kind)
        _validate_annotations(spec.kind, spec.annotations)
        validate_edits(spec.edits)
        if not spec.devices:
            raise SpecError("invalid spec, no devices")
        seen: set[str] = set()
        for device in spec.devices:
            if device.name in seen:
                raise SpecError(f"invalid spec, multiple device {quote(device.name)}")
            seen.add(device.name)
            try:
                names.validate_device_name(device.name)
                _validate_annotations(f"{spec.kind}={device.name}", device.annotations)
                if device.edits.is_empty():
                    raise SpecError("empty container edits")
                validate_edits(device.edits)
            except (SpecError, InvalidNameError) as err:
                raise SpecError(f"invalid device {quote(device.name)}: {err}") from None
    except InvalidNameError as err:
        raise SpecError(str(err)) from None


def validate_edits(edits: ContainerEdits) -> None:
    """Raise `SpecError` if any single edit is malformed."""
    _refuse_nul(edits)
    for entry in edits.env:
        _validate_env_entry(entry, "invalid container edits")
    for node in edits.device_nodes:
        _validate_device_node(node)
    for hook in edits.hooks:
        _validate_hook(hook)
    for mount in edits.mounts:
        _validate_mount(mount)
    if edits.intel_rdt is not None:
        _validate_intel_rdt(edits.intel_rdt)
    _validate_net_devices(edits.net_devices)


def _refuse_nul(edits: ContainerEdits) -> None:
    """Beyond the reference: no string that becomes a path, argument or env entry holds a NUL byte.

    The kernel cuts such a string at the NUL, so what runs would not be what
    the spec says; runc refuses it only once the container is being created.
    """
    strings: list[tuple[str, str]] = [("env", entry) for entry in edits.env]
    for node in edits.device_nodes:
        strings += [("device path", node.path), ("device hostPath", node.host_path)]
    for mount in edits.mounts:
        strings += [("mount hostPath", mount.host_path), ("mount containerPath", mount.container_path),
                    ("mount type", mount.type), *(("mount option", option) for option in mount.options)]
    for hook in edits.hooks:
        strings += [("hook path", hook.path), *(("hook argument", arg) for arg in hook.args),
                    *(("hook env", entry) for entry in hook.env)]
    for field, value in strings:
        if "\0" in value:
            raise SpecError(f"{field} {quote(value)} contains a NUL byte")


def _validate_env_entry(entry: str, context: str) -> None:
    if entry.find("=") <= 0:
        raise SpecError(f"{context}: invalid environment variable {quote(entry)}")


def _is_clean_absolute(path: str) -> bool:
    """Absolute, and no ``..`` component: the path cannot climb out of where it points."""
    return path.startswith("/") and ".." not in path.split("/")


def _validate_device_node(node: DeviceNode) -> None:
    if not node.path:
        raise SpecError("invalid (empty) device path")
    # Beyond the reference: a device node is created in the container's /dev only.
    if not _is_clean_absolute(node.path) or not node.path.startswith("/dev/"):
        raise SpecError(f"device {quote(node.path)}: path must be absolute, under /dev/ and without ..")
    if node.type not in DEVICE_TYPES:
        raise SpecError(f"device {quote(node.path)}: invalid type {quote(node.type)}")
    # -1 is the wildcard of a cgroup device rule: a negative number would allow every device.
    if node.major < 0 or node.minor < 0:
        raise SpecError(f"device {quote(node.path)}: invalid (negative) device number {node.major}:{node.minor}")
    # "none" is the explicit way to ask for no cgroup access at all.
    if node.permissions != "none" and any(bit not in "rwm" for bit in node.permissions):
        raise SpecError(f"device {quote(node.path)}: invalid permissions {quote(node.permissions)}")


def _validate_hook(hook: Hook) -> None:
    if hook.hook_name not in HOOK_NAMES:
        raise SpecError(f"invalid hook name {quote(hook.hook_name)}")
    if not hook.path:
        raise SpecError(f"invalid hook {quote(hook.hook_name)} with empty path")
    if not _is_clean_absolute(hook.path):  # beyond the reference, as the runtime-spec requires
        raise SpecError(f"invalid hook {quote(hook.hook_name)}: path {quote(hook.path)} must be absolute, without ..")
    for entry in hook.env:
        _validate_env_entry(entry, f"invalid hook {quote(hook.hook_name)}")
    # runtime-spec: "timeout ... MUST be greater than zero"; runc refuses others.
    if hook.timeout is not None and hook.timeout <= 0:
        raise SpecError(f"invalid hook {quote(hook.hook_name)}: timeout must be greater than zero")


def _validate_mount(mount: Mount) -> None:
    if not mount.host_path:
        raise SpecError("invalid mount, empty host path")
    if not mount.container_path:
        raise SpecError("invalid mount, empty container path")
    if not _is_clean_absolute(mount.container_path):  # beyond the reference
        raise SpecError(f"invalid mount {quote(mount.container_path)}: container path must be absolute, without ..")


def _validate_intel_rdt(rdt: IntelRdt) -> None:
    # A CLOS is a directory of the resctrl file system, so its ID must be a
    # valid file name; "/" alone names the root class of service.
    clos = rdt.clos_id
    if clos == "/":
        return
    if len(clos) >= 4096 or clos in (".", "..") or "/" in clos or "\n" in clos:
        raise SpecError("invalid ClosID")


def _validate_net_devices(devices: tuple[NetDevice, ...]) -> None:
    host_names: set[str] = set()
    names_in_container: set[str] = set()
    for dev in devices:
        for field, value in (("hostInterfaceName", dev.host_interface_name), ("name", dev.name)):
            if not _is_interface_name(value):
                raise SpecError(f"invalid network device {field} {quote(value)}")
        if dev.host_interface_name in host_names:
            raise SpecError(f"invalid network device, duplicate hostInterfaceName {quote(dev.host_interface_name)}")
        if dev.name in names_in_container:
            raise SpecError(f"invalid network device, duplicate name {quote(dev.name)}")
        host_names.add(dev.host_interface_name)
        names_in_container.add(dev.name)


def _is_interface_name(name: str) -> bool:
    """Linux interface-name rules (net/core/dev.c dev_valid_name)."""
    if not name or len(name.encode()) >= _IFNAMSIZ or name in (".", ".."):
        return False
    return not any(c in "/:\0" or c.isspace() for c in name)


def _validate_annotations(owner: str, annotations: Mapping[str, str]) -> None:
    total = 0
    for key, value in annotations.items():
        total += len(key) + len(value)
        prefix, slash, name = key.rpartition("/")
        bad_prefix = slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix))
        if bad_prefix or not name or len(name) > 63 or not _ANNOTATION_NAME.match(name):
            raise SpecError(f"{owner}.annotations: invalid annotation key {quote(key)}")
    if total > _ANNOTATIONS_MAX_BYTES:
        raise SpecError(f"{owner}.annotations: total size {total} exceeds {_ANNOTATIONS_MAX_BYTES} bytes")
