"""Start programs from hooks under confinement: no_new_privs, parent-death signal, own session.

`run_confined` forks and execs directly (no ``subprocess``: it is a hook's
start-up cost on every container create). The program is given as a path or
as an fd opened on the host before any ``chroot``; with an fd it runs through
``fexecve``, so its path is never looked up inside a container's rootfs.
It may also be a Python function, which the forked child runs instead of an
exec, under the same confinement, env, stdin and timeout: cdishim-hook's own
programs run so inside the hook wrapper, without a second interpreter.
python-prctl provides the prctl(2) calls, through its C module ``_prctl``:
its Python module builds capability tables on import (about 2 ms per hook
stage) that the two calls here do not need.
"""

from __future__ import annotations

import os
import select
import sys
import time

SIGKILL = 9  # Linux; `import signal` would pull in enum, ~5 ms of start-up per hook
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType


def confine(prctl: ModuleType) -> None:
    """In a child before exec: no_new_privs, SIGKILL on parent death, own session (*prctl*: ``_prctl``)."""
    prctl.prctl(prctl.PR_SET_NO_NEW_PRIVS, 1)
    prctl.prctl(prctl.PR_SET_PDEATHSIG, SIGKILL)
    os.setsid()


def run_confined(program: str | int | Callable[[], int], argv: list[str], env: Mapping[str, str], *, chroot: str = "",
                 stdin: bytes = b"", capture: bool = False,
                 timeout_s: float | None = None) -> tuple[int | None, bytes]:
    """Run *program* confined, with cwd ``/`` (inside *chroot* when given).

    *stdin* is written to its standard input. With *capture*, its stdout and
    stderr are returned; otherwise it shares ours. Returns (exit status,
    output); the status is ``None`` when its process group was killed for
    running past *timeout_s*. Raises `OSError` when it cannot be executed.
    A function *program* gets *env* as ``os.environ`` and its return value
    (or `SystemExit` code) as the exit status; *argv* is then unused.
    """
    import _prctl  # here, not in each child: a child then only calls it

    stdin_read, stdin_write = os.pipe()
    error_read, error_write = os.pipe2(os.O_CLOEXEC)
    output_read, output_write = os.pipe() if capture else (-1, -1)
    pid = os.fork()
    if pid == 0:  # the child: exec or report why not, never return
        try:
            os.dup2(stdin_read, 0)
            if capture:
                os.dup2(output_write, 1)
                os.dup2(output_write, 2)
            for fd in (stdin_read, stdin_write, error_read, output_read, output_write):
                if fd > 2:
                    os.close(fd)
            confine(_prctl)
            if chroot:
                os.chroot(chroot)
            os.chdir("/")
            if callable(program):
                os.close(error_write)  # started: the parent stops waiting for an exec
                os._exit(_run_in_child(program, env))
            os.execve(program, argv, dict(env))
        except OSError as err:
            os.write(error_write, str(err.errno).encode())
        finally:
            os._exit(127)
    for fd in (stdin_read, error_write, output_write):
        if fd >= 0:
            os.close(fd)
    failure = _read_all(error_read)
    if failure:
        os.close(stdin_write)
        if capture:
            os.close(output_read)
        os.waitpid(pid, 0)
        errno = int(failure)
        raise OSError(errno, os.strerror(errno))
    _feed(stdin_write, stdin)
    return _wait(pid, output_read, None if timeout_s is None else time.monotonic() + timeout_s)


def _run_in_child(function: Callable[[], int], env: Mapping[str, str]) -> int:
    """*function*'s exit status, in a forked child, as if it were a program's main."""
    try:
        os.environ.clear()
        os.environ.update(env)
        status = function()
    except SystemExit as exit_:  # argparse's refusal, for one
        status = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    except BaseException:  # noqa: BLE001 - reported as the program would, then status 1
        import traceback

        traceback.print_exc()
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return status


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _feed(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass  # the program does not read its stdin: fine
    finally:
        os.close(fd)


def _wait(pid: int, output_fd: int, deadline: float | None) -> tuple[int | None, bytes]:
    """Collect output (if captured) and the exit status; kill the group at *deadline*.

    The exit is waited for on a pidfd, so it is seen at once; on a kernel
    without pidfds (before 5.3), by polling every 2 ms.
    """
    chunks: list[bytes] = []
    exited = _exit_fd(pid)
    try:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                os.killpg(pid, SIGKILL)
                os.waitpid(pid, 0)
                if output_fd >= 0:
                    os.close(output_fd)
                return None, b"".join(chunks)
            if output_fd >= 0:
                ready, _, _ = select.select([output_fd], [], [], remaining)
                if ready:
                    chunk = os.read(output_fd, 65536)
                    if chunk:
                        chunks.append(chunk)
                        continue
                    os.close(output_fd)
                    output_fd = -1
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status), b"".join(chunks)
            if exited >= 0:
                select.select([exited], [], [], remaining)
            else:
                time.sleep(0.002 if remaining is None else min(0.002, remaining))
    finally:
        if exited >= 0:
            os.close(exited)


def _exit_fd(pid: int) -> int:
    """A pidfd of *pid* (readable once it exits), or -1 where the kernel has none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # a Python built without it, or a kernel before 5.3
        return -1
