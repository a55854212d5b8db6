"""The whole node path of pods asking for devices, except the kubelet binary.

containerd 1.6 (no CDI of its own) runs with a config made by
`cdishim-ctl configure --engine containerd`; the test plays kubelet:

1. the device plugin registers with a fake kubelet and lists the devices;
2. GetPreferredAllocation and Allocate pick 4 of them, as kubelet would;
3. over containerd's CRI gRPC API: RunPodSandbox (host network, offline
   imported sandbox image, runtime handler ``cdishim``), then CreateContainer
   with exactly the annotations Allocate returned, then StartContainer;
4. the container's log shows exactly the allocated devices and libraries.

The same path serves two containers that hold replicas of one device,
discovered and shared by the plugin's config file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

grpc = pytest.importorskip("grpc")

from cdishim.ctl.plugin.v1beta1 import api_pb2 as dp
from cdishim.ctl.plugin.v1beta1 import api_pb2_grpc as dp_grpc
from cdishim.record import Record
from tests.integration.conftest import require_program
from tests.integration.cri import api_pb2 as cri
from tests.integration.cri import api_pb2_grpc as cri_grpc
from tests.integration.daemons import private_containerd_config, running
from tests.integration.images import oci_archive, rootfs_tar
from tests.integration.kubelet import FakeKubelet, Stream

BIN = Path(sys.executable).parent
PAUSE = "localhost/cdishim-pause:test"
IMAGE = "localhost/cdishim-busybox:test"
KIND = "mock.com/gpu"


def base_containerd_config(work: Path) -> str:
    """`containerd config default` moved under *work*, with our offline sandbox image."""
    text = (private_containerd_config(work)
            .replace('sandbox_image = "registry.k8s.io/pause:3.6"', f'sandbox_image = "{PAUSE}"')
            # root here lacks CAP_SYS_RESOURCE: the sandbox's oom_score_adj may not go below containerd's
            .replace("restrict_oom_score_adj = false", "restrict_oom_score_adj = true"))
    assert f'sandbox_image = "{PAUSE}"' in text and "restrict_oom_score_adj = true" in text
    return text


def containerd_config(work: Path) -> Path:
    """`base_containerd_config`, then cdishim-ctl configure."""
    config = work / "config.toml"
    config.write_text(base_containerd_config(work))
    subprocess.run([str(BIN / "cdishim-ctl"), "configure", "--engine", "containerd", "--config", str(config),
                    "--runtime-path", str(BIN / "cdishim")], check=True, capture_output=True)
    return config


@contextlib.contextmanager
def device_plugin(work: Path, *args: str) -> Iterator[tuple[dict[str, dp.RegisterRequest], Path]]:
    """The device plugin (annotations only) against a fake kubelet; its registrations by resource, and the socket dir."""
    sockets = work / "device-plugins"
    sockets.mkdir()
    kubelet = FakeKubelet(sockets)
    plugin = subprocess.Popen([str(BIN / "cdishim-ctl"), "device-plugin", *args, "--socket-dir", str(sockets),
                               "--strategy", "cdi-annotations"],
                              env={**os.environ, "CDISHIM_CONFIG": str(work / "absent.toml")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        registration = kubelet.next_registration()
        yield {registration.resource_name: registration}, sockets
    finally:
        plugin.terminate()
        plugin.wait(10)
        kubelet.stop()


def allocate_four(work: Path, spec_dir: Path) -> dict[str, str]:
    """Run the device plugin against a fake kubelet; return the annotations of a 4-device Allocate."""
    with device_plugin(work, "--kind", KIND, "--spec-dir", str(spec_dir)) as (registrations, sockets), \
            grpc.insecure_channel(f"unix://{sockets}/{registrations[KIND].endpoint}") as channel:
        stub = dp_grpc.DevicePluginStub(channel)
        stream = Stream(stub)
        devices = stream.until(lambda d: len(d) == 8)
        stream.close()
        healthy = sorted(device for device, health in devices.items() if health == "Healthy")
        chosen = stub.GetPreferredAllocation(dp.PreferredAllocationRequest(container_requests=[
            dp.ContainerPreferredAllocationRequest(available_deviceIDs=healthy, allocation_size=4)]))
        ids = list(chosen.container_responses[0].deviceIDs)
        response = stub.Allocate(dp.AllocateRequest(container_requests=[dp.ContainerAllocateRequest(devices_ids=ids)]))
        return dict(response.container_responses[0].annotations)




def import_images(work: Path, socket: Path) -> None:
    layer = rootfs_tar(work)
    for name, cmd in ((PAUSE, ["/bin/sleep", "100000"]), (IMAGE, ["/bin/sh"])):
        archive = oci_archive(layer, work / f"{name.rsplit('/', 1)[1]}.tar", name, ["PATH=/bin"], cmd)
        subprocess.run(["ctr", "--address", str(socket), "--namespace", "k8s.io", "image", "import", str(archive)],
                       check=True, capture_output=True, timeout=120)


def wait_exited(runtime, container_id: str, timeout_s: float = 60) -> cri.ContainerStatus:
    deadline = time.monotonic() + timeout_s
    while True:
        status = runtime.ContainerStatus(cri.ContainerStatusRequest(container_id=container_id)).status
        if status.state == cri.CONTAINER_EXITED or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def log_lines(path: Path) -> list[str]:
    """The text of a CRI log file: `<time> <stream> <tag> <text>` per line."""
    return [line.split(" ", 3)[3] for line in path.read_text().splitlines() if line.count(" ") >= 3 and
            line.split(" ", 3)[3]]


class Container(Record):
    """A container of a test pod: what it runs and the annotations Allocate gave it."""

    name: str
    command: list[str]
    annotations: dict[str, str]


def run_pod(work: Path, spec_dirs: list[Path], containers: list[Container], config: Path | None = None,
            wrapper: Sequence[str] = ()) -> dict[str, list[str]]:
    """Run one host-network pod of *containers* under containerd 1.6 with cdishim; each one's log lines.

    Each container must exit 0. containerd runs with *config* (default: the
    one `cdishim-ctl configure` made), started through *wrapper* if given,
    and cdishim reads *spec_dirs*.
    """
    config = config or containerd_config(work)
    socket = work / "containerd.sock"
    env = {**os.environ, "CDI_SPEC_DIRS": ":".join(map(str, spec_dirs)), "CDISHIM_CONFIG": str(work / "absent.toml"),
           "CDISHIM_CACHE_DIR": str(work / "cache")}
    env.pop("CDISHIM_HANDED_OVER_TO", None)
    for _ in running([*wrapper, "containerd", "--config", str(config)], socket, work / "containerd.log", env=env):
        import_images(work, socket)
        with grpc.insecure_channel(f"unix://{socket}") as channel:
            runtime = cri_grpc.RuntimeServiceStub(channel)
            assert runtime.Version(cri.VersionRequest(version="v1")).runtime_name == "containerd"
            sandbox_config = cri.PodSandboxConfig(
                metadata=cri.PodSandboxMetadata(name="device-pod", uid="uid-1", namespace="default"),
                log_directory=str(work / "logs"),  # no hostname: a host-network pod has the node's
                linux=cri.LinuxPodSandboxConfig(security_context=cri.LinuxSandboxSecurityContext(
                    namespace_options=cri.NamespaceOption(network=cri.NODE))))
            pod = runtime.RunPodSandbox(cri.RunPodSandboxRequest(config=sandbox_config, runtime_handler="cdishim"),
                                        timeout=120).pod_sandbox_id
            try:
                for container in containers:
                    container_id = runtime.CreateContainer(cri.CreateContainerRequest(
                        pod_sandbox_id=pod, sandbox_config=sandbox_config,
                        config=cri.ContainerConfig(
                            metadata=cri.ContainerMetadata(name=container.name), image=cri.ImageSpec(image=IMAGE),
                            command=container.command, annotations=container.annotations,
                            log_path=f"{container.name}.log")), timeout=120).container_id
                    runtime.StartContainer(cri.StartContainerRequest(container_id=container_id), timeout=120)
                    status = wait_exited(runtime, container_id)
                    assert (status.state, status.exit_code) == (cri.CONTAINER_EXITED, 0), status
                    runtime.RemoveContainer(cri.RemoveContainerRequest(container_id=container_id))
            finally:
                runtime.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=60)
                runtime.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=60)
    return {container.name: log_lines(work / "logs" / f"{container.name}.log") for container in containers}


def test_pod_asking_for_four_gpus_gets_exactly_the_allocated_ones(work, spec_dir, cdishim_bin):
    require_program("containerd")
    annotations = allocate_four(work, spec_dir)
    [(key, value)] = annotations.items()
    assert key.startswith("cdi.k8s.io/cdishim_mock.com_gpu_")
    allocated = sorted(name.partition("=")[2] for name in value.split(","))
    assert len(allocated) == 4

    command = ["/bin/sh", "-c", "ls /dev/mock /mock/lib; /usr/local/bin/list_device.sh"]
    lines = run_pod(work, [spec_dir], [Container(name="app", command=command, annotations=annotations)])["app"]
    assert lines[:len(allocated) + 1] == ["/dev/mock:", *allocated]
    assert lines[len(allocated) + 1:2 * len(allocated) + 2] == ["/mock/lib:", *(f"{d}.so" for d in allocated)]
    assert lines[-1] == "4 mock device(s)"


def test_two_containers_holding_replicas_of_one_shared_device_both_see_it(work, cdishim_bin):
    """A discovered device shared by 2 replicas: Allocate of each replica names the device; both containers get it."""
    require_program("containerd")
    nodes = Path(tempfile.mkdtemp(prefix="cdishim-k8s-", dir="/dev"))
    try:
        os.mknod(nodes / "shared0", 0o666 | 0o020000, os.makedev(10, 229))
        config = work / "plugin.yaml"
        config.write_text(f"resources:\n- name: example.com/shared\n  devices:\n  - path: {nodes}/shared*\n"
                          "  replicas: 2\n")
        cdi = work / "cdi"
        with device_plugin(work, "--config", str(config), "--cdi-dir", str(cdi), "--spec-dir", str(cdi),
                           "--sysfs-root", str(work / "no-sysfs")) as (registrations, sockets):
            with grpc.insecure_channel(f"unix://{sockets}/{registrations['example.com/shared'].endpoint}") as channel:
                stub = dp_grpc.DevicePluginStub(channel)
                assert sorted(Stream(stub).until(lambda d: len(d) == 2)) == ["shared0::0", "shared0::1"]
                allocations = [dict(stub.Allocate(dp.AllocateRequest(container_requests=[
                    dp.ContainerAllocateRequest(devices_ids=[replica])])).container_responses[0].annotations)
                    for replica in ("shared0::0", "shared0::1")]
            spec_copy = work / "cdi-copy"  # the plugin takes its spec away when it stops
            shutil.copytree(cdi, spec_copy)
        assert [list(a.values()) for a in allocations] == [["example.com/shared=shared0"]] * 2
        command = ["/bin/sh", "-c", f"ls {nodes}"]
        logs = run_pod(work, [spec_copy], [Container(name=f"app{n}", command=command, annotations=allocation)
                                          for n, allocation in enumerate(allocations)])
        assert logs == {"app0": ["shared0"], "app1": ["shared0"]}
    finally:
        shutil.rmtree(nodes, ignore_errors=True)
