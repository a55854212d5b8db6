"""The passthrough path stays lean: checked on the real program, by import trace."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("cdishim.cdi", "yaml", "structlog", "pyroute2", "prctl", "json", "tomllib", "tomli")


def imported_modules(tmp_path, *args: str, **env_vars: str) -> set[str]:
    """Modules the `cdishim` program imports before it execs the runtime."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    runtime = bin_dir / "runc"
    runtime.write_text("#!/bin/sh\nexit 0\n")
    runtime.chmod(0o755)
    # No config file: the defaults apply and runc is found on PATH.
    env = {**os.environ, "CDISHIM_CONFIG": str(tmp_path / "absent.toml"), "PATH": str(bin_dir), **env_vars}
    env.pop("CDISHIM_HANDED_OVER_TO", None)
    code = "import sys; from cdishim.shim.main import main; sys.argv[0] = 'cdishim'; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    imported_modules.stderr = result.stderr
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [["state", "x"], ["--root", "/r", "delete", "--force", "create"], ["kill", "x", "KILL"]])
def test_passthrough_imports_no_cdi_code(tmp_path, args):
    modules = imported_modules(tmp_path, *args)
    assert "cdishim.shim.argv" in modules  # the trace is real
    loaded = sorted(m for m in modules if m.startswith(HEAVY))
    assert loaded == []


def test_create_without_requests_imports_no_yaml_or_structlog(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text('{"ociVersion": "1.0.2"}')
    modules = imported_modules(tmp_path, "create", "--bundle", str(bundle), "x")
    assert "cdishim.shim.create" in modules
    assert not [m for m in modules if m.startswith(("yaml", "structlog", "pyroute2", "prctl"))]


# What README promises the create path does not import (Architecture).
CREATE_AVOIDS = ("dataclasses", "typing", "re", "json", "tempfile", "tomllib", "tomli", "yaml", "structlog", "pyroute2",
                 "prctl")


def test_a_warm_create_with_devices_imports_none_of_what_readme_says_it_avoids(tmp_path):
    import json
    import time

    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    (spec_dir / "gpu.json").write_text(json.dumps({
        "cdiVersion": "0.6.0", "kind": "vendor.com/gpu", "containerEdits": {"env": ["G=1"]},
        "devices": [{"name": "d0", "containerEdits": {"env": ["D=0"], "deviceNodes": [{"path": "/dev/null"}],
                                                     "mounts": [{"hostPath": "/etc", "containerPath": "/x"}]}}]}))
    time.sleep(2.1)  # older than the racy window, so the first create caches the registry
    config = {"ociVersion": "1.0.2", "process": {"env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}},
              "annotations": {"cdi.k8s.io/x": "vendor.com/gpu=d0"}}
    env = {"CDI_SPEC_DIRS": str(spec_dir), "CDISHIM_CACHE_DIR": str(tmp_path / "cache"), "CDISHIM_PROFILE": "1"}
    for run in ("cold", "warm"):
        bundle = tmp_path / run
        bundle.mkdir()
        (bundle / "config.json").write_text(json.dumps(config))
        modules = imported_modules(tmp_path, "create", "--bundle", str(bundle), run, **env)
        assert "D=0" in (bundle / "config.json").read_text()  # the devices were injected
    assert "cdishim.injection.pipeline" in modules
    assert " registry(cached)=" in imported_modules.stderr  # the warm create read the registry cache
    loaded = sorted(m for m in modules if m.split(".")[0] in CREATE_AVOIDS)
    assert loaded == []
