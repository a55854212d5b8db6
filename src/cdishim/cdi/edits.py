"""Merge container edits and apply them to an OCI spec.

Semantics follow the reference (`container-edits.go` Apply): all edits are
applied at once, kind by kind: env, device nodes, mounts (then every mount
is stable-sorted by depth), hooks, intelRdt, additionalGids, netDevices.

The OCI spec is a plain dict (``config.json`` as decoded); fields cdishim
does not touch pass through unchanged.
"""

from __future__ import annotations

import posixpath

from cdishim.cdi.hostdevices import complete_device_node
from cdishim.cdi.model import ContainerEdits, DeviceNode, Hook, IntelRdt, Mount
from cdishim.errors import ApplyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    # config.json as decoded: cdishim edits what it knows and passes the rest through.
    OciSpec = dict[str, Any]



def merge_edits(parts: Iterable[ContainerEdits]) -> ContainerEdits:
    """Concatenate edits; the last intelRdt wins."""
    env: list[str] = []
    nodes: list[DeviceNode] = []
    hooks: list[Hook] = []
    mounts: list[Mount] = []
    gids: list[int] = []
    net_devices = []
    rdt: IntelRdt | None = None
    for part in parts:
        env += part.env
        nodes += part.device_nodes
        hooks += part.hooks
        mounts += part.mounts
        gids += part.additional_gids
        net_devices += part.net_devices
        rdt = part.intel_rdt if part.intel_rdt is not None else rdt
    return ContainerEdits(
        env=tuple(env),
        device_nodes=tuple(nodes),
        hooks=tuple(hooks),
        mounts=tuple(mounts),
        intel_rdt=rdt,
        additional_gids=tuple(gids),
        net_devices=tuple(net_devices),
    )


def apply_edits(spec: OciSpec, edits: ContainerEdits) -> None:
    """Apply *edits* to *spec* in place.

    Raises `ApplyError` when a host device cannot be read or *spec* has the
    wrong shape where an edit has to go. After an error *spec* may be half
    edited: callers decode it fresh from config.json and discard it on error,
    so nothing half-done is ever written (and no deep copy is paid for).
    """
    if not isinstance(spec, dict):
        raise ApplyError("OCI spec is not a JSON object")
    _apply_env(spec, edits.env)
    _apply_device_nodes(spec, edits.device_nodes)
    _apply_mounts(spec, edits.mounts)
    _apply_hooks(spec, edits.hooks)
    if edits.intel_rdt is not None:
        _child(spec, "linux")["intelRdt"] = _intel_rdt_to_oci(edits.intel_rdt)
    _apply_additional_gids(spec, edits.additional_gids)
    for net_device in edits.net_devices:
        _child(_child(spec, "linux"), "netDevices", "linux.")[net_device.host_interface_name] = {"name": net_device.name}


# --- shape helpers ---------------------------------------------------------------


def _child(parent: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    """``parent[key]`` as a dict, created when absent."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    elif not isinstance(value, dict):
        raise ApplyError(f"OCI spec field {where}{key} is not an object")
    return value


def _list(parent: dict[str, Any], key: str, where: str) -> list[Any]:
    """``parent[key]`` as a list, created when absent."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = []
    elif not isinstance(value, list):
        raise ApplyError(f"OCI spec field {where}{key} is not a list")
    return value


def _objects(parent: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """``parent[key]`` as a list whose entries are all objects (cdishim matches on their fields)."""
    value = _list(parent, key, where)
    for position, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ApplyError(f"OCI spec field {where}{key}[{position}] is not an object")
    return value


def _user_id(spec: OciSpec, key: str) -> int:
    """``process.user.<key>``, 0 when absent; an error when it is not an integer."""
    process = spec.get("process")
    user = process.get("user") if isinstance(process, dict) else None
    value = user.get(key) if isinstance(user, dict) else None
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApplyError(f"OCI spec field process.user.{key} is not an integer")
    return value


# --- one function per kind of edit ----------------------------------------------


def _apply_env(spec: OciSpec, env: tuple[str, ...]) -> None:
    if not env:
        return
    current = _list(_child(spec, "process"), "env", "process.")
    index = {}
    for position, entry in enumerate(current):
        if not isinstance(entry, str):
            raise ApplyError(f"OCI spec field process.env[{position}] is not a string")
        index.setdefault(entry.split("=", 1)[0], position)
    for entry in env:
        key = entry.split("=", 1)[0]
        if key in index:
            current[index[key]] = entry
        else:
            index[key] = len(current)
            current.append(entry)


def _apply_device_nodes(spec: OciSpec, nodes: tuple[DeviceNode, ...]) -> None:
    if not nodes:
        return
    linux = _child(spec, "linux")
    uid, gid = _user_id(spec, "uid"), _user_id(spec, "gid")
    for raw in nodes:
        node = complete_device_node(raw)
        device = {"path": node.path, "type": node.type, "major": node.major, "minor": node.minor}
        if node.file_mode is not None:
            device["fileMode"] = node.file_mode
        if node.uid is not None or uid > 0:
            device["uid"] = node.uid if node.uid is not None else uid
        if node.gid is not None or gid > 0:
            device["gid"] = node.gid if node.gid is not None else gid
        devices = _objects(linux, "devices", "linux.")
        devices[:] = [d for d in devices if d.get("path") != node.path]
        devices.append(device)
        if node.type in ("b", "c"):
            access = "" if node.permissions == "none" else node.permissions or "rwm"
            rules = _list(_child(linux, "resources", "linux."), "devices", "linux.resources.")
            rules.append({"allow": True, "type": node.type, "major": node.major, "minor": node.minor, "access": access})


def _in_user_namespace(spec: OciSpec) -> bool:
    linux = spec.get("linux")
    namespaces = linux.get("namespaces") if isinstance(linux, dict) else None
    return isinstance(namespaces, list) and any(isinstance(ns, dict) and ns.get("type") == "user" for ns in namespaces)


def _mount_to_oci(mount: Mount, idmapped: bool) -> dict[str, Any]:
    options = list(mount.options)
    is_bind = mount.type == "bind" or "bind" in options or "rbind" in options
    if idmapped and is_bind and "idmap" not in options and "ridmap" not in options:
        options.append("ridmap" if "rbind" in options else "idmap")
    result: dict[str, Any] = {"destination": mount.container_path}
    if mount.type:
        result["type"] = mount.type
    result["source"] = mount.host_path
    if options:
        result["options"] = options
    return result


def _mount_depth(mount: dict[str, Any]) -> int:
    destination = mount.get("destination", "")
    return posixpath.normpath(destination).count("/") if isinstance(destination, str) else 0


def _apply_mounts(spec: OciSpec, mounts: tuple[Mount, ...]) -> None:
    if not mounts:
        return
    current = _objects(spec, "mounts", "")
    idmapped = _in_user_namespace(spec)
    for mount in mounts:
        current[:] = [m for m in current if m.get("destination") != mount.container_path]
        current.append(_mount_to_oci(mount, idmapped))
    current.sort(key=_mount_depth)  # list.sort is stable


def _apply_hooks(spec: OciSpec, hooks: tuple[Hook, ...]) -> None:
    for hook in hooks:
        oci_hook: dict[str, Any] = {"path": hook.path}
        if hook.args:
            oci_hook["args"] = list(hook.args)
        if hook.env:
            oci_hook["env"] = list(hook.env)
        if hook.timeout is not None:
            oci_hook["timeout"] = hook.timeout
        _list(_child(spec, "hooks"), hook.hook_name, "hooks.").append(oci_hook)


def _intel_rdt_to_oci(rdt: IntelRdt) -> dict[str, Any]:
    fields = {
        "closID": rdt.clos_id,
        "l3CacheSchema": rdt.l3_cache_schema,
        "memBwSchema": rdt.mem_bw_schema,
        "schemata": list(rdt.schemata),
        "enableMonitoring": rdt.enable_monitoring,
    }
    return {key: value for key, value in fields.items() if value}


def _apply_additional_gids(spec: OciSpec, gids: tuple[int, ...]) -> None:
    wanted = [gid for gid in gids if gid != 0]
    if not wanted:
        return
    user = _child(_child(spec, "process"), "user", "process.")
    current = _list(user, "additionalGids", "process.user.")
    for gid in wanted:
        if gid not in current:
            current.append(gid)

