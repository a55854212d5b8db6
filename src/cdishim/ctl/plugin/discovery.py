"""Find the devices of a discovering resource on the host: device-node globs and USB ids.

Every device gets a CDI device name that comes from the device and the
config alone, never from the order of discovery or from which other devices
are present, so a pod's allocation names the same hardware after a plugin
restart or a re-plug:

- a ``path`` match is named after the node's basename, or, where the glob has
  wildcards in a directory too (``/dev/*/ctl``), after its path below the
  glob's fixed part (``a-ctl``). A symlink to a device node
  (``/dev/serial/by-id/*``) is named after the link and stands for its target;
- a ``usb`` match is named after its serial number, else after its USB port
  path (the sysfs name, such as ``1-1.4``). Cheap adapters often share one
  serial: once two present devices have been seen with one serial, each
  device with it is named ``SERIAL-PORT`` for as long as the plugin runs.

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
    nodes: tuple[str, ...]
    sysfs_dir: str | None  # where to look for the NUMA node; None: from the first node
    serial: str = ""  # USB only: the serial, when the name was made from it
    port: str = ""  # USB only


def _read_attribute(path: str) -> str | None:
    """A sysfs attribute's value without its newline; ``None`` when it is not there (or went away)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4096).decode("utf-8", "replace").strip()
    except OSError:
        return None


def _device_node(path: str) -> str | None:
    """*path* itself if it is a char or block node; its target if it is a symlink to one; else ``None``."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        target = os.path.realpath(path)
        return target if _device_node(target) == target else None
    return path if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else None


def device_name(text: str) -> str:
    """*text* as a valid CDI device name: unsafe runs become ``-``, the ends are trimmed to alphanumerics."""
    return _NAME_UNSAFE.sub("-", text).strip("_.:-")


def _usable(name: str) -> bool:
    try:
        validate_device_name(name)
    except InvalidNameError:
        return False
    return name != ALL_DEVICE


def _fixed_prefix(pattern: str) -> str:
    """The leading directories of *pattern* without wildcards."""
    parts = pattern.split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return os.sep.join(fixed) or os.sep


def _glob_candidates(match: PathMatch) -> list[_Candidate]:
    prefix = _fixed_prefix(match.glob)
    by_basename = prefix == os.path.dirname(match.glob)
    candidates = []
    for path in sorted(glob.glob(match.glob), key=natural_key):
        node = _device_node(path)
        if node is not None:
            name = device_name(os.path.basename(path) if by_basename else os.path.relpath(path, prefix))
            candidates.append(_Candidate(name=name, nodes=(node,), sysfs_dir=None))
    return candidates


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
        if not path.startswith(dev_root + os.sep) or _device_node(path) != path:
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
        serial_name = device_name(serial or "")
        usable = _usable(serial_name)
        candidates.append(_Candidate(name=serial_name if usable else device_name(port), nodes=nodes,
                                     sysfs_dir=device_dir, serial=serial_name if usable else "",
                                     port=device_name(port)))
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


def node_numa(path: str, sysfs_root: str) -> int | None:
    """The NUMA node of the device node at *path*, through ``/sys/dev/{char,block}/MAJ:MIN``."""
    sysfs_dir = _node_sysfs_dir(path, sysfs_root)
    return numa_node(sysfs_dir, sysfs_root) if sysfs_dir else None


class DeviceFinder:
    """Discovery for one resource, remembering which USB serials it has seen shared."""

    def __init__(self, resource: ResourceConfig, sysfs_root: str = "/sys", dev_root: str = "/dev") -> None:
        self.resource = resource
        self.sysfs_root = sysfs_root
        self.dev_root = os.path.normpath(dev_root)
        self.shared_serials: set[str] = set()

    def _candidates(self) -> list[_Candidate]:
        candidates: list[_Candidate] = []
        for match in self.resource.matches:
            if isinstance(match, PathMatch):
                candidates.extend(_glob_candidates(match))
            else:
                candidates.extend(_usb_candidates(match, self.sysfs_root, self.dev_root))
        serials = [candidate.serial for candidate in candidates if candidate.serial]
        self.shared_serials.update(serial for serial in serials if serials.count(serial) > 1)
        return [candidate.replace(name=f"{candidate.serial}-{candidate.port}")
                if candidate.serial in self.shared_serials else candidate for candidate in candidates]

    def find(self) -> tuple[list[FoundDevice], list[str]]:
        """The devices present now, sorted by name, and a line for each match left out.

        A node is one device's only: a later match that finds a node an
        earlier one took keeps only its other nodes, and is left out if none
        remain. A name is one device's only: a later device with a name
        already taken (two globs, one basename) is left out, and said so.
        """
        found: list[FoundDevice] = []
        skipped: list[str] = []
        claimed: set[str] = set()
        names: dict[str, str] = {}
        for candidate in self._candidates():
            nodes = tuple(node for node in candidate.nodes if node not in claimed)
            if not nodes:
                continue
            if not _usable(candidate.name):
                skipped.append(f"{nodes[0]}: no usable CDI device name in {candidate.name!r}")
                continue
            if candidate.name in names:
                skipped.append(f"{nodes[0]}: left out, its name {candidate.name!r} is {names[candidate.name]}'s")
                continue
            claimed.update(nodes)
            names[candidate.name] = nodes[0]
            sysfs_dir = candidate.sysfs_dir or _node_sysfs_dir(nodes[0], self.sysfs_root)
            found.append(FoundDevice(name=candidate.name, nodes=nodes,
                                     numa_node=numa_node(sysfs_dir, self.sysfs_root) if sysfs_dir else None))
        return sorted(found, key=lambda device: natural_key(device.name)), skipped
