"""Start programs from hooks under confinement: no_new_privs, parent-death signal, chroot.

python-prctl provides the prctl(2) calls. `run_chrooted` executes a program
that was opened on the host *before* the chroot (``fexecve``), so the path
of the program is never looked up inside the container's rootfs.
"""

from __future__ import annotations

import os
import select
import signal
import time


def confine() -> None:
    """In a child before exec: no_new_privs, SIGKILL on parent death, own session."""
    import prctl

    prctl.set_no_new_privs(1)
    prctl.set_pdeathsig(signal.SIGKILL)
    os.setsid()


def run_chrooted(program_fd: int, argv: list[str], env: dict[str, str], rootfs: str,
                 timeout_s: float) -> tuple[int | None, bytes]:
    """Run the program open at *program_fd* chrooted into *rootfs* with cwd ``/``.

    Returns (exit status, combined stdout and stderr); the status is ``None``
    when the program was killed for running past *timeout_s*.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        try:
            os.close(read_end)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            confine()
            os.chroot(rootfs)
            os.chdir("/")
            os.execve(program_fd, argv, env)
        except BaseException as err:  # noqa: BLE001 - report and leave the forked copy at once
            os.write(2, f"cannot start {argv[0]}: {err}\n".encode())
        finally:
            os._exit(127)
    os.close(write_end)
    output, status = _collect(pid, read_end, time.monotonic() + timeout_s)
    return status, output


def _collect(pid: int, fd: int, deadline: float) -> tuple[bytes, int | None]:
    chunks = []
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return b"".join(chunks), None
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks), os.waitstatus_to_exitcode(status)
