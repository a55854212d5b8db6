"""Fill in a device node's missing attributes from the host device.

As the reference (`container-edits_unix.go`): ``hostPath`` defaults to
``path``, and ``lstat(hostPath)`` supplies what the spec leaves out (a
symlink is "not a device node").

- A node that gives its type and major number (a FIFO needs no major) is
  *minimally specified*: the host node is optional, only a missing
  ``fileMode`` is taken from it when it exists, and nothing is checked.
- Any other node needs the host node: it supplies type, major, minor and a
  missing ``fileMode``, and a declared type that differs from the host's is
  an error.
"""

from __future__ import annotations

import os
import stat

from cdishim.cdi.model import DeviceNode
from cdishim.errors import ApplyError, quote

_TYPE_BY_MODE = {stat.S_IFBLK: "b", stat.S_IFCHR: "c", stat.S_IFIFO: "p"}


def host_device_info(path: str) -> tuple[str, int, int, int]:
    """(type, major, minor, permission bits) of the device node at *path*.

    Raises `ApplyError` in the reference's words when there is none.
    """
    try:
        info = os.lstat(path)
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise ApplyError(f"failed to stat CDI host device {quote(path)}: {getattr(err, 'strerror', None) or err}") from err
    dev_type = _TYPE_BY_MODE.get(stat.S_IFMT(info.st_mode))
    if dev_type is None:
        raise ApplyError(f"failed to stat CDI host device {quote(path)}: not a device node")
    return dev_type, os.major(info.st_rdev), os.minor(info.st_rdev), stat.S_IMODE(info.st_mode)


def complete_device_node(node: DeviceNode) -> DeviceNode:
    """Return *node* with hostPath, type, major, minor and fileMode filled in."""
    host_path = node.host_path or node.path
    node = node.replace(host_path=host_path)
    if node.type and (node.major != 0 or node.type == "p"):
        if node.file_mode is not None:
            return node
        try:
            mode = host_device_info(host_path)[3]
        except ApplyError:
            return node  # a minimally specified node needs no host node
        return node.replace(file_mode=mode)
    host_type, major, minor, mode = host_device_info(host_path)
    # "u" (unbuffered char) is how a spec may name a char device.
    declared = "c" if node.type == "u" else node.type
    if declared and declared != host_type:
        raise ApplyError(
            f"CDI device ({quote(node.path)}, {quote(host_path)}), host type mismatch ({node.type}, {host_type})"
        )
    filled = node.replace(type=node.type or host_type)
    if filled.major == 0 and filled.type != "p":
        filled = filled.replace(major=major, minor=minor)
    if filled.file_mode is None:
        filled = filled.replace(file_mode=mode)
    return filled
