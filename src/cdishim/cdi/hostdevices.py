"""Fill in a device node's missing attributes from the host device.

As the reference (`container-edits_unix.go`): ``hostPath`` defaults to
``path``; when the type or the major number is missing, ``lstat(hostPath)``
supplies type, major and minor (a symlink is "not a device node"), and a
declared type that differs from the host's is an error. The host's permission
bits fill a missing ``fileMode`` from that same ``lstat``.
"""

from __future__ import annotations

import os
import stat

from cdishim.cdi.model import DeviceNode
from cdishim.errors import ApplyError, quote

_TYPE_BY_MODE = {stat.S_IFBLK: "b", stat.S_IFCHR: "c", stat.S_IFIFO: "p"}


def host_device_info(path: str) -> tuple[str, int, int, int]:
    """(type, major, minor, permission bits) of the device node at *path*."""
    try:
        info = os.lstat(path)
    except OSError as err:
        raise ApplyError(f"failed to stat CDI host device {quote(path)}: {err.strerror or err}") from None
    dev_type = _TYPE_BY_MODE.get(stat.S_IFMT(info.st_mode))
    if dev_type is None:
        raise ApplyError(f"failed to stat CDI host device {quote(path)}: not a device node")
    return dev_type, os.major(info.st_rdev), os.minor(info.st_rdev), stat.S_IMODE(info.st_mode)


def complete_device_node(node: DeviceNode) -> DeviceNode:
    """Return *node* with hostPath, type, major, minor and fileMode filled in."""
    host_path = node.host_path or node.path
    if node.type and (node.major != 0 or node.type == "p"):
        return node.replace(host_path=host_path)
    host_type, major, minor, mode = host_device_info(host_path)
    # "u" (unbuffered char) is how a spec may name a char device.
    declared = "c" if node.type == "u" else node.type
    if declared and declared != host_type:
        raise ApplyError(
            f"CDI device ({quote(node.path)}, {quote(host_path)}), host type mismatch ({node.type}, {host_type})"
        )
    filled = node.replace(host_path=host_path, type=node.type or host_type)
    if filled.major == 0 and filled.type != "p":
        filled = filled.replace(major=major, minor=minor)
    if filled.file_mode is None:
        filled = filled.replace(file_mode=mode)
    return filled
