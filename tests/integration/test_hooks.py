"""cdishim-hook end to end: real runc 1.1.5 runs the hooks a CDI spec asks for.

One spec device carries create-symlinks, update-ldcache (a real library built
with gcc, found by ``ldconfig -p`` inside the container) and chmod hooks;
another moves a veth interface into the container (runc 1.1.5 does not apply
linux.netDevices, so cdishim adds its netdev hook).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.native import build_shared_library

HOOK = str(Path(sys.executable).parent / "cdishim-hook")


def hook(name: str, *args: str) -> dict:
    return {"hookName": "createContainer", "path": HOOK, "args": ["cdishim-hook", name, *args]}


@pytest.fixture
def library(tmp_path) -> Path:
    return build_shared_library(tmp_path / "vendor-lib")


@pytest.fixture
def hook_spec_dir(tmp_path, spec_dir, library) -> Path:
    directory = tmp_path / "hook-cdi"
    directory.mkdir()
    spec = {
        "cdiVersion": "0.5.0", "kind": "mock.com/vendor",
        "devices": [{"name": "lib", "containerEdits": {
            "deviceNodes": [{"path": "/dev/mock/device_0"}],
            "mounts": [{"hostPath": str(library), "containerPath": "/vendor/lib/libmockgpu.so.1",
                        "options": ["ro", "nosuid", "nodev", "bind"]}],
            "hooks": [
                hook("create-symlinks", "--link", "libmockgpu.so.1::/vendor/lib/libmockgpu.so"),
                hook("update-ldcache", "--folder", "/vendor/lib"),
                hook("chmod", "--mode", "0750", "--path", "/opt/tool"),
            ],
        }}],
    }
    (directory / "vendor.json").write_text(json.dumps(spec))
    return directory


def test_symlink_ldcache_and_chmod_hooks(runtime, make_bundle, hook_spec_dir):
    runtime.env["CDI_SPEC_DIRS"] = str(hook_spec_dir)
    bundle = make_bundle({"cdi.k8s.io/v": "mock.com/vendor=lib"},
                         "readlink /vendor/lib/libmockgpu.so; /sbin/ldconfig -p | grep libmockgpu; "
                         "stat -c %a /opt/tool")
    (bundle / "rootfs" / "sbin").mkdir()
    shutil.copy("/sbin/ldconfig", bundle / "rootfs" / "sbin" / "ldconfig")
    (bundle / "rootfs" / "opt").mkdir()
    (bundle / "rootfs" / "opt" / "tool").write_text("#!/bin/sh\n")
    os.chmod(bundle / "rootfs" / "opt" / "tool", 0o600)
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), f"hooks-{os.getpid()}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "libmockgpu.so.1"
    assert "libmockgpu.so.1 (libc6,x86-64) => /vendor/lib/libmockgpu.so.1" in lines[1]
    assert lines[-1] == "750"
    hooks = json.loads((bundle / "config.json").read_text())["hooks"]["createContainer"]
    # One wrapper process for the stage; cdishim-hook's own programs run inside it.
    assert len(hooks) == 1 and hooks[0]["args"][1] == "exec"
    assert hooks[0]["args"].count("--builtin") == 3
    assert ["--", HOOK, "cdishim-hook", "update-ldcache", "--folder", "/vendor/lib"] == \
        hooks[0]["args"][hooks[0]["args"].index("update-ldcache") - 3:][:6]


@pytest.fixture
def veth():
    """A veth pair; the end moved into the container carries a TEST-NET address."""
    names = ("cdishim-v0", "cdishim-v1")
    subprocess.run(["ip", "link", "del", names[0]], capture_output=True)
    subprocess.run(["ip", "link", "add", names[0], "type", "veth", "peer", "name", names[1]], check=True)
    subprocess.run(["ip", "addr", "add", "192.0.2.10/24", "dev", names[0]], check=True)
    yield names[0]
    for name in names:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_net_device_moves_into_the_container_on_runc_1_1(runtime, make_bundle, tmp_path, veth):
    directory = tmp_path / "net-cdi"
    directory.mkdir()
    (directory / "net.json").write_text(json.dumps({
        "cdiVersion": "1.1.0", "kind": "mock.com/nic",
        "devices": [{"name": "port0", "containerEdits": {"netDevices": [{"hostInterfaceName": veth, "name": "ctr0"}]}}],
    }))
    runtime.env["CDI_SPEC_DIRS"] = str(directory)
    bundle = make_bundle({"cdi.k8s.io/n": "mock.com/nic=port0"}, "ip -o addr show ctr0; ip -o link show ctr0")
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), f"net-{os.getpid()}")
    assert result.returncode == 0, result.stderr
    assert "inet 192.0.2.10/24" in result.stdout
    assert ",UP" in result.stdout or "<UP" in result.stdout
    host = subprocess.run(["ip", "link", "show", veth], capture_output=True, text=True)
    assert host.returncode != 0  # gone from the host while the container had it, then destroyed with it


def test_netdev_from_config_as_a_hooks_d_hook_would_run_it(runtime, make_bundle, veth):
    """No CDI here: linux.netDevices set by an engine, the hooks.d hook moving it on runc 1.1.

    The hook runs twice: the second run finds the interface already in the
    container and leaves it alone, as with a runtime that applies netDevices itself.
    """
    bundle = make_bundle({}, "ip -o addr show net7")
    path = bundle / "config.json"
    config = json.loads(path.read_text())
    config["linux"]["netDevices"] = {veth: {"name": "net7"}}
    from_config = {"path": HOOK, "args": ["cdishim-hook", "netdev", "--from-config"]}
    config["hooks"] = {"createRuntime": [from_config, from_config]}
    path.write_text(json.dumps(config))
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), f"netcfg-{os.getpid()}")
    assert result.returncode == 0, result.stderr
    assert "inet 192.0.2.10/24" in result.stdout
