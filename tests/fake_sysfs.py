"""A fake sysfs tree shaped like the kernel's, with real device nodes made by mknod beside it.

The tree holds what the device plugin reads: ``bus/usb/devices/<port>``
symlinks into ``devices/``, USB device attributes (``idVendor``,
``idProduct``, ``serial``), interfaces with tty children whose ``uevent``
names their ``DEVNAME``, ``dev/char/MAJ:MIN`` links, and PCI devices with a
``numa_node``. Device nodes go into a directory under the real ``/dev``, so
that every ``DEVNAME`` is relative to ``/dev`` as the kernel's are.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

USB_MAJOR, TTY_USB_MAJOR = 189, 188
PCI_BRIDGE = "devices/pci0000:00"


class FakeSysfs:
    """Build and change a fake sysfs under *root*, with nodes under *dev_dir* (inside /dev)."""

    def __init__(self, root: Path, dev_dir: Path) -> None:
        self.root = root
        self.dev_dir = dev_dir
        self.next_minor = {USB_MAJOR: 1, TTY_USB_MAJOR: 0}
        (root / "bus/usb/devices").mkdir(parents=True, exist_ok=True)
        (root / "dev/char").mkdir(parents=True, exist_ok=True)

    def devname(self, name: str) -> str:
        """*name*'s DEVNAME: its path relative to /dev."""
        return str((self.dev_dir / name).relative_to("/dev"))

    def _node(self, name: str, major: int, sysfs_dir: Path) -> None:
        minor = self.next_minor[major]
        self.next_minor[major] += 1
        path = self.dev_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mknod(path, 0o666 | 0o020000, os.makedev(major, minor))
        (sysfs_dir / "uevent").write_text(f"MAJOR={major}\nMINOR={minor}\nDEVNAME={self.devname(name)}\n")
        link = self.root / "dev/char" / f"{major}:{minor}"
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.relpath(sysfs_dir, link.parent))

    def pci_device(self, address: str, numa_node: int) -> Path:
        """A PCI device (a USB controller, say) with its NUMA node; -1 means none."""
        directory = self.root / PCI_BRIDGE / address
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "numa_node").write_text(f"{numa_node}\n")
        return directory

    def usb_device(self, port: str, vendor: str, product: str, serial: str | None = None,
                   ttys: tuple[str, ...] = (), parent: Path | None = None) -> Path:
        """A USB device on *port* (``1-1.2``) with one interface owning the tty nodes *ttys*.

        Its *parent* is a PCI controller (default: one without a NUMA node) or
        a USB hub made by this method, under which it then sits.
        """
        parent = parent or self.pci_device("0000:00:14.0", -1)
        bus = int(port.split("-")[0])
        directory = parent / port if (parent / "idVendor").exists() else parent / f"usb{bus}" / port
        directory.mkdir(parents=True)
        (directory / "idVendor").write_text(f"{vendor}\n")
        (directory / "idProduct").write_text(f"{product}\n")
        if serial is not None:
            (directory / "serial").write_text(f"{serial}\n")
        self._node(f"bus/usb/{bus:03d}/{self.next_minor[USB_MAJOR]:03d}", USB_MAJOR, directory)
        interface = directory / f"{port}:1.0"
        interface.mkdir()
        (interface / "uevent").write_text("DEVTYPE=usb_interface\nDRIVER=ftdi_sio\n")
        for tty in ttys:
            port_dir = interface / tty  # the usb-serial port: no node of its own
            (port_dir / "tty" / tty).mkdir(parents=True)
            (port_dir / "uevent").write_text("DEVTYPE=usb-serial\n")
            self._node(tty, TTY_USB_MAJOR, port_dir / "tty" / tty)
        (self.root / "bus/usb/devices" / port).symlink_to(os.path.relpath(directory, self.root / "bus/usb/devices"))
        return directory

    def unplug(self, port: str) -> None:
        """Remove a USB device as the kernel and udev would: its sysfs entries and its nodes."""
        link = self.root / "bus/usb/devices" / port
        directory = link.resolve()
        for uevent in directory.rglob("uevent"):
            for line in uevent.read_text().splitlines():
                if line.startswith("DEVNAME="):
                    (Path("/dev") / line.removeprefix("DEVNAME=")).unlink(missing_ok=True)
        link.unlink()
        shutil.rmtree(directory)
