"""Resolve paths inside a container rootfs without ever leaving it.

Every path from a spec or hook argument is resolved one component at a time
with ``O_PATH | O_NOFOLLOW`` file descriptors relative to an fd of the rootfs,
as if the rootfs were ``/`` (the semantics of ``openat2(RESOLVE_IN_ROOT)``):

- an absolute symlink restarts from the rootfs, not from the host's ``/``;
- ``..`` never climbs above the rootfs;
- a component swapped for a symlink between two steps is resolved the same
  way, since each step starts from an fd, never from a path string.

This is the defence against the symlink attacks of CVE-2024-0132 and
CVE-2025-23267: an image can make ``/etc`` a link to ``/../../etc``, and the
hook still writes inside the rootfs.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable

from cdishim.errors import HookError, quote

MAX_SYMLINKS = 40  # as the kernel's path walk (ELOOP)
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


def open_root(rootfs: str) -> int:
    """An ``O_PATH`` fd of the rootfs directory (given by the engine: trusted)."""
    try:
        return os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise HookError(f"cannot open rootfs {quote(rootfs)}: {err.strerror}") from err


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part and part != "."]


def resolve(root_fd: int, path: str, create_dirs: bool = False, follow_last: bool = True) -> int:
    """An ``O_PATH`` fd of *path* resolved inside the rootfs (the caller closes it).

    With *create_dirs*, missing directories are created (mode 0755) along the
    way, the last component included. With *follow_last* false, a final
    symlink is returned itself rather than followed.
    """
    stack = [os.dup(root_fd)]
    todo = deque(_parts(path))
    links = 0
    try:
        while todo:
            name = todo.popleft()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            fd = _open_step(stack[-1], name, create_dirs, path)
            info = os.fstat(fd)
            if stat.S_ISLNK(info.st_mode) and (todo or follow_last):
                links += 1
                target = os.readlink(name, dir_fd=stack[-1])
                os.close(fd)
                if links > MAX_SYMLINKS:
                    raise HookError(f"{quote(path)}: too many levels of symbolic links")
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                todo.extendleft(reversed(_parts(target)))
                continue
            if todo and not stat.S_ISDIR(info.st_mode):
                os.close(fd)
                raise HookError(f"{quote(path)}: {quote(name)} is not a directory")
            stack.append(fd)
        return stack.pop()
    finally:
        for fd in stack:
            os.close(fd)


def _open_step(dir_fd: int, name: str, create: bool, path: str) -> int:
    try:
        return os.open(name, _PATH_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError as err:
        if not create:
            raise HookError(f"{quote(path)}: no such file or directory in the rootfs") from err
    except OSError as err:
        raise HookError(f"{quote(path)}: {err.strerror}") from err
    try:
        os.mkdir(name, 0o755, dir_fd=dir_fd)
    except FileExistsError:
        pass  # made by someone else meanwhile: opened below like any other
    except OSError as err:
        raise HookError(f"{quote(path)}: cannot create {quote(name)}: {err.strerror}") from err
    return os.open(name, _PATH_FLAGS, dir_fd=dir_fd)


def split_last(path: str) -> tuple[str, str]:
    """(parent path, final name) of an in-container path; the name must be a real entry."""
    parts = _parts(path)
    if not parts or parts[-1] == "..":
        raise HookError(f"{quote(path)}: must name a file, not a directory like / or ..")
    return "/" + "/".join(parts[:-1]), parts[-1]


def resolve_parent(root_fd: int, path: str, create_dirs: bool = False) -> tuple[int, str]:
    """An fd of *path*'s parent directory inside the rootfs, and the final name."""
    parent, name = split_last(path)
    fd = resolve(root_fd, parent, create_dirs=create_dirs)
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise HookError(f"{quote(path)}: parent is not a directory")
    return fd, name


def replace_entry(dir_fd: int, name: str, make_temp: Callable[[str], None]) -> None:
    """Make a new entry with *make_temp* under a temporary name in *dir_fd*, then rename it over *name*.

    Readers see the old entry or the new one. On error the temporary entry
    is removed and the `OSError` re-raised.
    """
    temp = f".{name}.cdishim-{os.getpid()}"
    try:
        make_temp(temp)
        os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        try:
            os.unlink(temp, dir_fd=dir_fd)
        except OSError:
            pass
        raise


def write_file(root_fd: int, path: str, data: bytes, mode: int = 0o644) -> None:
    """Atomically write *data* to *path* inside the rootfs, creating parent dirs."""
    dir_fd, name = resolve_parent(root_fd, path, create_dirs=True)

    def write_temp(temp: str) -> None:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
        try:
            os.write(fd, data)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)

    try:
        replace_entry(dir_fd, name, write_temp)
    except OSError as err:
        raise HookError(f"cannot write {quote(path)} in the rootfs: {err.strerror}") from err
    finally:
        os.close(dir_fd)
