"""podman runs containers through cdishim, and agrees with podman's own CDI.

podman 4.3 applies CDI specs itself for ``--device vendor/class=name``: an
independent implementation. Each case of the table below runs the same
request twice on the same spec, once through podman's CDI with plain runc and
once through cdishim (with a ``cdi.k8s.io/`` annotation), and compares what
the container sees: device nodes, mounts with their options, env, and the
marker a hook writes. Any difference fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import require_program
from tests.integration.images import rootfs_tar
from tests.native import build_shared_library

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/cdishim-busybox:test"
IMAGE_ENV = {"PATH": "/bin", "MOCK_GPU_DRIVER": "0.9", "KEEP": "image"}
# Specs podman can read: its CDI support only looks in the default dirs.
SPEC_DIR = Path("/var/run/cdi")
VIEW = r"""
for node in $(find /dev/mock /dev/cdidiff -type c 2>/dev/null | sort); do stat -c 'node %n %F %t:%T %a %u:%g' "$node"; done
while read -r src dst fs opts rest; do
    case "$dst" in /cdidiff*|/mock/*|/usr/local/bin/*) echo "mount $dst $fs $opts";; esac
done </proc/mounts
env | grep -v -e '^HOSTNAME=' -e '^SHLVL=' -e '^PWD=' | sort | sed 's/^/env /'
"""


def node_edits(*numbers: int, **extra: Any) -> dict[str, Any]:
    return {"deviceNodes": [{"path": f"/dev/mock/device_{n}", **extra} for n in numbers]}


def bind(host: str, container: str, *options: str) -> dict[str, Any]:
    return {"hostPath": host, "containerPath": container, "options": list(options) or ["ro", "nosuid", "nodev", "bind"]}


def hook_edits(marker: str) -> dict[str, Any]:
    return {"hooks": [{"hookName": "createRuntime", "path": "/bin/sh",
                       "args": ["sh", "-c", f"echo ran >> {marker}"]}]}


# name -> (spec-wide edits, {device name: device edits}, devices requested)
CASES: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]] = {
    "device-nodes": ({}, {
        "a": node_edits(0),
        "b": {"deviceNodes": [{"path": "/dev/cdidiff/renamed", "hostPath": "/dev/mock/device_1",
                               "permissions": "rw", "fileMode": 0o640}]},
    }, ["a", "b"]),
    "mounts": ({}, {
        "a": {**node_edits(2), "mounts": [bind("/mock/lib/device_2.so", "/cdidiff/lib/device_2.so"),
                                        {"hostPath": "tmpfs", "containerPath": "/cdidiff/scratch", "type": "tmpfs",
                                         "options": ["nosuid", "nodev", "size=64k"]}]},
    }, ["a"]),
    "env-over-image": ({}, {
        "a": {**node_edits(3), "env": ["MOCK_GPU_DRIVER=2.0", "ADDED=yes"]},
    }, ["a"]),
    "hooks": ({}, {"a": {**node_edits(4), **hook_edits("{marker}")}}, ["a"]),
    "spec-wide": ({"env": ["SPEC_WIDE=1"], "mounts": [bind("/mock/bin/list_device.sh", "/usr/local/bin/list_device.sh")]}, {
        "a": node_edits(5), "b": {**node_edits(6), "env": ["SPEC_WIDE=2"]},
    }, ["b", "a"]),
}


@pytest.fixture(scope="module")
def podman(spec_dir):
    """podman with its storage under a temp dir and a busybox image imported offline."""
    require_program("podman")
    work = Path(tempfile.mkdtemp(prefix="cdishim-podman.", dir="/tmp"))
    base = ["podman", "--root", str(work / "storage"), "--runroot", str(work / "run"), "--tmpdir", str(work / "tmp"),
            "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    env = {key: value for key, value in os.environ.items() if key not in ("CDI_SPEC_DIRS", "CDISHIM_HANDED_OVER_TO")}
    env.update(CDISHIM_CONFIG=str(work / "absent.toml"), CDISHIM_CACHE_DIR=str(work / "cache"))
    try:
        tar = rootfs_tar(work)
        changes = [arg for key, value in IMAGE_ENV.items() for arg in ("--change", f"ENV={key}={value}")]
        subprocess.run([*base, "import", *changes, "-", IMAGE], input=tar, capture_output=True, check=True, env=env)
        yield base, env, work
    finally:
        subprocess.run([*base, "rm", "--all", "--force"], capture_output=True, env=env)
        shutil.rmtree(work, ignore_errors=True)


def podman_run(podman, runtime: str, request: list[str], script: str) -> subprocess.CompletedProcess:
    base, env, _ = podman
    return subprocess.run(
        [*base, "--runtime", runtime, "run", "--rm", "--network", "none",
         "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=20000:20000", *request, IMAGE, "sh", "-c", script],
        capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def case_spec(request, podman):
    """Write the case's spec into podman's spec dir (removed afterwards); yield kind, devices, marker."""
    name = request.param
    spec_wide, devices, requested = CASES[name]
    marker = podman[2] / f"hook-{name}.marker"
    kind = f"cdishim-diff.test/{name}"
    document = {"cdiVersion": "0.5.0", "kind": kind,
                "devices": [{"name": device, "containerEdits": json.loads(json.dumps(edits).replace("{marker}", str(marker)))}
                            for device, edits in devices.items()]}
    if spec_wide:
        document["containerEdits"] = spec_wide
    SPEC_DIR.mkdir(parents=True, exist_ok=True)
    path = SPEC_DIR / f"cdishim-diff-{name}.json"
    path.write_text(json.dumps(document))
    try:
        yield kind, requested, marker
    finally:
        path.unlink()


@pytest.mark.parametrize("case_spec", list(CASES), indirect=True)
def test_cdishim_matches_podman_native_cdi(podman, case_spec, cdishim_bin):
    kind, requested, marker = case_spec
    views = {}
    for label, runtime, request in (
        ("podman CDI", "runc", [arg for device in requested for arg in ("--device", f"{kind}={device}")]),
        # one annotation per device: podman splits --annotation values on commas
        ("cdishim", cdishim_bin, [arg for n, device in enumerate(requested)
                                  for arg in ("--annotation", f"cdi.k8s.io/diff-{n}={kind}={device}")]),
    ):
        marker.unlink(missing_ok=True)
        result = podman_run(podman, runtime, request, VIEW)
        assert result.returncode == 0, f"{label}: {result.stderr}"
        hook = marker.read_text() if marker.exists() else "hook did not run\n"
        views[label] = result.stdout.splitlines() + [f"hook {line}" for line in hook.splitlines()]
    assert views["cdishim"] == views["podman CDI"]
    assert any(line.startswith("node ") for line in views["cdishim"])


def test_annotation_request_shows_the_devices(podman, cdishim_bin, tmp_path):
    # conmon does not pass podman's env on to the runtime: the spec goes where cdishim looks by default.
    spec = SPEC_DIR / "cdishim-podman-gpu.yaml"
    ctl = Path(cdishim_bin).parent / "cdishim-ctl"
    subprocess.run([str(ctl), "generate", "--kind", "cdishim-podman.test/gpu", "--device-glob", "/dev/mock/device_*",
                    "--device-mount", "/mock/lib/{name}.so", "--output", str(spec), "--force"],
                   check=True, capture_output=True)
    try:
        result = podman_run(podman, cdishim_bin, ["--annotation", "cdi.k8s.io/a=cdishim-podman.test/gpu=device_0",
                                                  "--annotation", "cdi.k8s.io/b=cdishim-podman.test/gpu=device_7"],
                            "ls /dev/mock /mock/lib")
    finally:
        spec.unlink()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/dev/mock:", "device_0", "device_7", "/mock/lib:", "device_0.so", "device_7.so"]


def test_hooks_d_ldcache_hook_runs_for_cdi_annotated_containers(podman, tmp_path):
    """podman reads hooks/oci/hooks.d: containers with a cdi.k8s.io/ annotation get the ldcache hook."""
    base, env, work = podman
    library = build_shared_library(tmp_path / "built")
    hooks_dir = tmp_path / "hooks.d"
    hooks_dir.mkdir()
    hook_program = str(Path(sys.executable).parent / "cdishim-hook")
    for path in (REPO / "hooks" / "oci" / "hooks.d").glob("*.json"):
        (hooks_dir / path.name).write_text(path.read_text().replace("/usr/bin/cdishim-hook", hook_program))
    image = "localhost/cdishim-busybox-ldconfig:test"
    tar = rootfs_tar(work / "ldconfig-image", {"sbin/ldconfig": "/sbin/ldconfig"})
    subprocess.run([*base, "import", "--change", "ENV=PATH=/bin:/sbin", "-", image], input=tar,
                   capture_output=True, check=True, env=env)

    def run(*annotation: str) -> str:
        result = subprocess.run(
            [*base, "--hooks-dir", str(hooks_dir), "--runtime", "runc", "run", "--rm", "--network", "none",
             "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=20000:20000", *annotation,
             "-v", f"{library}:/vendor/lib/libmockgpu.so.1:ro", image, "sh", "-c", "ldconfig -p | grep -c mockgpu || true"],
            capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert run("--annotation", "cdi.k8s.io/gpu=mock.com/gpu=device_0") == "1"
    assert run() == "0"  # no cdi.k8s.io/ annotation: the hook does not run
