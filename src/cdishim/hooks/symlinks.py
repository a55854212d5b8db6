"""``create-symlinks --link TARGET::LINK ...``: make symlinks inside the rootfs.

LINK's parent is resolved inside the rootfs (created if missing) and the
link is replaced atomically: a new link under a temporary name, then a
rename over LINK. TARGET is written into the link as given; it is resolved
only later, by processes inside the container.
"""

from __future__ import annotations

import os

from cdishim.errors import HookError, quote
from cdishim.hooks.inroot import replace_entry, resolve_parent


def parse_link(argument: str) -> tuple[str, str]:
    """``TARGET::LINK`` as (target, link); the link must be absolute."""
    target, sep, link = argument.partition("::")
    if not sep or not target or not link.startswith("/"):
        raise HookError(f"--link {quote(argument)}: expected TARGET::LINK with an absolute LINK")
    return target, link


def create_symlink(root_fd: int, target: str, link: str) -> None:
    """Point *link* (a path in the container) at *target*, replacing what is there."""
    dir_fd, name = resolve_parent(root_fd, link, create_dirs=True)
    try:
        if _points_to(dir_fd, name, target):
            return
        replace_entry(dir_fd, name, lambda temp: os.symlink(target, temp, dir_fd=dir_fd))
    except OSError as err:
        raise HookError(f"cannot create symlink {quote(link)} -> {quote(target)}: {err.strerror}") from err
    finally:
        os.close(dir_fd)


def _points_to(dir_fd: int, name: str, target: str) -> bool:
    """Whether *name* is already a symlink to *target*."""
    try:
        return os.readlink(name, dir_fd=dir_fd) == target
    except OSError:
        return False


def run(root_fd: int, links: list[str]) -> None:
    """Create every ``--link``."""
    for argument in links:
        create_symlink(root_fd, *parse_link(argument))
