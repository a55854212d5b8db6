"""The device plugin's config file: what it accepts, and one line naming resource and field for the rest."""

from __future__ import annotations

import pytest

from cdishim.ctl.device_plugin import resources_from
from cdishim.ctl.main import build_parser
from cdishim.ctl.plugin.config import PathMatch, ResourceConfig, UsbMatch, load_config
from cdishim.errors import UsageError

GOOD = """\
resources:
- name: example.com/serial
  devices:
  - path: /dev/ttyUSB*
  - usb: {vendor: "0403", product: "60Ab", serial: A10K}
  replicas: 2
  failRequestsGreaterThanOne: true
- name: example.com/fuse
  devices:
  - path: /dev//fuse
  replicas: 1000
- name: example.com/shared-gpu
  cdiKind: mock.com/gpu
"""


def write(tmp_path, text: str, name: str = "plugin.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_good_config(tmp_path):
    serial, fuse, gpu = load_config(write(tmp_path, GOOD))
    assert serial == ResourceConfig(
        name="example.com/serial", matches=(PathMatch(glob="/dev/ttyUSB*"),
                                            UsbMatch(vendor="0403", product="60ab", serial="A10K")),
        replicas=2, fail_requests_greater_than_one=True)
    assert serial.discovered and serial.kind == "example.com/serial"
    assert fuse.matches == (PathMatch(glob="/dev/fuse"),) and fuse.replicas == 1000
    assert not gpu.discovered and gpu.kind == "mock.com/gpu" and gpu.name == "example.com/shared-gpu"


def test_json_config(tmp_path):
    path = write(tmp_path, '{"resources": [{"name": "a.com/b", "cdiKind": "a.com/b"}]}', "plugin.json")
    assert load_config(path) == (ResourceConfig(name="a.com/b", cdi_kind="a.com/b"),)


RESOURCE = "resources:\n- name: example.com/serial\n"


@pytest.mark.parametrize("text, message", [
    ("resources: []\n", "resources: must be a non-empty list"),
    ("resource: []\n", 'config: unknown field "resource" (known: resources)'),
    ("- a\n", "config: must be a mapping"),
    ("resources:\n- devices: [{path: /dev/x}]\n", 'resources[0]: missing field "name"'),
    ("resources:\n- name: serial\n  devices: [{path: /dev/x}]\n",
     'resources[0].name: "serial" is not a valid CDI kind (invalid vendor. empty name)'),
    ("resources:\n- name: 1x.com/y\n  devices: [{path: /dev/x}]\n",
     'resources[0].name: "1x.com/y" is not a valid CDI kind (invalid vendor. "1x.com", should start with letter)'),
    (RESOURCE + "  devices: [{path: /dev/x}]\n  colour: red\n",
     'resources[0]: unknown field "colour" (known: name, cdiKind, devices, replicas, failRequestsGreaterThanOne)'),
    (RESOURCE + "  devices: [{path: /dev/x}]\n  replicas: 0\n",
     'resource "example.com/serial".replicas: must be an integer from 1 to 10000, not 0'),
    (RESOURCE + "  devices: [{path: /dev/x}]\n  replicas: -3\n",
     'resource "example.com/serial".replicas: must be an integer from 1 to 10000, not -3'),
    (RESOURCE + "  devices: [{path: /dev/x}]\n  replicas: \"2\"\n",
     "resource \"example.com/serial\".replicas: must be an integer from 1 to 10000, not '2'"),
    (RESOURCE + "  devices: [{path: /dev/x}]\n  replicas: true\n",
     'resource "example.com/serial".replicas: must be an integer from 1 to 10000, not True'),
    (RESOURCE + "  devices: [{path: dev/ttyUSB*}]\n",
     'resource "example.com/serial".devices[0].path: "dev/ttyUSB*" must be an absolute glob'),
    (RESOURCE + "  devices: [{path: /dev/x, usb: {vendor: '0403', product: '6001'}}]\n",
     'resource "example.com/serial".devices[0]: give exactly one of "path" and "usb"'),
    (RESOURCE + "  devices: [{}]\n", 'resource "example.com/serial".devices[0]: give exactly one of "path" and "usb"'),
    (RESOURCE + "  devices: [{usb: {vendor: 0403, product: '6001'}}]\n",
     'resource "example.com/serial".devices[0].usb.vendor: must be a string (quote it)'),
    (RESOURCE + "  devices: [{usb: {vendor: '04031', product: '6001'}}]\n",
     'resource "example.com/serial".devices[0].usb.vendor: "04031" is not a 4-digit hex USB id'),
    (RESOURCE + "  devices: [{usb: {vendor: '0403'}}]\n",
     'resource "example.com/serial".devices[0].usb: missing field "product"'),
    (RESOURCE + "  devices: [{usb: {vendor: '0403', product: '6001', bus: 1}}]\n",
     'resource "example.com/serial".devices[0].usb: unknown field "bus" (known: vendor, product, serial)'),
    (RESOURCE + "  devices: []\n", 'resource "example.com/serial".devices: must be a non-empty list'),
    (RESOURCE, 'resource "example.com/serial": give exactly one of "devices" (discover) and "cdiKind" (existing specs)'),
    (RESOURCE + "  cdiKind: mock.com/gpu\n  devices: [{path: /dev/x}]\n",
     'resource "example.com/serial": give exactly one of "devices" (discover) and "cdiKind" (existing specs)'),
    (RESOURCE + "  cdiKind: gpu\n", ('resource "example.com/serial".cdiKind: "gpu" is not a valid CDI kind '
                                     '(invalid vendor. empty name)')),
    (RESOURCE + "  cdiKind: mock.com/gpu\n  failRequestsGreaterThanOne: yes please\n",
     'resource "example.com/serial".failRequestsGreaterThanOne: must be true or false'),
    (RESOURCE + "  cdiKind: mock.com/gpu\n" + RESOURCE.removeprefix("resources:\n") + "  cdiKind: mock.com/gpu\n",
     'resource "example.com/serial": defined twice'),
    ("resources:\n- name: Example.com/x\n  cdiKind: a.com/b\n",
     'resources[0].name: "Example.com/x" is not a valid resource name ("Example.com" is not a DNS subdomain'),
    ("resources:\n- name: example_com/x\n  cdiKind: a.com/b\n",
     'resources[0].name: "example_com/x" is not a valid resource name'),
    ("resources:\n- name: a.com/" + "x" * 64 + "\n  cdiKind: a.com/b\n",
     'is not a valid resource name ("xxxxxxxx'),
    ("resources:\n- name: a.com/b-c\n  cdiKind: a.com/x\n- name: a.com-b/c\n  cdiKind: a.com/x\n",
     'resources "a.com/b-c" and "a.com-b/c": would share the socket file "cdishim-a.com-b-c.sock"; rename one'),
    ("resources:\n- name: x.com/y_z\n  devices: [{path: /dev/a}]\n- name: x.com/y-z\n  cdiKind: x.com/y_z\n",
     ""),  # a discovering resource and one serving its kind: allowed
    ("resources: [\n", "malformed YAML"),
])
def test_bad_configs_are_one_line_naming_resource_and_field(tmp_path, text, message):
    path = write(tmp_path, text)
    if not message:
        assert load_config(path)
        return
    with pytest.raises(UsageError) as error:
        load_config(path)
    prefix = f'--config "{path}": '
    assert str(error.value).startswith(prefix) and message in str(error.value)[len(prefix):]
    assert "\n" not in str(error.value)


def test_unreadable_config(tmp_path):
    with pytest.raises(UsageError, match=r'^--config ".*/absent.yaml": No such file or directory$'):
        load_config(str(tmp_path / "absent.yaml"))


def parse(*argv: str):
    return build_parser().parse_args(["device-plugin", *argv])


def test_kind_is_the_shorthand_and_clashes_with_the_config_are_refused(tmp_path):
    path = write(tmp_path, GOOD)
    assert [r.name for r in resources_from(parse("--config", path, "--kind", "mock.com/gpu"))] == [
        "example.com/serial", "example.com/fuse", "example.com/shared-gpu", "mock.com/gpu"]
    with pytest.raises(UsageError, match='^resource "example.com/fuse": defined twice$'):
        resources_from(parse("--config", path, "--kind", "example.com/fuse"))
    with pytest.raises(UsageError, match="^give --config FILE or at least one --kind$"):
        resources_from(parse())
    with pytest.raises(UsageError, match="^--kind gpu: invalid vendor. empty name$"):
        resources_from(parse("--kind", "gpu"))
