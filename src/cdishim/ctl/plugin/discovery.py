"""Find the devices of a discovering resource on the host: device-node globs and USB ids.

Every device gets a CDI device name that does not depend on the order of
discovery, so a pod's allocation still names the same hardware after a
plugin restart or a re-plug:

- a ``path`` match is named after the node's basename;
- a ``usb`` match is named after its serial number when it has one, else
  after its USB port path (the sysfs name, such as ``1-1.4``), which stays
  the same for as long as the device sits in the same port.

A name that two devices would share is made unique by the port path (USB)
or by the whole node path (globs), for every device that shares it.

A USB device is its own node (``/dev/bus/usb/BBB/DDD``) plus every node its
interfaces own (``ttyUSB0``, ``ttyACM0``, ``hidraw3``, ``video0``...), read
from the ``DEVNAME`` of the ``uevent`` files below the device in sysfs.
Where sysfs ties a device to a PCI device with a ``numa_node`` >= 0, the
device carries that NUMA node.
"""

from __future__ import annotations

import glob
import os
import re
import stat

from cdishim.cdi.names import validate_device_name
from cdishim.ctl.plugin.config import PathMatch, ResourceConfig, UsbMatch
from cdishim.ctl.specbuilder import ALL_DEVICE, natural_key
from cdishim.errors import InvalidNameError
from cdishim.record import Record

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")
_USB_DEVICE_DIR = "bus/usb/devices"


class FoundDevice(Record):
    """One device of a resource: its CDI device name, its host device nodes and its NUMA node."""

    name: str
    nodes: tuple[str, ...]
    numa_node: int | None = None


class _Candidate(Record):
    name: str
    fallback: str  # the name to use when *name* is shared
    nodes: tuple[str, ...]
    sysfs_dir: str | None  # where to look for the NUMA node; None: from the first node


def _read_attribute(path: str) -> str | None:
    """A sysfs attribute's value without its newline; ``None`` when it is not there (or went away)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4096).decode("utf-8", "replace").strip()
    except OSError:
        return None


def _is_device_node(path: str) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


def device_name(text: str) -> str:
    """*text* as a valid CDI device name: unsafe runs become ``-``, the ends are trimmed to alphanumerics."""
    return _NAME_UNSAFE.sub("-", text).strip("_.:-")


def _usable(name: str) -> bool:
    try:
        validate_device_name(name)
    except InvalidNameError:
        return False
    return name != ALL_DEVICE


def _glob_candidates(match: PathMatch) -> list[_Candidate]:
    paths = [path for path in sorted(glob.glob(match.glob), key=natural_key) if _is_device_node(path)]
    return [_Candidate(name=device_name(os.path.basename(path)), fallback=device_name(path),
                       nodes=(path,), sysfs_dir=None) for path in paths]


def _uevent_devname(directory: str) -> str | None:
    text = _read_attribute(os.path.join(directory, "uevent"))
    for line in (text or "").splitlines():
        key, _, value = line.partition("=")
        if key == "DEVNAME" and value:
            return value
    return None


def usb_nodes(device_dir: str, dev_root: str) -> tuple[str, ...]:
    """The device nodes of the USB device at *device_dir*: its own first, then its interfaces' in natural order.

    USB devices behind it (a hub's children) are devices of their own and
    are not descended into; symlinks in sysfs are not followed.
    """
    own: list[str] = []
    children: list[str] = []
    for directory, subdirs, _ in os.walk(device_dir):
        subdirs[:] = [sub for sub in subdirs if not os.path.exists(os.path.join(directory, sub, "idVendor"))]
        devname = _uevent_devname(directory)
        if devname is None:
            continue
        path = os.path.normpath(os.path.join(dev_root, devname))
        if not path.startswith(dev_root + os.sep) or not _is_device_node(path):
            continue  # a DEVNAME with "..", or a node udev has not made (yet)
        (own if directory == device_dir else children).append(path)
    return (*own, *sorted(set(children), key=natural_key))


def _usb_candidates(match: UsbMatch, sysfs_root: str, dev_root: str) -> list[_Candidate]:
    base = os.path.join(sysfs_root, _USB_DEVICE_DIR)
    try:
        entries = sorted(os.listdir(base), key=natural_key)
    except OSError:
        return []
    candidates = []
    for port in entries:
        link = os.path.join(base, port)
        if (_read_attribute(os.path.join(link, "idVendor")) or "").lower() != match.vendor \
                or (_read_attribute(os.path.join(link, "idProduct")) or "").lower() != match.product:
            continue
        serial = _read_attribute(os.path.join(link, "serial"))
        if match.serial is not None and serial != match.serial:
            continue
        device_dir = os.path.realpath(link)
        nodes = usb_nodes(device_dir, dev_root)
        if not nodes:
            continue
        port_name = device_name(port)
        serial_name = device_name(serial or "")
        candidates.append(_Candidate(
            name=serial_name if _usable(serial_name) else port_name,
            fallback=f"{serial_name}-{port_name}" if _usable(serial_name) else port_name,
            nodes=nodes, sysfs_dir=device_dir))
    return candidates


def numa_node(sysfs_dir: str, sysfs_root: str) -> int | None:
    """The NUMA node of the nearest ancestor of *sysfs_dir* (itself included) that has one >= 0."""
    root = os.path.realpath(sysfs_root)
    directory = sysfs_dir
    while directory.startswith(root + os.sep):
        value = _read_attribute(os.path.join(directory, "numa_node"))
        if value is not None:
            try:
                node = int(value)
            except ValueError:
                return None
            return node if node >= 0 else None
        directory = os.path.dirname(directory)
    return None


def _node_sysfs_dir(path: str, sysfs_root: str) -> str | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    kind = "block" if stat.S_ISBLK(info.st_mode) else "char"
    link = os.path.join(sysfs_root, "dev", kind, f"{os.major(info.st_rdev)}:{os.minor(info.st_rdev)}")
    return os.path.realpath(link) if os.path.exists(link) else None


def discover(resource: ResourceConfig, sysfs_root: str = "/sys", dev_root: str = "/dev") -> list[FoundDevice]:
    """The devices of *resource* present now, sorted by name.

    A node is one device's only: a later match that finds a node an earlier
    one took keeps only its other nodes, and is left out if none remain.
    """
    candidates: list[_Candidate] = []
    for match in resource.matches:
        if isinstance(match, PathMatch):
            candidates.extend(_glob_candidates(match))
        else:
            candidates.extend(_usb_candidates(match, sysfs_root, os.path.normpath(dev_root)))
    claimed: set[str] = set()
    unique: list[_Candidate] = []
    for candidate in candidates:
        nodes = tuple(node for node in candidate.nodes if node not in claimed)
        if nodes:
            claimed.update(nodes)
            unique.append(candidate.replace(nodes=nodes))
    names = [candidate.name for candidate in unique]
    found: list[FoundDevice] = []
    taken: set[str] = set()
    for candidate in unique:
        name = candidate.name if names.count(candidate.name) == 1 and _usable(candidate.name) else candidate.fallback
        if name in taken:  # only where two fallbacks coincide (/dev/a-b and /dev/a/b)
            continue
        taken.add(name)
        sysfs_dir = candidate.sysfs_dir or _node_sysfs_dir(candidate.nodes[0], sysfs_root)
        found.append(FoundDevice(name=name, nodes=candidate.nodes,
                                 numa_node=numa_node(sysfs_dir, sysfs_root) if sysfs_dir else None))
    return sorted(found, key=lambda device: natural_key(device.name))
