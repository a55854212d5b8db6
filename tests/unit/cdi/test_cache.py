"""The parsed-registry cache: same results as a cold read, or not used at all."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys

import pytest

from cdishim import statcache
from cdishim.cdi.cache import cache_key, cache_name, load_registry
from cdishim.cdi.registry import scan_spec_dirs
from tests.unit.builders import inject_devices

REQUEST = ["vendor.com/gpu=dev-3-1", "vendor.com/gpu=dev-3-7", "vendor.com/gpu=dev-0-0", "vendor.com/gpu=dev-3-9"]


def write_scale_specs(directory, count):
    """*count* spec files of 10 devices each, half YAML and half JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        document = {
            "cdiVersion": "0.6.0",
            "kind": "vendor.com/gpu",
            "containerEdits": {"env": [f"SPEC{index}=1"]},
            "devices": [
                {
                    "name": f"dev-{index}-{n}",
                    "containerEdits": {
                        "deviceNodes": [{"path": f"/dev/gpu{index}-{n}", "type": "c", "major": 195, "minor": n}],
                        "mounts": [{"hostPath": f"/lib/gpu{n}.so", "containerPath": f"/lib/gpu{n}.so", "options": ["ro", "bind"]}],
                    },
                }
                for n in range(10)
            ],
        }
        suffix = "json" if index % 2 else "yaml"
        (directory / f"spec-{index:04d}.{suffix}").write_text(json.dumps(document, indent=1))


def injected(spec_dirs, cache_dir=""):
    config = {"process": {"env": ["PATH=/bin"]}, "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}]}
    inject_devices(config, load_registry(spec_dirs, cache_dir), REQUEST)
    return json.dumps(config)


@pytest.fixture
def no_racy_window(monkeypatch):
    monkeypatch.setattr(statcache, "RACY_NS", 0)


@pytest.fixture
def cache_dir(tmp_path):
    path = tmp_path / "cache"
    path.mkdir(mode=0o700)
    return path


@pytest.mark.parametrize("count", [4, 10, 100])
def test_cached_results_are_byte_identical_to_a_cold_read(tmp_path, cache_dir, no_racy_window, count):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, count)
    dirs = [str(tmp_path / "empty"), str(spec_dir)]
    cold = injected(dirs)
    first = injected(dirs, str(cache_dir))  # writes the cache
    assert os.path.exists(os.path.join(cache_dir, cache_name(dirs)))
    second = injected(dirs, str(cache_dir))  # reads it
    assert load_registry(dirs, str(cache_dir)).from_cache
    assert cold == first == second


def test_an_edit_in_place_with_the_same_size_is_seen(tmp_path, cache_dir, no_racy_window):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 4)
    dirs = [str(spec_dir)]
    before = injected(dirs, str(cache_dir))
    target = spec_dir / "spec-0003.json"
    text = target.read_text()
    edited = text.replace('"SPEC3=1"', '"SPEC3=2"')
    assert len(edited) == len(text)
    stat_before = os.stat(target)
    with open(target, "r+") as handle:  # same inode, same size, same second
        handle.write(edited)
    os.utime(target, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))  # even with mtime put back
    after = injected(dirs, str(cache_dir))
    assert after != before
    assert after == injected(dirs)
    assert "SPEC3=2" in after


def test_added_and_removed_files_are_seen(tmp_path, cache_dir, no_racy_window):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 4)
    dirs = [str(spec_dir)]
    injected(dirs, str(cache_dir))
    (spec_dir / "spec-0000.yaml").unlink()
    with pytest.raises(Exception, match="unresolvable CDI devices vendor.com/gpu=dev-0-0"):
        injected(dirs, str(cache_dir))


def test_racy_files_are_not_cached(tmp_path, cache_dir):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 4)  # just written: inside the racy window
    dirs = [str(spec_dir)]
    injected(dirs, str(cache_dir))
    assert not os.path.exists(os.path.join(cache_dir, cache_name(dirs)))


def plant_cache(cache_dir, dirs, env_value):
    """A cache whose key matches but whose content says something else."""
    registry = load_registry(dirs)
    files, _ = scan_spec_dirs(dirs)
    snapshot, documents = registry.snapshot()
    document = json.loads(json.dumps(documents[0]))
    document["containerEdits"] = {"env": [env_value]}
    blob = marshal.dumps(document)
    header = marshal.dumps({"key": cache_key(dirs, files), "registry": snapshot, "blobs": [(0, len(blob))]})
    path = os.path.join(cache_dir, cache_name(dirs))
    with open(path, "wb") as handle:
        handle.write(len(header).to_bytes(4, "little") + header + blob)
    os.chmod(path, 0o600)
    return path


def test_a_trusted_cache_is_used_and_an_untrusted_one_is_not(tmp_path, cache_dir):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 1)
    dirs = [str(spec_dir)]
    request = ["vendor.com/gpu=dev-0-0"]
    path = plant_cache(cache_dir, dirs, "PLANTED=1")

    def env():
        config: dict = {}
        inject_devices(config, load_registry(dirs, str(cache_dir)), request)
        return config["process"]["env"]

    assert env()[0] == "PLANTED=1"  # proof that a matching, trusted cache is used
    os.chmod(path, 0o666)
    assert env()[0] == "SPEC0=1"
    path = plant_cache(cache_dir, dirs, "PLANTED=1")
    os.chmod(cache_dir, 0o777)
    assert env()[0] == "SPEC0=1"
    os.chmod(cache_dir, 0o700)
    real = cache_dir / "real"
    os.rename(path, real)
    os.symlink(real, path)
    assert env()[0] == "SPEC0=1"


def test_a_corrupt_cache_is_ignored_and_replaced(tmp_path, cache_dir, no_racy_window):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 4)
    dirs = [str(spec_dir)]
    path = os.path.join(cache_dir, cache_name(dirs))
    with open(path, "wb") as handle:
        handle.write(b"\xff\xff\xff\x7fgarbage")
    os.chmod(path, 0o600)
    assert injected(dirs, str(cache_dir)) == injected(dirs)
    assert load_registry(dirs, str(cache_dir)).from_cache


def test_file_errors_and_conflicts_survive_the_cache(tmp_path, cache_dir, no_racy_window):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 2)
    (spec_dir / "zz-broken.json").write_text("{")
    (spec_dir / "zz-dup.json").write_text((spec_dir / "spec-0001.json").read_text())
    dirs = [str(spec_dir)]
    cold = load_registry(dirs)
    load_registry(dirs, str(cache_dir))
    warm = load_registry(dirs, str(cache_dir))
    assert warm.from_cache
    assert warm.errors == cold.errors and warm.conflicts == cold.conflicts
    assert warm.device_names == cold.device_names


def test_concurrent_cold_creates_agree(tmp_path, cache_dir):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 40)
    code = f"""
import json, sys
from cdishim import statcache
statcache.RACY_NS = 0
from tests.unit.builders import inject_devices
from cdishim.cdi.cache import load_registry
config = {{}}
inject_devices(config, load_registry([{str(spec_dir)!r}], {str(cache_dir)!r}), {REQUEST!r})
print(json.dumps(config))
"""
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(8)]
    outputs = {proc.communicate(timeout=120)[0] for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(outputs) == 1
    assert [name for name in os.listdir(cache_dir) if name.endswith(".tmp")] == []
    assert load_registry([str(spec_dir)], str(cache_dir)).from_cache


def test_a_truncated_cache_is_ignored(tmp_path, cache_dir, no_racy_window):
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 4)
    dirs = [str(spec_dir)]
    expected = injected(dirs)
    injected(dirs, str(cache_dir))
    path = os.path.join(cache_dir, cache_name(dirs))
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) - 10)
    assert injected(dirs, str(cache_dir)) == expected


def test_a_cache_filled_by_other_code_is_not_used(tmp_path, cache_dir, no_racy_window, monkeypatch):
    """After an upgrade (or an edit of the code) with unchanged spec files, the specs are read again."""
    spec_dir = tmp_path / "cdi"
    write_scale_specs(spec_dir, 4)
    dirs = [str(spec_dir)]
    load_registry(dirs, str(cache_dir))
    assert load_registry(dirs, str(cache_dir)).from_cache
    _, fingerprint = statcache.code_identity()
    monkeypatch.setattr(statcache, "_code_identity", ("9.9.9", fingerprint))
    assert not load_registry(dirs, str(cache_dir)).from_cache  # another version
    assert load_registry(dirs, str(cache_dir)).from_cache  # and cached again by it
    monkeypatch.setattr(statcache, "_code_identity", ("9.9.9", (*fingerprint, ("cdi", "new.py", 1, 1, 1))))
    assert not load_registry(dirs, str(cache_dir)).from_cache  # same version, other code


def test_the_code_fingerprint_follows_the_code(tmp_path, monkeypatch):
    """Editing a module changes the fingerprint; nothing else does."""
    package = tmp_path / "cdishim"
    for directory in statcache.CODE_DIRS:
        (package / directory).mkdir(parents=True, exist_ok=True)
        (package / directory / "module.py").write_text("x = 1\n")
    monkeypatch.setattr(statcache, "__file__", str(package / "statcache.py"))

    def identity():
        monkeypatch.setattr(statcache, "_code_identity", None)
        return statcache.code_identity()

    before = identity()
    assert identity() == before
    (package / "cdi" / ".#module.py").symlink_to("root@host.1234")  # an editor's lock file: dangling
    assert identity() == before
    (package / "cdi" / "module.py").write_text("x = 22\n")
    assert identity() != before
    (package / "oci" / "gone.py").symlink_to(package / "nowhere.py")  # removed mid-upgrade
    assert identity()[0] == before[0]  # never fails
