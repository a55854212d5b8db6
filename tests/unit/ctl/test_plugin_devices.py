"""The device plugin's logic without gRPC: health, annotation keys, allocation strategies."""

from __future__ import annotations

import os

import pytest

from cdishim.cdi.cache import load_registry
from cdishim.ctl.plugin.devices import (
    HEALTHY,
    UNHEALTHY,
    PluginDevice,
    allocate,
    annotation_key,
    kind_devices,
    preferred,
)
from cdishim.errors import CdishimError
from tests.unit.builders import spec_doc

DEVICES = [PluginDevice(id="gpu0", health=HEALTHY), PluginDevice(id="gpu1", health=UNHEALTHY)]


def test_kind_devices_health_and_no_all(write_spec, dev_dir, tmp_path):
    os.mknod(dev_dir / "present", 0o666 | 0o020000, os.makedev(89, 1))
    write_spec("g.json", spec_doc(kind="mock.com/gpu",
                                  ok={"deviceNodes": [{"path": str(dev_dir / "present")}]},
                                  gone={"deviceNodes": [{"path": str(dev_dir / "absent")}]},
                                  all={"deviceNodes": [{"path": str(dev_dir / "present")}]}), tmp_path / "cdi")
    write_spec("o.json", spec_doc(kind="other.com/x", ok={"env": ["A=1"]}), tmp_path / "cdi")
    devices = kind_devices(load_registry([str(tmp_path / "cdi")]), "mock.com/gpu")
    assert devices == [PluginDevice(id="gone", health=UNHEALTHY), PluginDevice(id="ok", health=HEALTHY)]


@pytest.mark.parametrize("strategy, cdi, annotated", [("both", True, True), ("cdi-cri", True, False),
                                                       ("cdi-annotations", False, True)])
def test_strategies(strategy, cdi, annotated):
    allocation = allocate("mock.com/gpu", DEVICES, ["gpu0"], strategy)
    assert allocation.cdi_devices == (("mock.com/gpu=gpu0",) if cdi else ())
    assert allocation.annotations == ({"cdi.k8s.io/cdishim_mock.com_gpu_gpu0": "mock.com/gpu=gpu0"} if annotated else {})


@pytest.mark.parametrize("requested, message", [
    (["gpu9"], 'unknown mock.com/gpu devices: "gpu9"'),
    (["gpu1"], 'unhealthy mock.com/gpu devices: "gpu1"'),
])
def test_bad_requests(requested, message):
    with pytest.raises(CdishimError, match=f"^{message}$"):
        allocate("mock.com/gpu", DEVICES, requested, "both")


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


def test_preferred_allocation():
    assert preferred(["c", "a", "b"], ["b"], 2) == ["b", "a"]
    assert preferred(["a"], [], 3) == ["a"]
