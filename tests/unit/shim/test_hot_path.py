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


# --- through the compiled launcher, as engines and runc run cdishim ----------------------------

# Every module of cdishim a warm create with devices and a hook imports, and the standard
# library modules it adds to a bare `python -I -S` start. A new import on this path fails here:
# put it off to where it is needed, or add it with the reason.
WARM_CREATE_MODULES = {
    "cdishim", "cdishim.cdi", "cdishim.cdi.annotations", "cdishim.cdi.cache", "cdishim.cdi.decode",
    "cdishim.cdi.edits", "cdishim.cdi.hostdevices", "cdishim.cdi.inject", "cdishim.cdi.model", "cdishim.cdi.names",
    "cdishim.cdi.registry", "cdishim.cdi.trust", "cdishim.defaults", "cdishim.errors",
    "cdishim.fsutil", "cdishim.injection", "cdishim.injection.hookplan", "cdishim.injection.pipeline",
    "cdishim.injection.requests", "cdishim.jsonfast", "cdishim.log", "cdishim.oci", "cdishim.oci.bundle",
    "cdishim.oci.runtime", "cdishim.oci.runtime_record", "cdishim.profile", "cdishim.record", "cdishim.settings",
    "cdishim.shim", "cdishim.shim.argv", "cdishim.shim.create", "cdishim.shim.main", "cdishim.statcache",
}
HOOK_STAGE_MODULES = {
    "cdishim", "cdishim.defaults", "cdishim.errors", "cdishim.fsutil", "cdishim.hooks", "cdishim.hooks.main",
    "cdishim.hooks.sandbox", "cdishim.hooks.wrapper", "cdishim.log", "cdishim.record", "cdishim.settings",
    "cdishim.statcache",
}
# What else either path may add: the standard library modules seen on 3.9 to 3.13 (a given
# Python may import fewer), and _prctl (python-prctl), with which the hook stage sets no_new_privs.
OTHERS_ALLOWED = {"_prctl", "__future__", "_collections_abc", "_json", "_stat", "genericpath", "os",
                  "posixpath", "select", "stat", "types", "zlib"}


def bare_start_modules(python: str) -> set[str]:
    """What `python -I -S -c pass` imports by itself."""
    result = subprocess.run([python, "-I", "-S", "-X", "importtime", "-c", "pass"], capture_output=True, text=True,
                            check=True)
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


@pytest.fixture
def launched(tmp_path):
    """Run the compiled launcher (as cdishim or cdishim-hook) with its -S start traced by -X importtime."""
    from tests.native import build_launcher
    from tests.unit.shim.test_launcher import installed_launcher

    bin_dir = tmp_path / "bin"
    launcher = installed_launcher(bin_dir, build_launcher(tmp_path / "build"))
    hook_program = bin_dir / "cdishim-hook"
    hook_program.write_text(f"#!{sys.executable}\n")
    hook_program.chmod(0o755)
    tracing_python = tmp_path / "python-importtime"
    tracing_python.write_text(f'#!/bin/sh\nexec {sys.executable} -X importtime "$@"\n')
    tracing_python.chmod(0o755)
    cache = tmp_path / "cache"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CDISHIM_CONFIG": str(tmp_path / "absent.toml"),
           "CDISHIM_CACHE_DIR": str(cache), "CDISHIM_PYTHON": str(tracing_python)}

    def run(argv: list[str], stdin: bytes = b"", fast: bool = True, syspath: str = "", **env_vars: str) -> set[str]:
        """The modules imported; *fast*: the last record, naming the tracing Python (and *syspath*, if given)."""
        record = cache / "runtime"
        if fast:
            text = record.read_text()
            assert f"launcher={launcher}\n" in text and "\nsyspath=" in text
            replaced = {"python=": f"python={tracing_python}\n", "syspath=": f"syspath={syspath}\n" if syspath else None}
            record.write_text("".join(next((new for prefix, new in replaced.items() if new and line.startswith(prefix)),
                                           line) for line in text.splitlines(keepends=True)))
        result = subprocess.run(argv, executable=str(launcher), input=stdin, env={**env, **env_vars},
                                capture_output=True)
        stderr = result.stderr.decode()
        assert result.returncode == 0, stderr
        run.stderr = stderr
        return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}

    return run


def test_a_warm_create_through_the_compiled_launcher_starts_python_with_dash_s_and_imports_only_the_known(
        tmp_path, launched):
    import json
    import time

    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    (spec_dir / "gpu.json").write_text(json.dumps({
        "cdiVersion": "0.6.0", "kind": "vendor.com/gpu", "containerEdits": {"env": ["G=1"]},
        "devices": [{"name": "d0", "containerEdits": {
            "env": ["D=0"], "deviceNodes": [{"path": "/dev/null"}], "mounts": [{"hostPath": "/etc", "containerPath": "/x"}],
            "hooks": [{"hookName": "createContainer", "path": "/bin/true"}]}}]}))
    time.sleep(2.1)  # older than the racy window, so the first create caches the registry
    runtime_dir = tmp_path / "runtime-bin"
    runtime_dir.mkdir()
    (runtime_dir / "runc").write_text("#!/bin/sh\nexit 0\n")
    (runtime_dir / "runc").chmod(0o755)
    env = {"CDI_SPEC_DIRS": str(spec_dir), "CDISHIM_PROFILE": "1", "PATH": str(runtime_dir)}
    config = {"ociVersion": "1.0.2", "process": {"env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}},
              "annotations": {"cdi.k8s.io/x": "vendor.com/gpu=d0"}}
    for run in ("cold", "warm"):
        bundle = tmp_path / run
        bundle.mkdir()
        (bundle / "config.json").write_text(json.dumps(config))
        modules = launched(["cdishim", "create", "--bundle", str(bundle), run], fast=run == "warm", **env)
        assert "D=0" in (bundle / "config.json").read_text()  # the devices were injected
    assert " registry(cached)=" in launched.stderr and "site" not in modules
    assert sorted({m for m in modules if m.startswith("cdishim")} ^ WARM_CREATE_MODULES) == []
    others = modules - bare_start_modules(sys.executable) - WARM_CREATE_MODULES
    assert others <= OTHERS_ALLOWED, sorted(others - OTHERS_ALLOWED)
    hook = json.loads((tmp_path / "warm" / "config.json").read_text())["hooks"]["createContainer"][0]
    assert hook["path"] == str(tmp_path / "bin" / "cdishim")  # the hook entry runs the launcher, by cdishim-hook's name

    stage = launched([*hook["args"]], stdin=json.dumps({"ociVersion": "1.0.2", "id": "c", "pid": 1, "bundle": str(
        tmp_path / "warm")}).encode(), PATH=hook["env"][0].split("=", 1)[1])
    assert "site" not in stage
    assert sorted({m for m in stage if m.startswith("cdishim")} ^ HOOK_STAGE_MODULES) == []
    others = stage - bare_start_modules(sys.executable) - HOOK_STAGE_MODULES
    assert others <= OTHERS_ALLOWED, sorted(others - OTHERS_ALLOWED)


def test_a_recorded_sys_path_gone_stale_costs_only_the_site_import(tmp_path, launched):
    """The Python cdishim was installed with moved its packages: the usual start, not a failure."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text('{"ociVersion": "1.0.2"}')
    runtime_dir = tmp_path / "runtime-bin"
    runtime_dir.mkdir()
    (runtime_dir / "runc").write_text("#!/bin/sh\nexit 0\n")
    (runtime_dir / "runc").chmod(0o755)
    launched(["cdishim", "create", "--bundle", str(bundle), "first"], fast=False, PATH=str(runtime_dir))
    modules = launched(["cdishim", "create", "--bundle", str(bundle), "second"], syspath="/gone/lib:/gone/site-packages",
                       PATH=str(runtime_dir))
    assert "site" in modules and "cdishim.shim.create" in modules
