"""Real dockerd and containerd start on config files edited by `cdishim-ctl configure`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cdishim.tomlread import loads as toml_loads
from tests.integration.conftest import require_program
from tests.integration.daemons import private_containerd_config, private_daemon_json, running

DOCKER = "/usr/bin/docker"  # the client of the same docker.io package as dockerd


def ctl(*args: str) -> subprocess.CompletedProcess:
    program = Path(sys.executable).parent / "cdishim-ctl"
    return subprocess.run([str(program), *args], capture_output=True, text=True, timeout=60, check=True)


@pytest.fixture
def short_tmp():
    """A short temp dir: unix socket paths must stay under 108 bytes."""
    directory = Path(tempfile.mkdtemp(prefix="cdishim-it.", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_dockerd_accepts_the_edited_daemon_json(short_tmp, cdishim_bin):
    require_program("dockerd")
    config = short_tmp / "daemon.json"
    config.write_text(json.dumps(private_daemon_json(short_tmp), indent=2))
    ctl("configure", "--engine", "docker", "--config", str(config), "--runtime-path", cdishim_bin, "--set-default")
    socket = short_tmp / "docker.sock"
    for _ in running(["dockerd", "--config-file", str(config)], socket, short_tmp / "dockerd.log"):
        info = subprocess.run(
            [DOCKER, "-H", f"unix://{socket}", "info", "--format", "{{json .Runtimes}}|{{.DefaultRuntime}}"],
            capture_output=True, text=True, timeout=60, check=True).stdout.strip()
        runtimes, default = info.split("|")
        assert json.loads(runtimes)["cdishim"]["path"] == cdishim_bin
        assert default == "cdishim"


def test_containerd_accepts_the_edited_config_toml(short_tmp, cdishim_bin):
    require_program("containerd")
    text = private_containerd_config(short_tmp).replace("SystemdCgroup = false", "SystemdCgroup = true", 1)
    config = short_tmp / "config.toml"
    config.write_text(text)
    assert toml_loads(text)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["runc"][
        "options"]["SystemdCgroup"] is True
    ctl("configure", "--engine", "containerd", "--config", str(config), "--runtime-path", cdishim_bin)
    assert ctl("configure", "--engine", "containerd", "--config", str(config),
               "--runtime-path", cdishim_bin).stderr.endswith("nothing to do\n")

    dump = subprocess.run(["containerd", "--config", str(config), "config", "dump"],
                          capture_output=True, text=True, check=True).stdout
    runtime = toml_loads(dump)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["cdishim"]
    assert runtime["runtime_type"] == "io.containerd.runc.v2"
    assert runtime["options"]["BinaryName"] == cdishim_bin
    assert runtime["options"]["SystemdCgroup"] is True
    assert runtime["container_annotations"] == ["cdi.k8s.io/*"]

    socket = short_tmp / "containerd.sock"
    for _ in running(["containerd", "--config", str(config)], socket, short_tmp / "containerd.log"):
        plugins = subprocess.run(["ctr", "--address", str(socket), "plugins", "ls"],
                                 capture_output=True, text=True, timeout=60, check=True).stdout
        cri = [line.split() for line in plugins.splitlines() if " cri " in f" {line} "]
        assert cri and cri[0][-1] == "ok", plugins
