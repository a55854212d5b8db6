"""Kernel uevents as a wake-up: a device was added, removed or changed somewhere.

The plugin only needs to know *that* something happened, so it reads the
netlink socket without parsing the messages and rescans. That is why this is
a plain ``socket`` rather than pyroute2's uevent socket: no decoding is needed,
and the plugin stays free of a 120 ms import and a library to keep current.

The kernel sends a uevent before udev has made the device node, so a caller
should scan again a little later (`UDEV_SETTLE_S`). Uevents of devices such
as USB and tty reach every network namespace owned by the initial user
namespace, so an ordinary pod gets them; a pod in a user namespace does not,
and where the socket cannot be opened the plugin falls back to polling.
"""

from __future__ import annotations

import errno
import socket

NETLINK_KOBJECT_UEVENT = 15
KERNEL_GROUP = 1  # the kernel's own events (udev re-broadcasts on group 2, only where udevd runs)
UDEV_SETTLE_S = 1.0
RECEIVE_BUFFER = 1 << 20


class UeventListener:
    """A non-blocking netlink socket on the kernel's uevent group."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                                  NETLINK_KOBJECT_UEVENT)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            self.sock.bind((0, KERNEL_GROUP))
        except OSError:
            self.sock.close()
            raise

    def fileno(self) -> int:
        """The socket's descriptor, for select."""
        return self.sock.fileno()

    def drain(self) -> bool:
        """Read every queued uevent without waiting; True if there was one (or the queue overflowed)."""
        seen = False
        while True:
            try:
                if not self.sock.recv(65536):
                    return seen
                seen = True
            except BlockingIOError:
                return seen
            except OSError as err:
                if err.errno != errno.ENOBUFS:
                    raise
                seen = True  # events were dropped, which is news too

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
