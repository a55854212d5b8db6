"""The device plugin run from a config file, against the fake kubelet over real gRPC.

Devices are discovered on a fake sysfs (tests/fake_sysfs.py) whose device
nodes are real (mknod under /dev): a USB resource with and without serial
numbers, a glob resource shared by replicas, hot-plug, stable names across a
restart, kernel uevents, and bad configs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

grpc = pytest.importorskip("grpc")

from cdishim.ctl.plugin.v1beta1 import api_pb2, api_pb2_grpc
from tests.fake_sysfs import FakeSysfs
from tests.integration.kubelet import FakeKubelet, Stream

CTL = str(Path(sys.executable).parent / "cdishim-ctl")
SERIAL, FUSE = "example.com/serial", "example.com/fuse"


class Node:
    """A fake sysfs, real nodes under /dev, a CDI dir, a socket dir and a config file."""

    def __init__(self, work: Path, dev: Path) -> None:
        self.work = work
        self.dev = dev
        self.sysfs = FakeSysfs(work / "sys", dev)
        self.cdi = work / "cdi"
        self.sockets = Path(tempfile.mkdtemp(prefix="cdishim-dpc.", dir="/tmp"))  # short: unix socket paths
        self.config = work / "plugin.yaml"
        self.config.write_text(f"""\
resources:
- name: {SERIAL}
  devices:
  - usb: {{vendor: "0403", product: "6001"}}
- name: {FUSE}
  devices:
  - path: {dev}/fuse*
  replicas: 3
  failRequestsGreaterThanOne: true
""")
        self.processes: list[subprocess.Popen] = []

    def spec_file(self, kind: str) -> Path:
        return self.cdi / f"cdishim-plugin_{kind.replace('/', '_')}.json"

    def mknod(self, name: str) -> None:
        os.mknod(self.dev / name, 0o666 | 0o020000, os.makedev(10, 229))

    def start(self, *extra: str, interval: str = "0.5") -> subprocess.Popen:
        log = open(self.work / "plugin.log", "ab")
        process = subprocess.Popen(
            [CTL, "device-plugin", "--config", str(self.config), "--sysfs-root", str(self.sysfs.root),
             "--cdi-dir", str(self.cdi), "--spec-dir", str(self.cdi), "--socket-dir", str(self.sockets),
             "--interval", interval, *extra],
            env={**os.environ, "CDISHIM_CONFIG": str(self.work / "absent.toml")}, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def stub(self, resource: str) -> api_pb2_grpc.DevicePluginStub:
        channel = grpc.insecure_channel(f"unix://{self.sockets}/cdishim-{resource.replace('/', '-')}.sock")
        return api_pb2_grpc.DevicePluginStub(channel)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(self.sockets, ignore_errors=True)


@pytest.fixture
def node(tmp_path, dev_dir):
    node = Node(tmp_path, dev_dir)
    yield node
    node.close()


@pytest.fixture
def dev_dir():
    directory = Path(tempfile.mkdtemp(prefix="cdishim-dpc-", dir="/dev"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def kubelet(node):
    kubelet = FakeKubelet(node.sockets)
    yield kubelet
    kubelet.stop()


def registrations(kubelet: FakeKubelet, count: int) -> dict[str, api_pb2.RegisterRequest]:
    requests = [kubelet.next_registration() for _ in range(count)]
    return {request.resource_name: request for request in requests}


def allocate(stub, *ids: str) -> api_pb2.ContainerAllocateResponse:
    response = stub.Allocate(api_pb2.AllocateRequest(container_requests=[
        api_pb2.ContainerAllocateRequest(devices_ids=list(ids))]))
    return response.container_responses[0]


NULL_UEVENT = Path("/sys/devices/virtual/mem/null/uevent")


def kernel_uevent() -> bool:
    """Make the kernel send a uevent (a "change" of /dev/null), as a plug would; False where sysfs is read-only."""
    try:
        NULL_UEVENT.write_text("change")
    except OSError:
        return False
    return True


def spec_names_soon(node: Node, kind: str, predicate, timeout_s: float = 5) -> list[str]:
    """The device names of *kind*'s spec file once they satisfy *predicate* (or as they are at the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        names = [d["name"] for d in json.loads(node.spec_file(kind).read_text())["devices"]]
        if predicate(names) or time.monotonic() > deadline:
            return names
        time.sleep(0.05)


def plug_two_adapters(node: Node) -> None:
    """An adapter with a serial on a NUMA-1 controller, and one without a serial."""
    controller = node.sysfs.pci_device("0000:80:14.0", 1)
    node.sysfs.usb_device("3-1", "0403", "6001", serial="A10K", ttys=("ttyUSB0",), parent=controller)
    node.sysfs.usb_device("1-2", "0403", "6001", ttys=("ttyUSB1",))


def test_discovered_resources_are_served_shared_and_injectable(node, kubelet, tmp_path):
    plug_two_adapters(node)
    node.mknod("fuse0")
    node.mknod("fuse1")
    node.start()
    requests = registrations(kubelet, 2)
    assert sorted(requests) == [FUSE, SERIAL]
    assert requests[SERIAL].endpoint == "cdishim-example.com-serial.sock"

    serial = Stream(node.stub(SERIAL))
    assert serial.until(lambda d: len(d) == 2) == {"A10K": "Healthy", "1-2": "Healthy"}
    topology = {device.ID: [numa.ID for numa in device.topology.nodes] for device in serial.last.devices}
    assert topology == {"A10K": [1], "1-2": []}
    fuse_stub = node.stub(FUSE)
    advertised = Stream(fuse_stub).until(lambda d: len(d) == 6)
    assert advertised == {f"fuse{d}::{r}": "Healthy" for d in range(2) for r in range(3)}

    # sharing: spread first, duplicates folded, more than one replica refused
    preferred = fuse_stub.GetPreferredAllocation(api_pb2.PreferredAllocationRequest(container_requests=[
        api_pb2.ContainerPreferredAllocationRequest(available_deviceIDs=sorted(advertised),
                                                    allocation_size=2)]))
    assert list(preferred.container_responses[0].deviceIDs) == ["fuse0::0", "fuse1::0"]
    assert [d.name for d in allocate(fuse_stub, "fuse1::2").cdi_devices] == [f"{FUSE}=fuse1"]
    with pytest.raises(grpc.RpcError) as refused:
        allocate(fuse_stub, "fuse0::0", "fuse1::0")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1 per container (failRequestsGreaterThanOne)" in refused.value.details()

    # the allocated names resolve, through cdishim's own tools, to exactly the discovered nodes
    response = allocate(node.stub(SERIAL), "A10K", "1-2")
    names = [d.name for d in response.cdi_devices]
    assert names == [f"{SERIAL}=A10K", f"{SERIAL}=1-2"]
    specs = [str(node.spec_file(SERIAL)), str(node.spec_file(FUSE))]
    subprocess.run([CTL, "validate", *specs], check=True, capture_output=True)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ociVersion": "1.0.2", "process": {"args": ["true"], "cwd": "/"},
                                  "root": {"path": "rootfs"}, "linux": {}}))
    [(key, value)] = response.annotations.items()
    injected = subprocess.run([CTL, "inject", "--spec-dir", str(node.cdi), "--input", str(config),
                               "--annotation", f"{key}={value}"], check=True, capture_output=True, text=True)
    paths = sorted(device["path"] for device in json.loads(injected.stdout)["linux"]["devices"])
    dev = node.dev
    assert paths == sorted([f"{dev}/bus/usb/003/001", f"{dev}/ttyUSB0", f"{dev}/bus/usb/001/002", f"{dev}/ttyUSB1"])


def test_hot_plug_add_and_remove_and_names_stable_across_restart(node, kubelet):
    """Plugs and unplugs on the fake sysfs, each followed by a kernel uevent as the real ones are.

    With uevents the plugin polls only once a minute, so each change must be
    found through the uevent; where this host cannot make one, by polling.
    """
    uevents = kernel_uevent()
    interval = "60" if uevents else "1"
    plug_two_adapters(node)
    process = node.start(interval=interval)
    registrations(kubelet, 2)
    stream = Stream(node.stub(SERIAL))
    stream.until(lambda d: len(d) == 2)

    node.sysfs.usb_device("1-3", "0403", "6001", serial="LATE", ttys=("ttyUSB2",))
    plugged = time.monotonic()
    kernel_uevent()
    assert stream.until(lambda d: "LATE" in d) == {"A10K": "Healthy", "1-2": "Healthy", "LATE": "Healthy"}
    assert time.monotonic() - plugged < 2
    assert "LATE" in [d["name"] for d in json.loads(node.spec_file(SERIAL).read_text())["devices"]]

    node.sysfs.unplug("3-1")
    kernel_uevent()
    assert stream.until(lambda d: d.get("A10K") == "Unhealthy")["LATE"] == "Healthy"
    # the device is unhealthy first; the spec loses it right after (a new device: the other way round)
    assert spec_names_soon(node, SERIAL, lambda names: "A10K" not in names) == ["1-2", "LATE"]
    with pytest.raises(grpc.RpcError) as refused:
        allocate(node.stub(SERIAL), "A10K")
    assert refused.value.details() == f'unhealthy {SERIAL} devices: "A10K"'

    node.sysfs.usb_device("1-4", "0403", "6001", serial="A10K", ttys=("ttyUSB3",))  # back, in another port
    kernel_uevent()
    assert stream.until(lambda d: d.get("A10K") == "Healthy") == {"A10K": "Healthy", "1-2": "Healthy", "LATE": "Healthy"}
    stream.close()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert not node.spec_file(SERIAL).exists() and not node.spec_file(FUSE).exists()  # no fuse node: never written
    node.start(interval=interval)
    registrations(kubelet, 2)
    assert sorted(Stream(node.stub(SERIAL)).until(lambda d: len(d) == 3)) == ["1-2", "A10K", "LATE"]


def test_a_node_made_after_its_uevent_is_found_by_the_settle_rescan(node, kubelet):
    """The kernel's uevent comes before udev makes the node: the plugin looks again a second later."""
    if not kernel_uevent():
        pytest.skip("cannot make a kernel uevent here (read-only sysfs)")
    node.mknod("fuse0")
    node.start(interval="60")
    registrations(kubelet, 2)
    stream = Stream(node.stub(FUSE))
    stream.until(lambda d: len(d) == 3)
    time.sleep(0.5)  # past the scans that start-up caused
    kernel_uevent()
    started = time.monotonic()
    time.sleep(0.3)  # the plugin has scanned once, and found nothing new
    node.mknod("fuse1")  # as udev would, after the kernel's event
    assert len(stream.until(lambda d: len(d) == 6, timeout_s=5)) == 6
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("config, message", [
    ("resources:\n- name: gpu\n  cdiKind: mock.com/gpu\n", 'resources[0].name: "gpu" is not a valid CDI kind'),
    ("resources:\n- name: a.com/b\n  devices: [{path: dev/x}]\n", '"a.com/b".devices[0].path: "dev/x" must be an absolute glob'),
    ("resources:\n- name: a.com/b\n  cdiKind: a.com/b\n  replicas: 0\n", '"a.com/b".replicas: must be an integer'),
])
def test_a_bad_config_stops_the_plugin_before_it_serves(node, kubelet, config, message):
    node.config.write_text(config)
    process = node.start()
    assert process.wait(timeout=10) == 1
    log = (node.work / "plugin.log").read_text()
    assert log.count("\n") == 1 and message in log and log.startswith("cdishim-ctl: ")
    assert kubelet.registrations.empty() and not node.cdi.exists()
