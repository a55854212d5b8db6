"""cdishim-ctl list on a spec-dir tree with good, broken and conflicting files."""

from __future__ import annotations

import json

import pytest

from cdishim.ctl.main import main
from tests.unit.builders import spec_doc


@pytest.fixture
def tree(tmp_path, write_spec, monkeypatch):
    monkeypatch.setenv("CDISHIM_CONFIG", str(tmp_path / "absent.toml"))
    low, high = tmp_path / "etc", tmp_path / "run"
    write_spec("good.json", spec_doc(a={"env": ["A=1"]}, b={"deviceNodes": [{"path": "/dev/b"}]}), low)
    write_spec("broken.yaml", "cdiVersion: 0.3.0\n", low)
    write_spec("one.json", spec_doc(kind="x.com/nic", c={"env": ["C=1"]}), high)
    write_spec("two.json", spec_doc(kind="x.com/nic", c={"env": ["C=2"]}, d={"env": ["D=1"]}), high)
    write_spec("override.json", spec_doc(b={"env": ["B=high"]}), high)
    return low, high


def list_json(capsys, *dirs) -> dict:
    args = [arg for directory in dirs for arg in ("--spec-dir", str(directory))]
    assert main(["list", "-o", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_lists_devices_specs_and_conflicts(tree, capsys):
    low, high = tree
    inventory = list_json(capsys, low, high)
    assert inventory["devices"] == [
        {"name": "vendor.com/device=a", "spec": f"{low}/good.json", "priority": 0},
        {"name": "vendor.com/device=b", "spec": f"{high}/override.json", "priority": 1},
        {"name": "x.com/nic=d", "spec": f"{high}/two.json", "priority": 1},
    ]
    assert inventory["conflicts"] == [{"device": "x.com/nic=c", "specs": [f"{high}/one.json", f"{high}/two.json"]}]
    specs = {spec["path"].rsplit("/", 1)[1]: spec for spec in inventory["specs"]}
    assert list(specs) == ["broken.yaml", "good.json", "one.json", "override.json", "two.json"]
    assert specs["broken.yaml"]["kind"] is None
    assert specs["broken.yaml"]["errors"] == [f'failed to parse CDI Spec "{low}/broken.yaml": kind: required field missing']
    assert specs["good.json"]["errors"] == [] and specs["good.json"]["devices"] == 2
    assert specs["one.json"]["conflicts"] == ["x.com/nic=c"]
    assert "conflicting device" in specs["one.json"]["errors"][0]


def test_verbose_adds_host_paths(tree, capsys):
    low, _ = tree
    assert main(["list", "-o", "json", "-v", "--spec-dir", str(low)]) == 0
    devices = json.loads(capsys.readouterr().out)["devices"]
    assert devices[1] == {"name": "vendor.com/device=b", "spec": f"{low}/good.json", "priority": 0,
                          "deviceNodes": ["/dev/b"], "mounts": []}


def test_table_shows_each_section(tree, capsys):
    low, high = tree
    assert main(["list", "--spec-dir", str(low), "--spec-dir", str(high)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["DEVICE", "SPEC", "PRIORITY"]
    assert "x.com/nic=d" in out
    assert f"{high}/one.json" in out and "1 conflicting device(s), see below" in out
    assert "CONFLICT" in out and "kind: required field missing" in out


def test_yaml_matches_json(tree, capsys):
    import yaml

    low, high = tree
    as_json = list_json(capsys, low, high)
    assert main(["list", "-o", "yaml", "--spec-dir", str(low), "--spec-dir", str(high)]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == as_json


def test_empty_dirs(tmp_path, capsys):
    assert main(["list", "--spec-dir", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out == f"no resolvable CDI devices\n\nno spec files in {tmp_path}/none\n"
