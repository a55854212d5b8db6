"""The CDI device plugin against a fake kubelet built on the same proto (real gRPC, real sockets).

The fake kubelet serves Registration on a temp ``kubelet.sock``; the test
then talks to the plugin as kubelet would: ListAndWatch and Allocate.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

grpc = pytest.importorskip("grpc")

from cdishim.ctl.plugin.v1beta1 import api_pb2, api_pb2_grpc
from tests.hostile_specdir import CASES
from tests.integration.kubelet import FakeKubelet, Stream

KIND = "mock.com/gpu"
ENDPOINT = "cdishim-mock.com-gpu.sock"
CTL = str(Path(sys.executable).parent / "cdishim-ctl")


@pytest.fixture
def node(tmp_path):
    """Device nodes under /dev, a spec dir with their generated spec, and a socket dir."""
    nodes = Path(tempfile.mkdtemp(prefix="cdishim-dp-", dir="/dev"))
    sockets = Path(tempfile.mkdtemp(prefix="cdishim-dp.", dir="/tmp"))
    specs = tmp_path / "cdi"
    for number in range(4):
        os.mknod(nodes / f"gpu{number}", 0o666 | 0o020000, os.makedev(89, 1))
    subprocess.run([CTL, "generate", "--kind", KIND, "--device-glob", f"{nodes}/gpu*", "--all-device",
                    "--output", str(specs / "gpu.yaml")], check=True, capture_output=True)
    yield nodes, specs, sockets
    shutil.rmtree(nodes, ignore_errors=True)
    shutil.rmtree(sockets, ignore_errors=True)


@pytest.fixture
def start_plugin(node, tmp_path):
    _, specs, sockets = node
    processes = []

    def start() -> subprocess.Popen:
        env = {**os.environ, "CDISHIM_CONFIG": str(tmp_path / "absent.toml")}
        log = open(tmp_path / "plugin.log", "ab")
        process = subprocess.Popen([CTL, "device-plugin", "--kind", KIND, "--spec-dir", str(specs),
                                    "--socket-dir", str(sockets), "--interval", "0.3"],
                                   env=env, stdout=log, stderr=log)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def stub_for(sockets: Path):
    channel = grpc.insecure_channel(f"unix://{sockets}/{ENDPOINT}")
    return channel, api_pb2_grpc.DevicePluginStub(channel)


@dataclass
class Registered:
    """A plugin process that registered with a running fake kubelet, and a client of it."""

    process: subprocess.Popen
    request: api_pb2.RegisterRequest
    stub: api_pb2_grpc.DevicePluginStub


@pytest.fixture
def registered(node, start_plugin):
    """kubelet first, then the plugin; stopped in reverse afterwards."""
    _, _, sockets = node
    kubelet = FakeKubelet(sockets)
    try:
        process = start_plugin()
        request = kubelet.next_registration()
        channel, stub = stub_for(sockets)
        with channel:
            yield Registered(process=process, request=request, stub=stub)
    finally:
        kubelet.stop()


def test_registers_and_lists_the_kinds_devices(registered):
    request, stub = registered.request, registered.stub
    assert (request.version, request.endpoint, request.resource_name) == ("v1beta1", ENDPOINT, KIND)
    assert request.options.get_preferred_allocation_available and not request.options.pre_start_required
    stream = Stream(stub)
    devices = stream.until(lambda d: True)
    assert devices == {f"gpu{n}": "Healthy" for n in range(4)}  # no `all`: it bundles the others
    options = stub.GetDevicePluginOptions(api_pb2.Empty())
    assert options.get_preferred_allocation_available
    preferred = stub.GetPreferredAllocation(api_pb2.PreferredAllocationRequest(container_requests=[
        api_pb2.ContainerPreferredAllocationRequest(available_deviceIDs=["gpu3", "gpu1", "gpu2"],
                                                    must_include_deviceIDs=["gpu2"], allocation_size=2)]))
    assert list(preferred.container_responses[0].deviceIDs) == ["gpu2", "gpu1"]
    stream.close()


def test_spec_changes_and_missing_nodes_are_streamed(node, registered):
    nodes, specs, _ = node
    stub = registered.stub
    stream = Stream(stub)
    stream.until(lambda d: len(d) == 4)
    extra = Path(tempfile.mkdtemp(prefix="cdishim-dp-extra-", dir="/dev"))
    try:
        os.mknod(extra / "spare0", 0o666 | 0o020000, os.makedev(89, 1))
        subprocess.run([CTL, "generate", "--kind", KIND, "--device-glob", f"{extra}/spare*",
                        "--output", str(specs / "spare.yaml")], check=True, capture_output=True)
        assert "spare0" in stream.until(lambda d: "spare0" in d)
        (specs / "spare.yaml").unlink()
        assert stream.until(lambda d: "spare0" not in d) == {f"gpu{n}": "Healthy" for n in range(4)}
    finally:
        shutil.rmtree(extra, ignore_errors=True)
    (nodes / "gpu1").unlink()
    devices = stream.until(lambda d: d.get("gpu1") == "Unhealthy")
    assert devices == {"gpu0": "Healthy", "gpu1": "Unhealthy", "gpu2": "Healthy", "gpu3": "Healthy"}

    with pytest.raises(grpc.RpcError) as refused:
        stub.Allocate(api_pb2.AllocateRequest(container_requests=[
            api_pb2.ContainerAllocateRequest(devices_ids=["gpu1"])]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == 'unhealthy mock.com/gpu devices: "gpu1"'
    stream.close()


def test_allocate_answers_with_cdi_names_and_annotations(registered):
    stub = registered.stub
    Stream(stub).until(lambda d: len(d) == 4)
    response = stub.Allocate(api_pb2.AllocateRequest(container_requests=[
        api_pb2.ContainerAllocateRequest(devices_ids=["gpu0", "gpu2"]),
        api_pb2.ContainerAllocateRequest(devices_ids=["gpu3"]),
    ]))
    first, second = response.container_responses
    assert [d.name for d in first.cdi_devices] == ["mock.com/gpu=gpu0", "mock.com/gpu=gpu2"]
    assert dict(first.annotations) == {"cdi.k8s.io/cdishim_mock.com_gpu_gpu0_gpu2": "mock.com/gpu=gpu0,mock.com/gpu=gpu2"}
    assert dict(second.annotations) == {"cdi.k8s.io/cdishim_mock.com_gpu_gpu3": "mock.com/gpu=gpu3"}
    with pytest.raises(grpc.RpcError) as refused:
        stub.Allocate(api_pb2.AllocateRequest(container_requests=[
            api_pb2.ContainerAllocateRequest(devices_ids=["gpu0", "nope"])]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == 'unknown mock.com/gpu devices: "nope"'


def test_kubelet_absent_at_start_then_restarting(node, start_plugin):
    _, _, sockets = node
    start_plugin()
    time.sleep(1)  # the plugin runs without a kubelet, retrying
    kubelet = FakeKubelet(sockets)
    try:
        assert kubelet.next_registration().resource_name == KIND
        # kubelet restarts: it wipes the directory and serves a new kubelet.sock
        kubelet.stop()
        for entry in sockets.iterdir():
            entry.unlink()
        started = time.monotonic()
        kubelet = FakeKubelet(sockets)
        assert kubelet.next_registration().endpoint == ENDPOINT
        assert time.monotonic() - started < 5
        channel, stub = stub_for(sockets)
        assert len(Stream(stub).until(lambda d: True)) == 4  # served again on a fresh socket
        channel.close()
    finally:
        kubelet.stop()


def test_sigterm_exits_cleanly_and_removes_the_socket(node, registered):
    _, _, sockets = node
    Stream(registered.stub).until(lambda d: True)
    registered.process.send_signal(signal.SIGTERM)
    assert registered.process.wait(timeout=10) == 0
    assert not (sockets / ENDPOINT).exists()


def test_a_hostile_spec_file_costs_the_plugin_nothing(node, registered):
    """A FIFO and an alias bomb beside the kind's spec: the plugin keeps serving and keeps watching."""
    nodes, specs, _ = node
    stream = Stream(registered.stub)
    stream.until(lambda d: len(d) == 4)
    CASES["fifo-json"](specs)
    CASES["yaml-alias-multiplied"](specs)
    os.mknod(nodes / "gpu9", 0o666 | 0o020000, os.makedev(89, 1))
    subprocess.run([CTL, "generate", "--kind", KIND, "--device-glob", f"{nodes}/gpu9",
                    "--output", str(specs / "late.yaml")], check=True, capture_output=True)
    devices = stream.until(lambda d: "gpu9" in d)
    assert devices == {f"gpu{n}": "Healthy" for n in (0, 1, 2, 3, 9)}
    assert registered.process.poll() is None
    stream.close()
