"""Restart a host's container engine through its systemd, then wait until the engine answers again.

The installer runs in a pod that shares the host's PID namespace, so
``nsenter --target 1`` reaches the host's systemd with the host's own
``systemctl``. ``systemctl restart`` returns once the unit is up (containerd
and dockerd notify systemd when ready); the engine's socket answering a
connect is then the sign it serves again. A restart, not a SIGHUP: containerd
and dockerd do not reload their runtime configuration on SIGHUP.
"""

from __future__ import annotations

import socket
import subprocess
import time

from cdishim.ctl.node.hostroot import HostRoot
from cdishim.errors import CdishimError, quote
from cdishim.record import Record

ANSWER_TIMEOUT_S = 60.0
SYSTEMCTL_TIMEOUT_S = 120.0


class EngineService(Record):
    """How an engine runs on a host: its systemd unit and the socket it answers on."""

    unit: str
    socket: str  # as the host sees it


SERVICES: dict[str, EngineService] = {
    "containerd": EngineService(unit="containerd.service", socket="/run/containerd/containerd.sock"),
    "docker": EngineService(unit="docker.service", socket="/run/docker.sock"),
    "crio": EngineService(unit="crio.service", socket="/run/crio/crio.sock"),
}


class RestartError(CdishimError):
    """The engine was not restarted, or did not come back."""


def answers(path: str) -> bool:
    """Whether a unix socket at *path* accepts a connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def wait_for_answer(host: HostRoot, service: EngineService, engine: str, timeout_s: float = ANSWER_TIMEOUT_S) -> None:
    """Wait until the engine's socket answers; `RestartError` naming it after *timeout_s*."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if answers(host.path(service.socket)):
                return
        except CdishimError:
            pass  # its directory is not there (yet)
        if time.monotonic() > deadline:
            raise RestartError(f"{engine} did not come back within {timeout_s:.0f} s: "
                               f"no answer on {quote(service.socket)}")
        time.sleep(0.2)


def restart_engine(host: HostRoot, engine: str) -> str:
    """Restart *engine* through the host's systemd and wait for it; the line to say. podman has no daemon."""
    service = SERVICES.get(engine)
    if service is None:
        return f"{engine} has no daemon to restart: it reads its config on every command"
    command = ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--",
               "systemctl", "restart", service.unit]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S)
    except FileNotFoundError:
        raise RestartError("cannot restart the engine: nsenter is not installed here (util-linux)") from None
    except subprocess.TimeoutExpired:
        raise RestartError(f"systemctl restart {service.unit} did not finish within {SYSTEMCTL_TIMEOUT_S:.0f} s") from None
    if result.returncode != 0:
        detail = " ".join((result.stderr or result.stdout).split()) or f"exit status {result.returncode}"
        raise RestartError(f"systemctl restart {service.unit} on the host failed: {detail}")
    wait_for_answer(host, service, engine)
    return f"restarted {service.unit}; {engine} answers on {service.socket}"
