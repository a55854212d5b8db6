"""Hostile or broken input through the real cdishim program: clear errors, nothing changed."""

from __future__ import annotations

import json
import os

import pytest

REQUEST = {"cdi.k8s.io/x": "mock.com/gpu=device_0"}

# config.json content -> expected error (one line); the file must stay byte for byte
BAD_CONFIGS = [
    (b"", "is not valid JSON"),
    (b"[]", "is not a JSON object"),
    (b'"config"', "is not a JSON object"),
    (b"\xff\xfe{}", "is not valid JSON"),
    (json.dumps({"annotations": []}).encode(), "annotations is not an object"),
    (json.dumps({"annotations": REQUEST, "process": "sh"}).encode(), "OCI spec field process is not an object"),
    (json.dumps({"annotations": REQUEST, "process": {"env": {"A": "1"}}}).encode(),
     "OCI spec field process.env is not a list"),
    (json.dumps({"annotations": REQUEST, "process": {"env": [1]}}).encode(), "OCI spec field process.env[0] is not a string"),
    (json.dumps({"annotations": REQUEST, "process": {"user": {"uid": "root"}}}).encode(),
     "OCI spec field process.user.uid is not an integer"),
    (json.dumps({"annotations": REQUEST, "linux": []}).encode(), "OCI spec field linux is not an object"),
    (json.dumps({"annotations": REQUEST, "linux": {"devices": {}}}).encode(), "OCI spec field linux.devices is not a list"),
    (json.dumps({"annotations": REQUEST, "linux": {"devices": ["/dev/x"]}}).encode(),
     "OCI spec field linux.devices[0] is not an object"),
    (json.dumps({"annotations": REQUEST, "linux": {"resources": {"devices": 3}}}).encode(),
     "OCI spec field linux.resources.devices is not a list"),
    (json.dumps({"annotations": REQUEST, "mounts": {}}).encode(), "OCI spec field mounts is not a list"),
    (json.dumps({"annotations": REQUEST, "mounts": ["/proc"]}).encode(), "OCI spec field mounts[0] is not an object"),
    (json.dumps({"annotations": {"cdi.k8s.io/x": 5}}).encode(), 'annotation "cdi.k8s.io/x": value is not a string'),
    (json.dumps({"annotations": {"cdi.k8s.io/x": "x" * 20000}}).encode(),
     'annotation "cdi.k8s.io/x": value is larger than max-annotation-bytes (16384)'),
    (json.dumps({"annotations": {"cdi.k8s.io/x": ",".join(f"a.com/b=d{n}" for n in range(200))}}).encode(),
     "200 CDI devices requested; max-devices-per-request is 128"),
]


@pytest.mark.parametrize("content, message", BAD_CONFIGS, ids=[str(n) for n in range(len(BAD_CONFIGS))])
def test_bad_config_json_is_a_clear_error_and_left_alone(runtime, tmp_path, content, message):
    bundle = tmp_path / "bad"
    bundle.mkdir()
    (bundle / "config.json").write_bytes(content)
    result = runtime.cdishim_cmd("create", "--bundle", str(bundle), f"bad-{os.getpid()}")
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert (bundle / "config.json").read_bytes() == content
    assert os.listdir(bundle) == ["config.json"]


def test_huge_config_json_is_refused_unread(runtime, tmp_path):
    bundle = tmp_path / "huge"
    bundle.mkdir()
    path = bundle / "config.json"
    with open(path, "wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)  # sparse: one byte over the limit
    result = runtime.cdishim_cmd("create", "--bundle", str(bundle), f"huge-{os.getpid()}")
    assert result.returncode == 1 and "is larger than 67108864 bytes" in result.stderr
    assert path.stat().st_size == 64 * 1024 * 1024 + 1
