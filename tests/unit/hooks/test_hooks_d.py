"""The hooks.d files for podman and CRI-O, and what their --from-config hooks read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cdishim.hooks.main import build_parser
from cdishim.oci.state import HookState, bundle_library_folders, bundle_net_devices

HOOKS_D = Path(__file__).resolve().parents[3] / "hooks" / "oci" / "hooks.d"
OCI_STAGES = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}


@pytest.mark.parametrize("path", sorted(HOOKS_D.glob("*.json")), ids=lambda p: p.name)
def test_hooks_d_file_is_valid(path):
    document = json.loads(path.read_text())
    assert set(document) == {"version", "hook", "when", "stages"}
    assert document["version"] == "1.0.0"
    assert document["hook"]["path"] == "/usr/bin/cdishim-hook"
    build_parser().parse_args(document["hook"]["args"][1:])  # the arguments are ones cdishim-hook takes
    assert set(document["stages"]) <= OCI_STAGES
    [(key_pattern, value_pattern)] = document["when"]["annotations"].items()
    matches = lambda key, value: bool(re.search(key_pattern, key) and re.search(value_pattern, value))
    assert matches("cdi.k8s.io/gpu", "mock.com/gpu=device_0")
    assert not matches("io.kubernetes.cri-o.Created", "2026")
    assert not matches("cdi.k8s.io/", "x")


def test_two_files_one_per_hook():
    assert sorted(p.name for p in HOOKS_D.glob("*.json")) == ["cdishim-ldcache.json", "cdishim-netdev.json"]


def state_for(tmp_path, config) -> HookState:
    (tmp_path / "config.json").write_text(json.dumps(config))
    return HookState(container_id="c", pid=1, bundle=str(tmp_path))


def test_library_folders_from_bind_mounts(tmp_path):
    state = state_for(tmp_path, {"mounts": [
        {"destination": "/vendor/lib/libmock.so.1", "source": "/x", "options": ["ro", "bind"]},
        {"destination": "/vendor/lib/libother.so", "source": "/y", "type": "bind"},
        {"destination": "/usr/lib64/libz.so.1.2", "source": "/z", "options": ["rbind"]},
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data/archive.so.tar", "source": "/w", "options": ["bind"]},
        {"destination": "/tmp/notbound.so", "type": "tmpfs", "source": "tmpfs"},
    ]})
    assert bundle_library_folders(state) == ["/usr/lib64", "/vendor/lib"]


def test_net_devices_from_config(tmp_path):
    state = state_for(tmp_path, {"linux": {"netDevices": {"eth1": {"name": "net0"}, "eth2": {}}}})
    assert bundle_net_devices(state) == [("eth1", "net0"), ("eth2", "eth2")]
    assert bundle_net_devices(state_for(tmp_path, {})) == []
