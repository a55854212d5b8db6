"""The OCI state a hook reads on stdin, and the container rootfs it names.

runc and crun pass ``{"ociVersion", "id", "status", "pid", "bundle",
"annotations"}``; crun adds ``root``, the rootfs path. Without it, the rootfs
is ``root.path`` of the bundle's ``config.json``, relative to the bundle.
The bundle is the engine's; nothing inside the rootfs is trusted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import IO, Any

from cdishim import defaults
from cdishim.errors import HookError, quote
from cdishim.record import Record

NO_ANNOTATIONS: Mapping[str, Any] = MappingProxyType({})



class HookState(Record):
    """The parts of the OCI state the hooks use."""

    container_id: str
    pid: int
    bundle: str
    root: str = ""  # crun's rootfs path, when present
    annotations: Mapping[str, Any] = NO_ANNOTATIONS


def parse_state(data: bytes) -> HookState:
    """Parse the state JSON; raise `HookError` when it is not a usable state."""
    try:
        state: Any = json.loads(data)
    except ValueError as err:
        raise HookError(f"invalid OCI state on stdin: {err}") from err
    if not isinstance(state, dict):
        raise HookError("invalid OCI state on stdin: not an object")
    bundle, pid, root = state.get("bundle"), state.get("pid", 0), state.get("root", "")
    if not isinstance(bundle, str) or not os.path.isabs(bundle):
        raise HookError("invalid OCI state on stdin: bundle must be an absolute path")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 0:
        raise HookError("invalid OCI state on stdin: pid must be a non-negative integer")
    if not isinstance(root, str):
        raise HookError("invalid OCI state on stdin: root must be a string")
    annotations = state.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise HookError("invalid OCI state on stdin: annotations must be an object")
    return HookState(container_id=str(state.get("id", "")), pid=pid, bundle=bundle, root=root,
                     annotations=annotations)


def read_state(stream: IO[bytes]) -> HookState:
    """Read and parse the state from *stream* (a hook's stdin)."""
    data = stream.read(defaults.MAX_STATE_BYTES + 1)
    if len(data) > defaults.MAX_STATE_BYTES:
        raise HookError("OCI state on stdin is too large")
    return parse_state(data)


def bundle_config(state: HookState) -> dict[str, Any]:
    """The bundle's config.json (the engine's file: trusted, unlike the rootfs)."""
    path = os.path.join(state.bundle, "config.json")
    try:
        with open(path, "rb") as handle:
            config = json.loads(handle.read())
    except (OSError, ValueError) as err:
        raise HookError(f"cannot read {quote(path)}: {getattr(err, 'strerror', None) or err}") from err
    if not isinstance(config, dict):
        raise HookError(f"{quote(path)}: not a JSON object")
    return config


def container_rootfs(state: HookState) -> str:
    """The host path of the container's root filesystem."""
    if state.root:
        return state.root
    root = (bundle_config(state).get("root") or {}).get("path")
    if not isinstance(root, str) or not root:
        raise HookError(f"{quote(os.path.join(state.bundle, 'config.json'))}: root.path must be a non-empty string")
    return os.path.normpath(os.path.join(state.bundle, root))


def bundle_net_devices(state: HookState) -> list[tuple[str, str]]:
    """(host interface, name in the container) for each ``linux.netDevices`` entry."""
    devices = (bundle_config(state).get("linux") or {}).get("netDevices") or {}
    if not isinstance(devices, dict):
        raise HookError("linux.netDevices in config.json is not an object")
    return [(host_if, (entry or {}).get("name") or host_if) for host_if, entry in sorted(devices.items())]


def _is_shared_library(path: str) -> bool:
    """``libx.so`` or ``libx.so.1.2``: a name the dynamic loader would look for."""
    stem, sep, version = os.path.basename(path).partition(".so")
    if not stem or not sep:
        return False
    if not version:
        return True
    return version[0] == "." and all(part.isdigit() for part in version[1:].split("."))


def bundle_library_folders(state: HookState) -> list[str]:
    """Container folders holding shared libraries that config.json bind-mounts, sorted."""
    folders = set()
    for mount in bundle_config(state).get("mounts") or []:
        if not isinstance(mount, dict):
            continue
        destination, options = mount.get("destination"), mount.get("options") or []
        if isinstance(destination, str) and _is_shared_library(destination) and (
                "bind" in options or "rbind" in options or mount.get("type") == "bind"):
            folders.add(os.path.dirname(os.path.normpath(destination)))
    return sorted(folders)
