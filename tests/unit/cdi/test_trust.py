"""Spec files and dirs that are not root's, or writable by others, are ignored."""

from __future__ import annotations

import json
import os
import time

import pytest

from cdishim.cdi.cache import load_registry
from cdishim.cdi.trust import SpecTrust
from tests.unit.builders import spec_doc

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
DEVICE = "vendor.com/device=d"
OTHER_UID = 4242


@pytest.fixture
def spec_dir(tmp_path):
    directory = tmp_path / "cdi"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    return directory


def write(directory, name="v.json", size_padding=0):
    path = directory / name
    document = spec_doc(d={"env": ["A=1"]})
    if size_padding:
        document["annotations"] = {"pad": "x" * size_padding}
    path.write_text(json.dumps(document))
    os.chmod(path, 0o644)
    return path


def test_root_owned_file_is_used(spec_dir):
    write(spec_dir)
    registry = load_registry([str(spec_dir)])
    assert registry.device_names == [DEVICE] and registry.errors == {}


@pytest.mark.parametrize("change, reason", [
    (lambda p: os.chown(p, OTHER_UID, 0), f"owned by uid {OTHER_UID}, not root"),
    (lambda p: os.chmod(p, 0o664), "writable by group (mode 0664)"),
    (lambda p: os.chmod(p, 0o646), "writable by others (mode 0646)"),
])
def test_untrusted_file_is_ignored_with_an_error_naming_it(spec_dir, change, reason):
    path = write(spec_dir)
    write(spec_dir, "good.json").write_text(json.dumps(spec_doc(kind="x.com/y", g={"env": ["G=1"]})))
    change(path)
    registry = load_registry([str(spec_dir)])
    assert registry.device_names == ["x.com/y=g"]
    assert registry.errors == {str(path): [f'untrusted CDI Spec "{path}": {reason}']}


@pytest.mark.parametrize("change, reason", [
    (lambda p: os.chown(p, OTHER_UID, 0), f"owned by uid {OTHER_UID}, not root"),
    (lambda p: os.chmod(p, 0o777), "writable by group (mode 0777)"),
])
def test_untrusted_dir_hides_its_files(spec_dir, tmp_path, change, reason):
    write(spec_dir)
    change(spec_dir)
    registry = load_registry([str(spec_dir)])
    assert registry.device_names == []
    assert registry.errors == {str(spec_dir): [f'untrusted CDI spec dir "{spec_dir}": {reason}; its spec files are ignored']}


def test_symlink_is_judged_by_its_target(spec_dir, tmp_path):
    target = write(tmp_path, "target.json")
    (spec_dir / "link.json").symlink_to(target)
    assert load_registry([str(spec_dir)]).device_names == [DEVICE]
    os.chown(target, OTHER_UID, 0)
    registry = load_registry([str(spec_dir)])
    assert registry.device_names == []
    assert f"owned by uid {OTHER_UID}" in registry.errors[str(spec_dir / "link.json")][0]


def test_size_limit(spec_dir):
    path = write(spec_dir, size_padding=2000)
    registry = load_registry([str(spec_dir)], trust=SpecTrust(max_bytes=1024))
    assert registry.errors[str(path)][0].startswith(f'CDI Spec "{path}" is too large: ')
    assert load_registry([str(spec_dir)], trust=SpecTrust(max_bytes=4096)).device_names == [DEVICE]


def test_policy_any_trusts_every_owner(spec_dir):
    path = write(spec_dir)
    os.chown(path, OTHER_UID, 0)
    assert load_registry([str(spec_dir)], trust=SpecTrust(policy="any")).device_names == [DEVICE]


def test_the_cache_sees_a_file_become_untrusted(spec_dir, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    path = write(spec_dir)
    time.sleep(2.1)  # files changed in the last 2 s are never cached (statcache.RACY_NS)
    load_registry([str(spec_dir)], str(cache))
    cached = load_registry([str(spec_dir)], str(cache))
    assert cached.from_cache and cached.device_names == [DEVICE]
    os.chmod(path, 0o666)
    registry = load_registry([str(spec_dir)], str(cache))
    assert registry.device_names == [] and "writable by group" in registry.errors[str(path)][0]
