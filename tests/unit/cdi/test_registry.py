"""The registry over spec dirs: priority, conflicts, broken files (reference cache semantics)."""

from __future__ import annotations

import json

import pytest

from cdishim.cdi.cache import load_registry
from cdishim.cdi.inject import resolve_devices
from cdishim.errors import ResolveError
from tests.unit.builders import inject_devices, spec_doc


def doc(kind="vendor.com/device", **devices):
    return spec_doc(kind=kind, **{name: {"env": [f"{name.upper()}={value}"]} for name, value in devices.items()})


def env_of(registry, name):
    return registry.resolve(name).device.edits.env


@pytest.fixture
def dirs(tmp_path):
    etc, run = tmp_path / "etc-cdi", tmp_path / "run-cdi"
    etc.mkdir()
    run.mkdir()
    return etc, run


def test_later_dir_has_higher_priority(write_spec, dirs):
    etc, run = dirs
    write_spec("a.json", doc(dev1="etc", dev2="etc"), etc)
    write_spec("b.yaml", json.dumps(doc(dev1="run")), run)
    registry = load_registry([str(etc), str(run)])
    assert env_of(registry, "vendor.com/device=dev1") == ("DEV1=run",)
    assert env_of(registry, "vendor.com/device=dev2") == ("DEV2=etc",)
    assert registry.errors == {}


def test_same_priority_is_a_conflict_naming_both_files(write_spec, dirs):
    etc, _ = dirs
    a = write_spec("a.json", doc(dev1="a", other="a"), etc)
    b = write_spec("b.json", doc(dev1="b"), etc)
    registry = load_registry([str(etc)])
    assert registry.resolve("vendor.com/device=dev1") is None
    assert registry.resolve("vendor.com/device=other") is not None
    assert registry.conflicts == {"vendor.com/device=dev1": (a, b)}
    assert registry.errors[a] == [f'conflicting device "vendor.com/device=dev1" (specs "{a}", "{b}")']
    assert registry.errors[b] == [f'conflicting device "vendor.com/device=dev1" (specs "{b}", "{a}")']
    with pytest.raises(ResolveError) as err:
        resolve_devices(registry, ["vendor.com/device=other", "vendor.com/device=dev1"])
    assert str(err.value) == (
        f"unresolvable CDI devices vendor.com/device=dev1 (conflicting device vendor.com/device=dev1 defined in {a} and {b})"
    )


def test_higher_priority_settles_a_lower_priority_conflict(write_spec, dirs):
    etc, run = dirs
    write_spec("a.json", doc(dev1="a"), etc)
    write_spec("b.json", doc(dev1="b"), etc)
    write_spec("c.json", doc(dev1="c"), run)
    registry = load_registry([str(etc), str(run)])
    assert env_of(registry, "vendor.com/device=dev1") == ("DEV1=c",)
    assert registry.conflicts == {}


def test_a_broken_file_hides_nothing_else(write_spec, dirs):
    etc, _ = dirs
    write_spec("a-good.json", doc(dev1="good"), etc)
    bad = write_spec("b-bad.json", "{not json", etc)
    invalid = write_spec("c-invalid.yaml", "cdiVersion: 9.9.9\nkind: v.com/d\ndevices: []\n", etc)
    registry = load_registry([str(etc)])
    assert env_of(registry, "vendor.com/device=dev1") == ("DEV1=good",)
    assert set(registry.errors) == {bad, invalid}
    assert registry.errors[bad][0].startswith(f'failed to parse CDI Spec "{bad}": malformed JSON')
    assert registry.errors[invalid][0] == f'invalid CDI Spec "{invalid}": invalid version "9.9.9"'


def test_only_json_and_yaml_directly_in_the_dir(write_spec, dirs):
    etc, _ = dirs
    write_spec("a.json", doc(json="1"), etc)
    write_spec("b.yaml", json.dumps(doc(yaml="1")), etc)
    write_spec("c.yml", json.dumps(doc(yml="1")), etc)
    write_spec("d.json.bak", doc(bak="1"), etc)
    write_spec("sub/e.json", doc(sub="1"), etc)
    (etc / "dir.json").mkdir()
    registry = load_registry([str(etc)])
    assert registry.device_names == ["vendor.com/device=json", "vendor.com/device=yaml"]


def test_missing_dirs_are_fine(tmp_path):
    registry = load_registry([str(tmp_path / "nope"), "/dev/null"])
    assert registry.device_names == [] and registry.errors == {}


def test_unresolvable_request_leaves_the_config_alone(write_spec, dirs):
    etc, _ = dirs
    write_spec("a.json", doc(dev1="x"), etc)
    registry = load_registry([str(etc)])
    config = {"process": {"env": []}}
    with pytest.raises(ResolveError, match="^unresolvable CDI devices vendor.com/device=nope, other.com/x=y$"):
        inject_devices(config, registry, ["vendor.com/device=dev1", "vendor.com/device=nope", "other.com/x=y"])
    assert config == {"process": {"env": []}}


def test_inject_applies_spec_then_device_edits(write_spec, dirs):
    etc, _ = dirs
    write_spec("a.json", {**doc(dev1="x", dev2="y"), "containerEdits": {"env": ["GLOBAL=1"]}}, etc)
    registry = load_registry([str(etc)])
    config: dict = {}
    inject_devices(config, registry, ["vendor.com/device=dev2", "vendor.com/device=dev1"])
    assert config["process"]["env"] == ["GLOBAL=1", "DEV2=y", "DEV1=x"]
