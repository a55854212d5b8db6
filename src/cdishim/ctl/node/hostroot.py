"""The host's ``/`` mounted at some directory (``/host`` in the installer pod), and its paths.

A path written into a host file is the path as the host sees it. To reach
it from here, it is resolved inside the host root one component at a time,
an absolute symlink (``/var/run -> /run``) starting again from the host
root rather than from this container's ``/``: the rules of ``chroot``, with
the walk that the hooks use inside container rootfses.
"""

from __future__ import annotations

import os

from cdishim.errors import CdishimError, UsageError, quote
from cdishim.fsutil import replace_file
from cdishim.hooks import inroot


class HostRoot:
    """A directory holding the host's ``/``."""

    def __init__(self, directory: str) -> None:
        if not os.path.isdir(directory):
            raise UsageError(f"--host-root {quote(directory)}: not a directory")
        self.directory = os.path.abspath(directory)

    def path(self, host_path: str, create_parents: bool = False, follow_last: bool = True) -> str:
        """Where *host_path* (absolute, as the host sees it) is from here; its parents made if asked.

        A final symlink is followed inside the host root too (unless
        *follow_last* is false), so that a config file that links elsewhere
        is read and replaced at its target.
        """
        root_fd = inroot.open_root(self.directory)
        try:
            try:
                fd = inroot.resolve(root_fd, host_path, follow_last=follow_last)
                name = ""
            except CdishimError:  # not there (yet): its parent, then the name
                parent, name = os.path.split(os.path.normpath(host_path))
                fd = inroot.resolve(root_fd, parent, create_dirs=create_parents)
        except CdishimError as err:
            raise CdishimError(f"host path {quote(host_path)}: {str(err).split(': ', 1)[-1]}") from None
        finally:
            os.close(root_fd)
        try:
            resolved = os.readlink(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return os.path.join(resolved, name) if name else resolved

    def exists(self, host_path: str) -> bool:
        """Whether *host_path* exists on the host (a dangling symlink counts)."""
        try:
            return os.path.lexists(self.path(host_path, follow_last=False))
        except CdishimError:
            return False

    def read(self, host_path: str) -> bytes | None:
        """The content of the host file, or ``None`` when there is none."""
        try:
            with open(self.path(host_path), "rb") as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError, CdishimError):
            return None

    def write(self, host_path: str, data: bytes, mode: int = 0o644) -> bool:
        """Atomically make the host file hold *data*; False (nothing written) if it already does."""
        if self.read(host_path) == data:
            return False
        replace_file(self.path(host_path, create_parents=True), data, mode, durable=True)
        return True

    def remove(self, host_path: str) -> bool:
        """Remove the host file (a symlink itself, not its target) if it is there; True if it was."""
        try:
            os.unlink(self.path(host_path, follow_last=False))
        except (FileNotFoundError, CdishimError):
            return False
        return True

    def check_writable(self, host_path: str) -> None:
        """`UsageError` unless *host_path* could be created or replaced.

        Its nearest existing ancestor must be writable, and must not be the
        host root itself: in the installer pod only some host directories are
        mounted under it, and a directory made beside them would be in the
        pod, not on the host.
        """
        candidate = os.path.normpath(host_path)
        while True:
            try:
                here = self.path(candidate)
            except CdishimError:
                here = None
            if here is not None and os.path.lexists(here):
                if candidate == "/":
                    raise UsageError(f"host path {quote(host_path)}: no part of it is under --host-root "
                                     f"{quote(self.directory)} (is its top directory mounted there?)")
                target = here if os.path.isdir(here) else os.path.dirname(here)
                if not os.access(target, os.W_OK) or _read_only_mount(target):
                    raise UsageError(f"host path {quote(host_path)}: {quote(candidate)} is read-only")
                return
            candidate = os.path.dirname(candidate)


def _read_only_mount(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
