"""cdishim as the OCI runtime: real runc, real devices, real containers."""

from __future__ import annotations

import json
import os
import time

from tests.integration.conftest import gpu_request

INSPECT = r"""
for d in /dev/mock/*; do stat -c 'node %n %F %t:%T' "$d"; done
grep ' /mock/lib/' /proc/mounts | while read -r src dst fs opts rest; do echo "mount $dst $opts"; done
echo "env MOCK_GPU_DRIVER=$MOCK_GPU_DRIVER"
if echo x >/mock/lib/device_probe.so 2>/dev/null; then echo "libdir writable"; fi
for lib in /mock/lib/*.so; do echo tamper >>"$lib" 2>/dev/null && echo "writable $lib"; done
list_device.sh
"""


def container_view(runtime, make_bundle, *numbers: int) -> list[str]:
    bundle = make_bundle(gpu_request(*numbers), INSPECT)
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), f"view-{os.getpid()}-{numbers[0]}")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_demo_scenario_each_container_sees_exactly_its_devices(runtime, make_bundle):
    for numbers in ((0, 1, 2, 3), (4, 5, 6)):
        lines = container_view(runtime, make_bundle, *numbers)
        nodes = sorted(line for line in lines if line.startswith("node "))
        assert nodes == [f"node /dev/mock/device_{n} character special file 59:1" for n in numbers]
        mounts = sorted(line.split()[1] for line in lines if line.startswith("mount "))
        assert mounts == [f"/mock/lib/device_{n}.so" for n in numbers]
        for line in lines:
            if line.startswith("mount "):
                assert line.split()[2].split(",")[0] == "ro", line
        assert not [line for line in lines if line.startswith("writable")]
        assert "env MOCK_GPU_DRIVER=1.0" in lines
        assert f"{len(numbers)} mock device(s)" in lines


def test_unresolvable_device_fails_before_runc_and_leaves_config_alone(runtime, make_bundle):
    bundle = make_bundle(gpu_request(1, 99), "true")
    before = (bundle / "config.json").read_bytes()
    result = runtime.cdishim_cmd("create", "--bundle", str(bundle), "unresolvable")
    assert result.returncode == 1
    assert result.stderr == "cdishim: unresolvable CDI devices mock.com/gpu=device_99\n"
    assert result.stdout == ""
    assert (bundle / "config.json").read_bytes() == before
    assert "unresolvable" not in runtime.runc_cmd("list").stdout


def test_errors_reach_runc_log_in_json(runtime, make_bundle, tmp_path):
    bundle = make_bundle(gpu_request(42), "true")
    log = tmp_path / "log.json"
    result = runtime.cdishim_cmd("--log", str(log), "--log-format", "json", "create", "--bundle", str(bundle), "x")
    assert result.returncode == 1
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records[-1]["level"] == "error"
    assert records[-1]["msg"] == "cdishim: unresolvable CDI devices mock.com/gpu=device_42"


def test_errors_reach_runc_log_in_text(runtime, make_bundle, tmp_path):
    bundle = make_bundle({"cdi.k8s.io/x": "not-a-device"}, "true")
    log = tmp_path / "log.txt"
    result = runtime.cdishim_cmd("--log", str(log), "create", "--bundle", str(bundle), "x")
    assert result.returncode == 1
    text = log.read_text()
    assert "level=error" in text and 'invalid CDI device name \\"not-a-device\\"' in text


def test_bad_config_json_is_left_byte_for_byte(runtime, tmp_path):
    bundle = tmp_path / "broken"
    bundle.mkdir()
    (bundle / "config.json").write_bytes(b'{"annotations": {"cdi.k8s.io/x": "mock.com/gpu=device_0"')
    result = runtime.cdishim_cmd("create", "--bundle", str(bundle), "broken")
    assert result.returncode == 1
    assert "is not valid JSON" in result.stderr and result.stderr.count("\n") == 1
    assert (bundle / "config.json").read_bytes() == b'{"annotations": {"cdi.k8s.io/x": "mock.com/gpu=device_0"'
    assert os.listdir(bundle) == ["config.json"]


def test_container_without_requests_runs_untouched(runtime, make_bundle):
    bundle = make_bundle({}, "ls /dev/mock 2>&1; echo done")
    before = (bundle / "config.json").read_bytes()
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), "plain")
    assert result.returncode == 0 and "done" in result.stdout
    assert "device_" not in result.stdout
    assert (bundle / "config.json").read_bytes() == before


def wait_for_status(runtime, container: str, status: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        state = json.loads(runtime.runc_cmd("state", container).stdout)
        if state["status"] == status or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def test_lifecycle_and_passthrough_match_runc(runtime, make_bundle, tmp_path):
    bundle = make_bundle(gpu_request(2), "sleep 30")
    with open(tmp_path / "create.out", "w") as out:
        created = runtime.cdishim_cmd("create", "--bundle", str(bundle), "life", stdout=out, stderr=out, capture_output=False)
    assert created.returncode == 0, (tmp_path / "create.out").read_text()
    through_shim = runtime.cdishim_cmd("state", "life")
    direct = runtime.runc_cmd("state", "life")
    assert (through_shim.returncode, through_shim.stdout, through_shim.stderr) == (direct.returncode, direct.stdout, direct.stderr)
    assert json.loads(through_shim.stdout)["status"] == "created"
    assert runtime.cdishim_cmd("start", "life").returncode == 0
    assert wait_for_status(runtime, "life", "running")["status"] == "running"
    listed = runtime.cdishim_cmd("list", "--format", "json")
    assert [c["id"] for c in json.loads(listed.stdout)] == ["life"]
    assert runtime.cdishim_cmd("kill", "life", "KILL").returncode == 0
    assert wait_for_status(runtime, "life", "stopped")["status"] == "stopped"
    assert runtime.cdishim_cmd("delete", "life").returncode == 0
    gone_shim, gone_runc = runtime.cdishim_cmd("state", "life"), runtime.runc_cmd("state", "life")
    assert gone_shim.returncode == gone_runc.returncode != 0
    assert gone_shim.stdout == gone_runc.stdout == ""


def test_retried_create_does_not_inject_twice(runtime, make_bundle, tmp_path):
    bundle = make_bundle(gpu_request(3, 5), "true")
    for attempt in range(2):
        with open(tmp_path / "create.out", "w") as out:
            result = runtime.cdishim_cmd("create", "--bundle", str(bundle), "retry", stdout=out, stderr=out, capture_output=False)
        assert result.returncode == 0, (tmp_path / "create.out").read_text()
        assert runtime.cdishim_cmd("delete", "--force", "retry").returncode == 0
    config = json.loads((bundle / "config.json").read_text())
    paths = [d["path"] for d in config["linux"]["devices"]]
    assert paths.count("/dev/mock/device_3") == 1 and paths.count("/dev/mock/device_5") == 1
    destinations = [m["destination"] for m in config["mounts"]]
    assert destinations.count("/usr/local/bin/list_device.sh") == 1
    assert config["process"]["env"].count("MOCK_GPU_DRIVER=1.0") == 1
    assert config["annotations"]["cdishim.injected-devices"] == "mock.com/gpu=device_3,mock.com/gpu=device_5"


def test_a_broken_spec_file_does_not_hide_good_ones(runtime, make_bundle, spec_dir, tmp_path):
    extra = tmp_path / "extra-cdi"
    extra.mkdir()
    (extra / "broken.json").write_text("{ this is not a spec")
    runtime.env["CDI_SPEC_DIRS"] = f"{spec_dir}:{extra}"
    lines = container_view(runtime, make_bundle, 7)
    assert [line for line in lines if line.startswith("node ")] == ["node /dev/mock/device_7 character special file 59:1"]


def test_runtime_loop_is_an_error_not_a_hang(runtime, make_bundle, tmp_path):
    wrapper = tmp_path / "runc-wrapper"
    wrapper.write_text(f"#!/bin/sh\nexec {runtime.cdishim} \"$@\"\n")
    wrapper.chmod(0o755)
    (tmp_path / "cdishim.toml").write_text(f'runtimes = ["{wrapper}"]\n')
    result = runtime.cdishim_cmd("state", "x", timeout=20)
    assert result.returncode == 1
    assert f'low-level runtime "{wrapper}" called cdishim again' in result.stderr


def test_cdishim_never_picks_itself(runtime, tmp_path):
    (tmp_path / "cdishim.toml").write_text(f'runtimes = ["{runtime.cdishim}"]\n')
    result = runtime.cdishim_cmd("state", "x")
    assert result.returncode == 1
    assert "no low-level OCI runtime found" in result.stderr


def test_version_prints_both(runtime):
    result = runtime.cdishim_cmd("--version")
    assert result.returncode == 0
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("cdishim version ")
    assert second.startswith("runc version ")


def test_passthrough_does_not_start_python_once_runtime_is_recorded(runtime, make_bundle, tmp_path):
    runtime.env["CDISHIM_CACHE_DIR"] = str(tmp_path / "cache")
    bundle = make_bundle(gpu_request(1), "sleep 30")
    with open(tmp_path / "create.out", "w") as out:
        created = runtime.cdishim_cmd("create", "--bundle", str(bundle), "fast", stdout=out, stderr=out, capture_output=False)
    assert created.returncode == 0, (tmp_path / "create.out").read_text()
    record = (tmp_path / "cache" / "runtime").read_text()
    assert "runtime=" in record
    runtime.env["CDISHIM_PYTHON"] = "/nonexistent/python"  # any Python start would fail now
    state = runtime.cdishim_cmd("state", "fast")
    assert state.returncode == 0 and json.loads(state.stdout)["status"] == "created"
    assert runtime.cdishim_cmd("delete", "--force", "fast").returncode == 0
    assert runtime.cdishim_cmd("create", "--bundle", str(bundle), "again").returncode != 0  # create needs Python
