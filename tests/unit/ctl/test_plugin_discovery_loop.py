"""A discovering resource's scan: the order of advertising and spec writes, and a spec that cannot be written."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("grpc")

from cdishim.cdi.cache import load_registry
from cdishim.ctl.plugin.config import PathMatch, ResourceConfig
from cdishim.ctl.plugin.devices import HEALTHY, UNHEALTHY, kind_devices
from cdishim.ctl.plugin.plugin import Discovery
from tests.fake_sysfs import FakeSysfs
from tests.unit.builders import spec_doc


@pytest.fixture
def fuse(dev_dir, tmp_path):
    resource = ResourceConfig(name="example.com/fuse", matches=(PathMatch(glob=f"{dev_dir}/fuse*"),))
    return resource, Discovery(resource, str(tmp_path / "cdi"), str(tmp_path / "sys"))


def spec_names(discovery: Discovery) -> list[str]:
    with open(discovery.spec.path) as handle:
        return [device["name"] for device in json.load(handle)["devices"]]


def test_new_devices_are_advertised_after_the_spec_has_them_gone_ones_before_it_loses_them(fuse, dev_dir):
    _, discovery = fuse
    published: list[tuple[list[tuple[str, str]], list[str]]] = []

    def publish(devices):
        on_disk = spec_names(discovery) if os.path.exists(discovery.spec.path) else []
        published.append(([(d.id, d.health) for d in devices], on_disk))

    os.mknod(dev_dir / "fuse0", 0o666 | 0o020000, os.makedev(10, 229))
    discovery.scan(publish)
    assert published == [([], [])]  # fuse0 is not advertised before its spec is written
    assert [(d.id, d.health) for d in discovery.latest] == [("fuse0", HEALTHY)] and spec_names(discovery) == ["fuse0"]
    os.mknod(dev_dir / "fuse1", 0o666 | 0o020000, os.makedev(10, 229))
    os.unlink(dev_dir / "fuse0")
    discovery.scan(publish)
    # fuse0 is unhealthy while the spec still names it; fuse1 waits for the spec
    assert published[-1] == ([("fuse0", UNHEALTHY)], ["fuse0"])
    assert spec_names(discovery) == ["fuse1"]
    discovery.close()
    assert not os.path.exists(discovery.spec.path)


def test_a_spec_that_cannot_be_written_makes_the_devices_unhealthy_and_is_said_once(fuse, dev_dir, tmp_path, capsys):
    resource, _ = fuse
    (tmp_path / "not-a-dir").write_text("")
    discovery = Discovery(resource, str(tmp_path / "not-a-dir"), str(tmp_path / "sys"))
    os.mknod(dev_dir / "fuse0", 0o666 | 0o020000, os.makedev(10, 229))
    discovery.scan(lambda devices: None)
    discovery.scan(lambda devices: None)
    assert [(d.id, d.health) for d in discovery.latest] == [("fuse0", UNHEALTHY)]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0] and "devices are unhealthy until it can" in lines[0]


def test_a_cdi_kind_device_carries_its_first_nodes_numa_node(dev_dir, tmp_path, write_spec):
    sysfs = FakeSysfs(tmp_path / "sys", dev_dir)
    pci = sysfs.pci_device("0000:3b:00.0", 1)
    os.mknod(dev_dir / "accel0", 0o666 | 0o020000, os.makedev(240, 7))
    (sysfs.root / "dev/char/240:7").symlink_to(os.path.relpath(pci, sysfs.root / "dev/char"))
    write_spec("a.json", spec_doc(kind="mock.com/accel", a0={"deviceNodes": [{"path": str(dev_dir / "accel0")}]}),
               tmp_path / "cdi")
    [device] = kind_devices(load_registry([str(tmp_path / "cdi")]), "mock.com/accel", str(sysfs.root))
    assert (device.id, device.numa_node) == ("a0", 1)
