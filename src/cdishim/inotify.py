"""Know when directories change: inotify, through ctypes.

The standard library has no inotify; these are the few calls the device
plugin (spec dirs and the kubelet socket dir) and the resident injector
(spec dirs) need. Directories that do not exist yet are simply not watched:
their users notice them appear by other means (a periodic rescan, a stat).
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
from collections.abc import Sequence

IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
CHANGES = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
           | IN_DELETE_SELF | IN_MOVE_SELF)


class DirectoryWatch:
    """An inotify instance on a set of directories."""

    def __init__(self, directories: Sequence[str]) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.directories = tuple(directories)
        self.unwatched: tuple[str, ...] = ()
        self.rearm()

    def rearm(self) -> None:
        """(Re)add watches, e.g. for a directory that was created or re-created since.

        A directory that does not exist is not watched, as it cannot change
        unseen; one that exists but could not be watched (out of watches,
        ``ENOSPC``) is named in `unwatched`.
        """
        unwatched = []
        for directory in self.directories:
            if self._libc.inotify_add_watch(self.fd, os.fsencode(directory), CHANGES) < 0 \
                    and ctypes.get_errno() != errno.ENOENT:
                unwatched.append(directory)
        self.unwatched = tuple(unwatched)

    def wait(self, timeout_s: float) -> bool:
        """Wait up to *timeout_s* for a change; True if there was one (events are drained)."""
        ready, _, _ = select.select([self.fd], [], [], timeout_s)
        return bool(ready) and self.drain()

    def drain(self) -> bool:
        """Read every queued event without waiting; True if there was one."""
        seen = False
        try:
            while os.read(self.fd, 65536):
                seen = True
        except BlockingIOError:
            pass
        return seen

    def close(self) -> None:
        """Release the inotify instance (once; later calls do nothing)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
