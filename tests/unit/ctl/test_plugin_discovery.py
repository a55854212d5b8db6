"""Discovery on a fake sysfs with real device nodes: globs, USB ids, stable names, NUMA nodes, the spec file."""

from __future__ import annotations

import json
import os

import pytest

from cdishim.cdi.spec import parse_spec_document
from cdishim.ctl.plugin.config import PathMatch, ResourceConfig, UsbMatch
from cdishim.ctl.plugin.discovery import DeviceFinder, FoundDevice, device_name
from cdishim.ctl.plugin.specfile import GeneratedSpec
from tests.fake_sysfs import FakeSysfs

FTDI = UsbMatch(vendor="0403", product="6001")


@pytest.fixture
def sysfs(tmp_path, dev_dir):
    return FakeSysfs(tmp_path / "sys", dev_dir)


def usb_resource(*matches) -> ResourceConfig:
    return ResourceConfig(name="example.com/serial", matches=matches)


def find(resource: ResourceConfig, sysfs: FakeSysfs) -> list[FoundDevice]:
    found, skipped = DeviceFinder(resource, str(sysfs.root)).find()
    assert not skipped
    return found


def test_usb_device_is_its_node_and_its_interfaces_nodes_named_by_serial(sysfs):
    sysfs.usb_device("1-1", "0403", "6001", serial="A10K", ttys=("ttyUSB0",))
    sysfs.usb_device("1-2", "0403", "6015", serial="OTHER", ttys=("ttyUSB1",))  # another product
    [device] = find(usb_resource(FTDI), sysfs)
    dev = sysfs.dev_dir
    assert device == FoundDevice(name="A10K", nodes=(f"{dev}/bus/usb/001/001", f"{dev}/ttyUSB0"))


def test_usb_ids_compare_without_case_and_serial_must_match_when_given(sysfs):
    sysfs.usb_device("1-1", "0403", "60AB", serial="A10K", ttys=("ttyUSB0",))
    sysfs.usb_device("1-2", "0403", "60ab", serial="B20L", ttys=("ttyUSB1",))
    assert [d.name for d in find(usb_resource(UsbMatch(vendor="0403", product="60ab")), sysfs)] == ["A10K", "B20L"]
    only = UsbMatch(vendor="0403", product="60ab", serial="B20L")
    assert [d.name for d in find(usb_resource(only), sysfs)] == ["B20L"]


def test_without_a_serial_the_port_path_names_the_device(sysfs):
    sysfs.usb_device("1-1.4", "0403", "6001", ttys=("ttyUSB0", "ttyUSB1"))
    sysfs.usb_device("2-3", "0403", "6001", serial="", ttys=("ttyUSB2",))  # an empty serial is no serial
    devices = find(usb_resource(FTDI), sysfs)
    assert [(d.name, [os.path.basename(n) for n in d.nodes]) for d in devices] == [
        ("1-1.4", ["001", "ttyUSB0", "ttyUSB1"]), ("2-3", ["002", "ttyUSB2"])]


def test_a_shared_serial_is_qualified_by_port_and_stays_so_when_one_goes(sysfs):
    sysfs.usb_device("1-1", "0403", "6001", serial="0001", ttys=("ttyUSB0",))
    sysfs.usb_device("1-2", "0403", "6001", serial="0001", ttys=("ttyUSB1",))
    sysfs.usb_device("1-3", "0403", "6001", serial="0002", ttys=("ttyUSB2",))
    finder = DeviceFinder(usb_resource(FTDI), str(sysfs.root))
    assert [d.name for d in finder.find()[0]] == ["0001-1-1", "0001-1-2", "0002"]
    sysfs.unplug("1-2")
    assert [d.name for d in finder.find()[0]] == ["0001-1-1", "0002"]  # not renamed "0001"


def test_serials_are_made_valid_cdi_names():
    assert device_name("A10K/x y..") == "A10K-x-y"
    assert device_name("--ab--") == "ab" and device_name("é1") == "1"


def test_names_do_not_depend_on_discovery_order_and_survive_a_replug(sysfs):
    sysfs.usb_device("1-1", "0403", "6001", serial="AAA", ttys=("ttyUSB0",))
    sysfs.usb_device("1-2", "0403", "6001", serial="BBB", ttys=("ttyUSB1",))
    before = {d.name: d for d in find(usb_resource(FTDI), sysfs)}
    sysfs.unplug("1-1")
    assert [d.name for d in find(usb_resource(FTDI), sysfs)] == ["BBB"]
    sysfs.usb_device("1-3", "0403", "6001", serial="AAA", ttys=("ttyUSB2",))  # back, in another port
    after = {d.name: d for d in find(usb_resource(FTDI), sysfs)}
    assert sorted(after) == sorted(before) == ["AAA", "BBB"]
    assert after["AAA"].nodes[-1].endswith("/ttyUSB2") and after["BBB"] == before["BBB"]


def test_a_hub_does_not_take_its_childrens_nodes(sysfs):
    hub = sysfs.usb_device("1-1", "05e3", "0608")
    sysfs.usb_device("1-1.2", "0403", "6001", serial="CHILD", ttys=("ttyUSB0",), parent=hub)
    [device] = find(usb_resource(UsbMatch(vendor="05e3", product="0608")), sysfs)
    assert [os.path.basename(n) for n in device.nodes] == ["001"]


def test_numa_node_comes_from_the_pci_ancestor(sysfs):
    controller = sysfs.pci_device("0000:80:14.0", 1)
    sysfs.usb_device("3-1", "0403", "6001", serial="NUMA1", ttys=("ttyUSB0",), parent=controller)
    sysfs.usb_device("1-1", "0403", "6001", serial="NONUMA", ttys=("ttyUSB1",))  # numa_node -1
    assert {d.name: d.numa_node for d in find(usb_resource(FTDI), sysfs)} == {"NUMA1": 1, "NONUMA": None}
    # a glob-matched node finds its sysfs entry through /sys/dev/char/MAJ:MIN
    [tty] = find(usb_resource(PathMatch(glob=f"{sysfs.dev_dir}/ttyUSB0")), sysfs)
    assert (tty.name, tty.numa_node) == ("ttyUSB0", 1)


def test_globs_match_device_nodes_only_in_natural_order(sysfs, dev_dir):
    for name in ("fuse10", "fuse2"):
        os.mknod(dev_dir / name, 0o666 | 0o020000, os.makedev(10, 229))
    (dev_dir / "fuse-notes").write_text("not a node")
    (dev_dir / "fuse-link").symlink_to(dev_dir / "fuse2")
    devices = find(usb_resource(PathMatch(glob=f"{dev_dir}/fuse*")), sysfs)
    assert [(d.name, d.nodes) for d in devices] == [("fuse2", (f"{dev_dir}/fuse2",)),
                                                    ("fuse10", (f"{dev_dir}/fuse10",))]


def test_a_node_belongs_to_the_first_match_only(sysfs):
    sysfs.usb_device("1-1", "0403", "6001", serial="A10K", ttys=("ttyUSB0",))
    resource = usb_resource(FTDI, PathMatch(glob=f"{sysfs.dev_dir}/ttyUSB*"))
    assert [d.name for d in find(resource, sysfs)] == ["A10K"]


def test_a_glob_with_wildcard_directories_names_by_the_path_below_its_fixed_part(sysfs, dev_dir):
    for sub in ("a", "b"):
        (dev_dir / sub).mkdir()
        os.mknod(dev_dir / sub / "ctl", 0o666 | 0o020000, os.makedev(10, 1))
    resource = usb_resource(PathMatch(glob=f"{dev_dir}/*/ctl"))
    assert [d.name for d in find(resource, sysfs)] == ["a-ctl", "b-ctl"]
    os.unlink(dev_dir / "b" / "ctl")
    assert [d.name for d in find(resource, sysfs)] == ["a-ctl"]  # whatever else is there


def test_symlinks_to_nodes_are_named_after_the_link_and_stand_for_the_target(sysfs, dev_dir):
    os.mknod(dev_dir / "ttyUSB0", 0o666 | 0o020000, os.makedev(188, 0))
    (dev_dir / "by-id").mkdir()
    (dev_dir / "by-id" / "usb-FTDI_FT232R_A10K-if00-port0").symlink_to("../ttyUSB0")
    (dev_dir / "by-id" / "dangling").symlink_to("../ttyUSB9")
    (dev_dir / "by-id" / "to-a-file").symlink_to("../notes")
    (dev_dir / "notes").write_text("")
    [device] = find(usb_resource(PathMatch(glob=f"{dev_dir}/by-id/*")), sysfs)
    assert (device.name, device.nodes) == ("usb-FTDI_FT232R_A10K-if00-port0", (f"{dev_dir}/ttyUSB0",))


def test_two_devices_with_one_name_leave_the_later_out_and_say_so(sysfs, dev_dir):
    for sub in ("a", "b"):
        (dev_dir / sub).mkdir()
        os.mknod(dev_dir / sub / "ctl", 0o666 | 0o020000, os.makedev(10, 1))
    resource = usb_resource(PathMatch(glob=f"{dev_dir}/a/*"), PathMatch(glob=f"{dev_dir}/b/*"))
    found, skipped = DeviceFinder(resource, str(sysfs.root)).find()
    assert [(d.name, d.nodes) for d in found] == [("ctl", (f"{dev_dir}/a/ctl",))]
    assert skipped == [f"{dev_dir}/b/ctl: left out, its name 'ctl' is {dev_dir}/a/ctl's"]


def test_generated_spec_is_valid_written_once_and_removed_when_empty(sysfs, tmp_path):
    sysfs.usb_device("1-1", "0403", "6001", serial="A10K", ttys=("ttyUSB0",))
    devices = find(usb_resource(FTDI), sysfs)
    spec = GeneratedSpec(str(tmp_path / "cdi"), "example.com/serial")
    assert spec.path == str(tmp_path / "cdi" / "cdishim-plugin_example.com_serial.json")
    assert spec.update(devices) and not spec.update(devices)
    data = (tmp_path / "cdi" / "cdishim-plugin_example.com_serial.json").read_bytes()
    document, _ = parse_spec_document(data, spec.path)
    assert document["kind"] == "example.com/serial" and document["cdiVersion"] == "0.3.0"
    assert [d["containerEdits"]["deviceNodes"] for d in json.loads(data)["devices"]] == [
        [{"path": node} for node in devices[0].nodes]]
    assert spec.update([]) and not os.path.exists(spec.path) and not spec.update([])
