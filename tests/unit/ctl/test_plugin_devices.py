"""The device plugin's logic without gRPC: health, replicas, annotation keys, allocation, preferred allocation."""

from __future__ import annotations

import os

import pytest

from cdishim.cdi.cache import load_registry
from cdishim.ctl.plugin.config import ResourceConfig
from cdishim.ctl.plugin.devices import (
    FORGET_GONE_S,
    HEALTHY,
    UNHEALTHY,
    PluginDevice,
    Remembered,
    allocate,
    annotation_key,
    found_devices,
    kind_devices,
    preferred,
    with_replicas,
)
from cdishim.ctl.plugin.discovery import FoundDevice
from cdishim.errors import CdishimError
from tests.unit.builders import spec_doc

GPU = ResourceConfig(name="mock.com/gpu", cdi_kind="mock.com/gpu")
DEVICES = [PluginDevice(id="gpu0", device="gpu0", health=HEALTHY),
           PluginDevice(id="gpu1", device="gpu1", health=UNHEALTHY)]


def healthy(*names: str) -> list[PluginDevice]:
    return [PluginDevice(id=name, device=name, health=HEALTHY) for name in names]


def test_kind_devices_health_and_no_all(write_spec, dev_dir, tmp_path):
    os.mknod(dev_dir / "present", 0o666 | 0o020000, os.makedev(89, 1))
    write_spec("g.json", spec_doc(kind="mock.com/gpu",
                                  ok={"deviceNodes": [{"path": str(dev_dir / "present")}]},
                                  gone={"deviceNodes": [{"path": str(dev_dir / "absent")}]},
                                  all={"deviceNodes": [{"path": str(dev_dir / "present")}]}), tmp_path / "cdi")
    write_spec("o.json", spec_doc(kind="other.com/x", ok={"env": ["A=1"]}), tmp_path / "cdi")
    devices = kind_devices(load_registry([str(tmp_path / "cdi")]), "mock.com/gpu")
    assert devices == [PluginDevice(id="gone", device="gone", health=UNHEALTHY),
                       PluginDevice(id="ok", device="ok", health=HEALTHY)]


@pytest.mark.parametrize("strategy, cdi, annotated", [("both", True, True), ("cdi-cri", True, False),
                                                       ("cdi-annotations", False, True)])
def test_strategies(strategy, cdi, annotated):
    allocation = allocate(GPU, DEVICES, ["gpu0"], strategy)
    assert allocation.cdi_devices == (("mock.com/gpu=gpu0",) if cdi else ())
    assert allocation.annotations == ({"cdi.k8s.io/cdishim_mock.com_gpu_gpu0": "mock.com/gpu=gpu0"} if annotated else {})


@pytest.mark.parametrize("requested, message", [
    (["gpu9"], 'unknown mock.com/gpu devices: "gpu9"'),
    (["gpu1"], 'unhealthy mock.com/gpu devices: "gpu1"'),
])
def test_bad_requests(requested, message):
    with pytest.raises(CdishimError, match=f"^{message}$"):
        allocate(GPU, DEVICES, requested, "both")


def test_annotation_keys_stay_within_63_characters_and_differ():
    ids = [f"a-rather-long-device-name-{n}" for n in range(6)]
    key = annotation_key("vendor.example.com/accelerator", ids)
    other = annotation_key("vendor.example.com/accelerator", ids[:5])
    for candidate in (key, other):
        name = candidate.removeprefix("cdi.k8s.io/")
        assert len(name) <= 63 and all(c.isalnum() or c in "_.-" for c in name)
    assert key != other


def test_annotation_key_replaces_characters_keys_cannot_hold():
    assert annotation_key("mock.com/gpu", ["a:b"]) == "cdi.k8s.io/cdishim_mock.com_gpu_a-b"


def test_preferred_allocation_without_replicas_is_must_include_then_name_order():
    devices = healthy("a", "b", "c")
    assert preferred(devices, ["c", "a", "b"], ["b"], 2) == ["b", "a"]
    assert preferred(devices, ["a"], [], 3) == ["a"]
    assert preferred(devices, ["gpu10", "gpu2"], [], 1) == ["gpu2"]  # unknown IDs: themselves, natural order


def test_replicas_are_advertised_as_name_colon_colon_n():
    shared = with_replicas(healthy("gpu0", "gpu1"), 3)
    assert [device.id for device in shared] == [f"gpu{d}::{r}" for d in range(2) for r in range(3)]
    assert {device.device for device in shared} == {"gpu0", "gpu1"}
    assert with_replicas(healthy("gpu0"), 1) == healthy("gpu0")


def test_preferred_allocation_spreads_over_devices_before_stacking_replicas():
    shared = with_replicas(healthy("gpu0", "gpu1", "gpu2"), 4)
    every = [device.id for device in shared]
    assert preferred(shared, every, [], 3) == ["gpu0::0", "gpu1::0", "gpu2::0"]
    assert preferred(shared, every, [], 4) == ["gpu0::0", "gpu1::0", "gpu2::0", "gpu0::1"]
    # gpu0 is mostly taken by other pods: the least shared devices go first
    available = ["gpu0::3", "gpu1::1", "gpu1::2", "gpu2::0", "gpu2::1", "gpu2::2"]
    assert preferred(shared, available, [], 2) == ["gpu2::0", "gpu1::1"]
    # a must-include replica counts as held
    assert preferred(shared, available, ["gpu2::1"], 2) == ["gpu2::1", "gpu1::1"]


def test_allocate_names_each_shared_device_once():
    resource = GPU.replace(replicas=2)
    shared = with_replicas(healthy("gpu0", "gpu1"), 2)
    allocation = allocate(resource, shared, ["gpu0::1", "gpu0::0", "gpu1::0"], "both")
    assert allocation.cdi_devices == ("mock.com/gpu=gpu0", "mock.com/gpu=gpu1")
    assert allocation.annotations == {"cdi.k8s.io/cdishim_mock.com_gpu_gpu0_gpu1": "mock.com/gpu=gpu0,mock.com/gpu=gpu1"}


def test_fail_requests_greater_than_one_refuses_two_replicas_but_not_one():
    resource = GPU.replace(replicas=2, fail_requests_greater_than_one=True)
    shared = with_replicas(healthy("gpu0", "gpu1"), 2)
    assert allocate(resource, shared, ["gpu1::1"], "cdi-cri").cdi_devices == ("mock.com/gpu=gpu1",)
    with pytest.raises(CdishimError, match=r"^request for 2 mock.com/gpu devices is too large: a shared resource "
                                           r"gives at most 1 per container \(failRequestsGreaterThanOne\)$"):
        allocate(resource, shared, ["gpu0::0", "gpu1::0"], "both")
    unshared = GPU.replace(fail_requests_greater_than_one=True)  # only shared resources are limited
    assert len(allocate(unshared, healthy("gpu0", "gpu1"), ["gpu0", "gpu1"], "cdi-cri").cdi_devices) == 2


def test_a_resource_with_another_cdi_kind_allocates_names_of_that_kind():
    resource = ResourceConfig(name="example.com/shared-gpu", cdi_kind="mock.com/gpu", replicas=2)
    allocation = allocate(resource, with_replicas(healthy("gpu0"), 2), ["gpu0::1"], "cdi-cri")
    assert allocation.cdi_devices == ("mock.com/gpu=gpu0",)


def test_found_devices_stay_listed_unhealthy_once_gone_then_are_forgotten():
    remembered: dict[str, Remembered] = {}
    serial = FoundDevice(name="A10K", nodes=("/dev/ttyUSB0",), numa_node=1)
    other = FoundDevice(name="ttyS1", nodes=("/dev/ttyS1",))
    assert found_devices([serial, other], remembered, now=0) == [
        PluginDevice(id="A10K", device="A10K", health=HEALTHY, numa_node=1),
        PluginDevice(id="ttyS1", device="ttyS1", health=HEALTHY)]
    assert [d.health for d in found_devices([other], remembered, now=10)] == [UNHEALTHY, HEALTHY]
    back = serial.replace(nodes=("/dev/ttyUSB3",))  # re-plugged elsewhere, same serial
    assert [d.health for d in found_devices([back, other], remembered, now=20)] == [HEALTHY, HEALTHY]
    assert len(found_devices([other], remembered, now=20 + FORGET_GONE_S)) == 2  # not yet
    assert [d.id for d in found_devices([other], remembered, now=21 + FORGET_GONE_S)] == ["ttyS1"]
