"""``chmod --mode MODE --path PATH ...``: change modes inside the rootfs.

The path's directories are resolved inside the rootfs; a final symlink is
refused, not followed (``chmod`` on a link would change its target, which
an image controls). The mode is set through ``/proc/self/fd`` on an
``O_PATH`` fd of the resolved file, so what was checked is what changes.
"""

from __future__ import annotations

import os
import stat

from cdishim.errors import HookError, quote
from cdishim.hooks.inroot import resolve


def parse_mode(text: str) -> int:
    """An octal mode such as ``755`` or ``0644``; setuid/setgid/sticky bits are refused."""
    try:
        mode = int(text, 8)
    except ValueError:
        raise HookError(f"--mode {quote(text)}: expected an octal mode like 0755") from None
    if mode < 0 or mode > 0o777:
        raise HookError(f"--mode {quote(text)}: only permission bits (at most 0777) may be set")
    return mode


def chmod_in_root(root_fd: int, path: str, mode: int) -> None:
    """Set *mode* on *path* inside the rootfs, not following a final symlink."""
    fd = resolve(root_fd, path, follow_last=False)
    try:
        if stat.S_ISLNK(os.fstat(fd).st_mode):
            raise HookError(f"chmod {quote(path)}: is a symbolic link; refusing to follow it")
        os.chmod(f"/proc/self/fd/{fd}", mode)
    except OSError as err:
        raise HookError(f"chmod {quote(path)}: {err.strerror}") from err
    finally:
        os.close(fd)


def run(root_fd: int, mode: str, paths: list[str]) -> None:
    """chmod every ``--path``."""
    bits = parse_mode(mode)
    for path in paths:
        chmod_in_root(root_fd, path, bits)
