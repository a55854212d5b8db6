"""Build a CDI spec document from a short description of the devices.

One device per device node matched by a glob, named after the node or by
index, with optional per-device mounts (``{name}`` / ``{index}`` placeholders),
spec-wide mounts and env, and an optional ``all`` device. The ``cdiVersion``
is the lowest version that the fields used require, so the spec is readable
by as many engines as possible.
"""

from __future__ import annotations

import glob
import os
import re
import stat

from cdishim.cdi.decode import decode_spec
from cdishim.cdi.names import validate_device_name, validate_kind
from cdishim.cdi.versions import LATEST, minimum_required_version
from cdishim.errors import InvalidNameError, UsageError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BIND_OPTIONS: tuple[str, ...] = ("ro", "nosuid", "nodev", "bind")
NAME_STRATEGIES = ("basename", "index")
ALL_DEVICE = "all"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class SpecDescription(Record):
    """What `generate` was asked for, before looking at the host."""

    kind: str
    device_glob: str
    name_strategy: str = "basename"
    device_mounts: tuple[str, ...] = ()  # HOST[:CONTAINER] templates
    mounts: tuple[str, ...] = ()  # HOST[:CONTAINER]
    env: tuple[str, ...] = ()  # KEY=VALUE
    mount_options: tuple[str, ...] = BIND_OPTIONS
    all_device: bool = False


class HostDevice(Record):
    """A device node found on the host, with the name its CDI device gets."""

    name: str
    index: int
    path: str


def natural_key(path: str) -> list[Any]:
    """Sort ``device_2`` before ``device_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def find_device_nodes(pattern: str) -> list[str]:
    """Device nodes matching *pattern*, in natural order; each must be a char or block device."""
    if not os.path.isabs(pattern):
        raise UsageError(f"--device-glob {quote(pattern)}: must be an absolute path")
    paths = sorted(glob.glob(pattern), key=natural_key)
    if not paths:
        raise UsageError(f"--device-glob {quote(pattern)}: no file matches")
    for path in paths:
        try:
            mode = os.lstat(path).st_mode
        except OSError as err:
            raise UsageError(f"device {quote(path)}: {err.strerror or err}") from err
        if not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
            raise UsageError(f"device {quote(path)}: not a device node")
    return paths


def name_devices(paths: list[str], strategy: str) -> list[HostDevice]:
    """Give each node its CDI device name: its basename, or its index."""
    devices = []
    for index, path in enumerate(paths):
        name = os.path.basename(path) if strategy == "basename" else str(index)
        try:
            validate_device_name(name)
        except InvalidNameError as err:
            raise UsageError(f"device {quote(path)}: {err}; try --name-strategy index") from None
        if name == ALL_DEVICE:
            raise UsageError(f"device {quote(path)}: the name {quote(ALL_DEVICE)} is reserved; "
                               "try --name-strategy index")
        devices.append(HostDevice(name=name, index=index, path=path))
    names = [device.name for device in devices]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"device name {quote(name)} matches more than one node; try --name-strategy index")
    return devices


def expand(template: str, device: HostDevice) -> str:
    """*template* with ``{name}`` and ``{index}`` replaced for *device*."""
    values = {"name": device.name, "index": str(device.index)}

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise UsageError(f"--device-mount {quote(template)}: unknown placeholder {{{key}}}; "
                               "use {name} or {index}")
        return values[key]

    return _PLACEHOLDER.sub(substitute, template)


def split_mount(argument: str, option: str) -> tuple[str, str]:
    """``HOST[:CONTAINER]`` as (host path, container path); both must be absolute."""
    host, _, container = argument.partition(":")
    container = container or host
    for path in (host, container):
        if not os.path.isabs(path):
            raise UsageError(f"{option} {quote(argument)}: paths must be absolute")
    return os.path.normpath(host), os.path.normpath(container)


def _mount(host: str, container: str, options: tuple[str, ...]) -> dict[str, Any]:
    entry: dict[str, Any] = {"hostPath": host, "containerPath": container}
    if options:
        entry["options"] = list(options)
    return entry


def _device_edits(description: SpecDescription, device: HostDevice) -> dict[str, Any]:
    edits: dict[str, Any] = {"deviceNodes": [{"path": device.path}]}
    mounts = [
        _mount(*split_mount(expand(template, device), "--device-mount"), description.mount_options)
        for template in description.device_mounts
    ]
    if mounts:
        edits["mounts"] = mounts
    return edits


def _all_device_edits(per_device: list[dict[str, Any]]) -> dict[str, Any]:
    edits: dict[str, Any] = {"deviceNodes": [node for edits in per_device for node in edits["deviceNodes"]]}
    mounts = [mount for edits in per_device for mount in edits.get("mounts", ())]
    if mounts:
        edits["mounts"] = mounts
    return edits


def _spec_edits(description: SpecDescription) -> dict[str, Any]:
    edits: dict[str, Any] = {}
    for entry in description.env:
        if "=" not in entry or entry.startswith("="):
            raise UsageError(f"--env {quote(entry)}: expected KEY=VALUE")
    if description.env:
        edits["env"] = list(description.env)
    if description.mounts:
        edits["mounts"] = [
            _mount(*split_mount(argument, "--mount"), description.mount_options) for argument in description.mounts
        ]
    return edits


def build_spec(description: SpecDescription, devices: list[HostDevice]) -> dict[str, Any]:
    """The spec document for *devices*, with the lowest ``cdiVersion`` it needs."""
    try:
        validate_kind(description.kind)
    except InvalidNameError as err:
        raise UsageError(f"--kind: {err}") from None
    per_device = [_device_edits(description, device) for device in devices]
    entries = [{"name": device.name, "containerEdits": edits} for device, edits in zip(devices, per_device)]
    if description.all_device:
        entries.append({"name": ALL_DEVICE, "containerEdits": _all_device_edits(per_device)})
    document: dict[str, Any] = {"cdiVersion": LATEST, "kind": description.kind, "devices": entries}
    spec_edits = _spec_edits(description)
    if spec_edits:
        document["containerEdits"] = spec_edits
    document["cdiVersion"] = minimum_required_version(decode_spec(document))
    return document


def describe_host(description: SpecDescription) -> dict[str, Any]:
    """Find the devices on the host and build their spec document."""
    paths = find_device_nodes(description.device_glob)
    return build_spec(description, name_devices(paths, description.name_strategy))
