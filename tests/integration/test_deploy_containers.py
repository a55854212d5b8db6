"""The DaemonSets' pods, run by a real dockerd from the `make image` image, as their manifests say.

Each pod spec is read from deploy/kubernetes and turned into `docker run`
arguments: its command, env, privileges and host-PID setting, and its
volumes, each hostPath mapped to the same path under a temp dir that plays
the host. So the manifests and what is tested cannot drift. The one change:
the installer's CDISHIM_RESTART is `none`, as this host has no systemd to
restart containerd through.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import REPO, TAG, require_program
from tests.integration.test_node_install import INSTALLED, VERSION, host_view, snapshot

grpc = pytest.importorskip("grpc")

from tests.integration.kubelet import FakeKubelet

KUBERNETES = REPO / "deploy" / "kubernetes"


def pod_spec(manifest: str) -> dict:
    return yaml.safe_load((KUBERNETES / manifest).read_text())["spec"]["template"]["spec"]


def docker_args(pod: dict, container: dict, host: Path, env: dict[str, str] | None = None,
                files: dict[str, Path] | None = None) -> list[str]:
    """`docker run` arguments for *container* of *pod*: hostPaths under *host* (/dev: this machine's own,
    which a container needs to start), configMaps from *files*."""
    args = ["--rm", "--network", "none"]
    if pod.get("hostPID"):
        args += ["--pid", "host"]
    security = container.get("securityContext", {})
    assert not security.get("privileged")  # this machine's root cannot grant every capability
    # seLinuxOptions and the AppArmor annotation: this machine has neither SELinux nor AppArmor
    args += [f"--cap-add={capability}" for capability in security.get("capabilities", {}).get("add", [])]
    args += [f"--cap-drop={capability}" for capability in security.get("capabilities", {}).get("drop", [])]
    if security.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    for entry in container.get("env", []):
        args += ["--env", f"{entry['name']}={(env or {}).get(entry['name'], entry['value'])}"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "hostPath" in volume and volume["hostPath"]["path"] == "/dev":
            source = Path("/dev")
        elif "hostPath" in volume:
            source = host / volume["hostPath"]["path"].lstrip("/")
            source.mkdir(parents=True, exist_ok=True)
        else:
            source = (files or {})[volume["configMap"]["name"]]
        args += ["--volume", f"{source}:{mount['mountPath']}{':ro' if mount.get('readOnly') else ''}"]
    return [*args, TAG, *container["command"]]


@pytest.fixture
def host():
    """A temp dir playing the host's /: containerd's default config, and nothing of cdishim."""
    require_program("containerd")
    root = Path(tempfile.mkdtemp(prefix="cdishim-host.", dir="/tmp"))
    (root / "etc/containerd").mkdir(parents=True)
    default = subprocess.run(["containerd", "config", "default"], capture_output=True, text=True, check=True).stdout
    (root / "etc/containerd/config.toml").write_text(default)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def run_until(docker: list[str], args: list[str], done: Callable[[str], bool], timeout_s: float = 120) -> str:
    """Start a container detached until *done*(its log so far); return that log. The container is removed."""
    name = f"cdishim-test-{time.monotonic_ns()}"
    subprocess.run([*docker, "run", "--detach", "--name", name, *args], check=True, capture_output=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            logs = subprocess.run([*docker, "logs", name], capture_output=True, text=True)
            log = logs.stdout + logs.stderr
            if done(log):
                return log
            running = subprocess.run([*docker, "inspect", "--format", "{{.State.Running}}", name],
                                     capture_output=True, text=True).stdout.strip()
            assert running == "true" and time.monotonic() < deadline, log
            time.sleep(0.5)
    finally:
        subprocess.run([*docker, "rm", "--force", name], capture_output=True)


def test_the_installer_pod_installs_then_a_second_run_writes_nothing_and_the_uninstaller_restores(docker, host):
    config = host / "etc/containerd/config.toml"
    before = config.read_bytes()
    installer = pod_spec("node-installer.yaml")
    [container] = installer["containers"]
    ready = host / "run/cdishim/installed"
    log = run_until(docker, docker_args(installer, container, host, {"CDISHIM_RESTART": "none"}),
                    lambda log: ready.exists())
    tree = ready.read_text().strip()
    assert tree.startswith(f"{VERSION}-") and f"installed /opt/cdishim/{tree}" in log
    assert f'BinaryName = "{INSTALLED}"' in config.read_text() and str(host) not in config.read_text()
    # the tree the image made runs on this host, without its Python
    version = subprocess.run([*host_view(host), INSTALLED, "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith(f"cdishim version {VERSION}\n"), version.stderr

    unchanged = snapshot(host)
    again = run_until(docker, docker_args(installer, container, host, {"CDISHIM_RESTART": "none"}),
                      lambda log: "nothing to do" in log or "wrote" in log)
    assert again.startswith(f"nothing to do: /opt/cdishim/{tree} is installed and registered with containerd")
    assert snapshot(host) == unchanged

    uninstaller = pod_spec("uninstall/node-uninstaller.yaml")
    [container] = uninstaller["containers"]
    first = run_until(docker, docker_args(uninstaller, container, host, {"CDISHIM_RESTART": "none"}),
                      lambda log: "stays until then" in log)
    assert config.read_bytes() == before and "restart containerd for the change to take effect" in first
    run_until(docker, docker_args(uninstaller, container, host, {"CDISHIM_RESTART": "none"}),
              lambda log: not ready.exists() and not (host / "opt/cdishim").exists())  # once restarted: the rest


def test_the_device_plugin_pod_waits_for_the_runtime_then_registers(docker, host, spec_dir):
    plugin = pod_spec("device-plugin.yaml")
    [wait] = plugin["initContainers"]
    [container] = plugin["containers"]
    config_map = yaml.safe_load((KUBERNETES / "device-plugin-config.yaml").read_text())
    files = host / "configmap"
    files.mkdir()
    for name, text in config_map["data"].items():
        (files / name).write_text(text)
    shutil.copytree(spec_dir, host / "etc/cdi")
    sockets = host / "var/lib/kubelet/device-plugins"
    sockets.mkdir(parents=True)
    kubelet = FakeKubelet(sockets)
    try:
        waiting = subprocess.Popen([*docker, "run", *docker_args(plugin, wait, host)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(3)
        assert waiting.poll() is None  # no readiness file: the init container keeps waiting
        (host / "run/cdishim/installed").write_text(f"{VERSION}-0123456789ab\n")
        assert waiting.wait(timeout=30) == 0 and waiting.stdout.read().strip() == f"{VERSION}-0123456789ab"

        args = docker_args(plugin, container, host, files={config_map["metadata"]["name"]: files})
        name = f"cdishim-plugin-{time.monotonic_ns()}"
        subprocess.run([*docker, "run", "--detach", "--name", name, *args[1:]], check=True, capture_output=True)
        try:
            names = {kubelet.next_registration(timeout_s=60).resource_name for _ in range(3)}
        finally:
            subprocess.run([*docker, "rm", "--force", name], capture_output=True)
        assert names == {"mock.com/gpu", "example.com/fuse", "example.com/serial"}
    finally:
        kubelet.stop()
