"""cdishim-ctl generate: specs from a glob of real device nodes (mknod, so root)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from cdishim.cdi.spec import read_spec
from cdishim.ctl.main import main

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
MOCK_ARGS = [
    "--kind", "mock.com/gpu",
    "--device-mount", "/mock/lib/{name}.so",
    "--mount", "/mock/bin/list_device.sh:/usr/local/bin/list_device.sh",
    "--env", "MOCK_GPU_DRIVER=1.0",
]


@pytest.fixture
def nodes(dev_dir) -> Path:
    """Char device nodes device_0 .. device_7 (89:1, like the demo's) in a directory under /dev."""
    for number in range(8):
        os.mknod(dev_dir / f"device_{number}", 0o666 | 0o020000, os.makedev(89, 1))
    return dev_dir


def generate(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["generate", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_reproduces_the_hand_written_mock_spec(nodes, capsys):
    status, out, err = generate(capsys, "--device-glob", f"{nodes}/device_*", *MOCK_ARGS)
    assert status == 0, err
    expected = yaml.safe_load((GOLDEN / "mock-gpu.yaml").read_text().replace("/dev/mock/", f"{nodes}/"))
    assert yaml.safe_load(out) == expected


def test_written_file_is_a_valid_spec(nodes, tmp_path, capsys):
    target = tmp_path / "cdi" / "mock.json"
    status, out, _ = generate(capsys, "--device-glob", f"{nodes}/device_*", *MOCK_ARGS, "--output", str(target))
    assert (status, out) == (0, "")
    spec = read_spec(str(target))
    assert [device.name for device in spec.devices] == [f"device_{n}" for n in range(8)]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_index_names_need_version_0_5_0(nodes, capsys):
    status, out, _ = generate(capsys, "--kind", "mock.com/gpu", "--device-glob", f"{nodes}/device_*",
                              "--name-strategy", "index", "--format", "json")
    document = json.loads(out)
    assert status == 0
    assert document["cdiVersion"] == "0.5.0"
    assert [device["name"] for device in document["devices"]] == [str(n) for n in range(8)]


def test_all_device_bundles_every_node_and_mount(nodes, capsys):
    _, out, _ = generate(capsys, "--kind", "mock.com/gpu", "--device-glob", f"{nodes}/device_[01]",
                         "--device-mount", "/lib/{name}.so:/usr/lib/{index}.so", "--all-device")
    devices = {device["name"]: device["containerEdits"] for device in yaml.safe_load(out)["devices"]}
    assert list(devices) == ["device_0", "device_1", "all"]
    assert [node["path"] for node in devices["all"]["deviceNodes"]] == [f"{nodes}/device_0", f"{nodes}/device_1"]
    assert [mount["containerPath"] for mount in devices["all"]["mounts"]] == ["/usr/lib/0.so", "/usr/lib/1.so"]


def test_nodes_sort_naturally(nodes, capsys):
    os.mknod(nodes / "device_10", 0o666 | 0o020000, os.makedev(89, 1))
    _, out, _ = generate(capsys, "--kind", "mock.com/gpu", "--device-glob", f"{nodes}/device_*")
    names = [device["name"] for device in yaml.safe_load(out)["devices"]]
    assert names[-2:] == ["device_7", "device_10"]


def test_unchanged_file_is_left_alone_and_changed_one_needs_force(nodes, tmp_path, capsys):
    target = tmp_path / "mock.yaml"
    args = ["--kind", "mock.com/gpu", "--device-glob", f"{nodes}/device_*", "--output", str(target)]
    assert generate(capsys, *args)[0] == 0
    before = target.stat()
    status, _, err = generate(capsys, *args)
    assert (status, err) == (0, f"{target}: unchanged\n")
    assert target.stat().st_ino == before.st_ino
    status, _, err = generate(capsys, *args, "--all-device")
    assert status == 1 and "would change; use --force" in err
    assert target.stat().st_ino == before.st_ino
    assert generate(capsys, *args, "--all-device", "--force")[0] == 0
    assert "name: all" in target.read_text()


@pytest.mark.parametrize("args, message", [
    (["--device-glob", "{dev}/nothing*"], "no file matches"),
    (["--device-glob", "dev/mock/*"], "must be an absolute path"),
    (["--device-glob", "{tmp}/*"], "not a device node"),
    (["--device-glob", "{dev}/*", "--device-mount", "/x/{nme}"], "unknown placeholder {nme}"),
    (["--device-glob", "{dev}/*", "--mount", "relative/x"], "paths must be absolute"),
    (["--device-glob", "{dev}/*", "--env", "NOEQUALS"], "expected KEY=VALUE"),
    (["--device-glob", "{dev}/*", "--output", "{tmp}/x.json", "--format", "yaml"], "must use --format json"),
])
def test_bad_input_is_one_line_error(nodes, tmp_path, capsys, args, message):
    (tmp_path / "plain-file").write_text("")
    args = [arg.format(dev=nodes, tmp=tmp_path) if "{nme}" not in arg else arg for arg in args]
    status, out, err = generate(capsys, "--kind", "mock.com/gpu", *args)
    assert status == 1 and out == ""
    assert message in err and err.count("\n") == 1 and err.startswith("cdishim-ctl: ")


def test_bad_kind_names_the_option(nodes, capsys):
    status, _, err = generate(capsys, "--kind", "mock.com", "--device-glob", f"{nodes}/*")
    assert status == 1 and err.startswith("cdishim-ctl: --kind: ")
