"""Start and stop real engine daemons (dockerd, containerd) for one test.

Each daemon keeps all its data, state and sockets under the test's temp dir
and listens only on a unix socket there. It runs in its own process group so
that stopping it also stops what it started (dockerd's own containerd).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

STOP_TIMEOUT_S = 20


class Daemon:
    """A daemon process, its log file, and the socket it serves."""

    def __init__(self, argv: Sequence[str], socket: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.socket = socket
        self.log = log
        self._log_handle = open(log, "wb")
        self.process = subprocess.Popen(argv, stdout=self._log_handle, stderr=subprocess.STDOUT,
                                        start_new_session=True, env=env)

    def wait_ready(self, timeout_s: float = 30) -> None:
        """Wait for the socket; fail with the daemon's log when it exits or times out."""
        deadline = time.monotonic() + timeout_s
        while not self.socket.is_socket():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.process.args[0]} did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL what is left."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(STOP_TIMEOUT_S)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # children that outlived the leader
        except ProcessLookupError:
            pass
        self._log_handle.close()


def running(argv: Sequence[str], socket: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[Daemon]:
    """A started daemon for a ``yield from`` fixture; stopped afterwards."""
    daemon = Daemon(argv, socket, log, env)
    try:
        daemon.wait_ready()
        yield daemon
    finally:
        daemon.stop()


def unmount_under(directory: Path | str) -> None:
    """Lazily unmount whatever a killed runtime or daemon left mounted below *directory*, deepest first."""
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo if line.split()[4].startswith(f"{directory}/")]
    for point in sorted(points, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def private_daemon_json(work: Path) -> dict[str, object]:
    """A dockerd config keeping everything under *work*: no iptables, no bridge, vfs storage, a unix socket."""
    return {
        "iptables": False, "bridge": "none", "storage-driver": "vfs",
        "data-root": str(work / "data"), "exec-root": str(work / "exec"),
        "pidfile": str(work / "docker.pid"), "hosts": [f"unix://{work}/docker.sock"],
    }


def private_containerd_config(work: Path) -> str:
    """`containerd config default` with its root, state and socket (``work/containerd.sock``) under *work*."""
    default = subprocess.run(["containerd", "config", "default"], capture_output=True, text=True, check=True).stdout
    return (default.replace('"/run/containerd/containerd.sock"', f'"{work}/containerd.sock"')
            .replace('"/var/lib/containerd"', f'"{work}/root"')
            .replace('"/run/containerd"', f'"{work}/state"'))
