"""Docker 20.10 (no CDI of its own) runs containers through cdishim.

dockerd runs with a daemon.json written by `cdishim-ctl configure`, data
and sockets under a temp dir, no iptables and no bridge; the image is a
busybox rootfs imported offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.integration.conftest import require_program
from tests.integration.daemons import private_daemon_json, running
from tests.integration.images import rootfs_tar

DOCKER = "/usr/bin/docker"  # the client of the same docker.io package as dockerd
IMAGE = "cdishim-busybox:test"
SHOW = "ls /dev/mock; ls /mock/lib; echo MOCK_GPU_DRIVER=$MOCK_GPU_DRIVER; env | grep -c ^CDI_DEVICES= || true"


@pytest.fixture(scope="module")
def docker(spec_dir, cdishim_bin):
    """A dockerd with cdishim registered as the default runtime, and its client command."""
    require_program("dockerd")
    work = Path(tempfile.mkdtemp(prefix="cdishim-docker.", dir="/tmp"))
    socket = work / "docker.sock"
    config = work / "daemon.json"
    config.write_text(json.dumps(private_daemon_json(work)))
    ctl = Path(sys.executable).parent / "cdishim-ctl"
    subprocess.run([str(ctl), "configure", "--engine", "docker", "--config", str(config),
                    "--runtime-path", cdishim_bin, "--set-default"], check=True, capture_output=True)
    env = {**os.environ, "CDI_SPEC_DIRS": str(spec_dir), "CDISHIM_CONFIG": str(work / "absent.toml"),
           "CDISHIM_CACHE_DIR": str(work / "cache")}
    env.pop("CDISHIM_HANDED_OVER_TO", None)
    daemon_argv = ["dockerd", "--config-file", str(config)]
    try:
        for _ in running(daemon_argv, socket, work / "dockerd.log", env=env):
            client = [DOCKER, "-H", f"unix://{socket}"]
            tar = rootfs_tar(work)
            subprocess.run([*client, "import", "-", IMAGE], input=tar, capture_output=True, check=True)
            yield client
    finally:
        shutil.rmtree(work, ignore_errors=True)


def docker_run(client, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*client, "run", "--rm", "--network", "none", *args], capture_output=True, text=True,
                          timeout=120)


def test_env_request_shows_exactly_the_devices(docker):
    result = docker_run(docker, "--runtime=cdishim", "-e", "CDI_DEVICES=mock.com/gpu=device_0,mock.com/gpu=device_2",
                        IMAGE, "sh", "-c", SHOW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["device_0", "device_2", "device_0.so", "device_2.so", "MOCK_GPU_DRIVER=1.0", "0"]


def test_default_runtime_runs_a_container_that_requests_nothing(docker):
    result = docker_run(docker, IMAGE, "sh", "-c", "ls /dev/mock 2>&1; echo done")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("done") and "device_" not in result.stdout


def test_unresolvable_device_fails_with_cdishim_message(docker):
    result = docker_run(docker, "-e", "CDI_DEVICES=mock.com/gpu=device_99", IMAGE, "true")
    assert result.returncode != 0
    assert "unresolvable CDI devices mock.com/gpu=device_99" in result.stderr
