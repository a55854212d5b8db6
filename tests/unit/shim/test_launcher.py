"""The sh launcher (bin/cdishim): the real script, with a fake Python and runtime."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from cdishim.oci.runtime_record import record_text
from tests.unit.shim.argv_table import CASES, IDS

LAUNCHER = Path(__file__).resolve().parents[3] / "bin" / "cdishim"


@pytest.fixture
def world(tmp_path):
    """A fake python and runtime that say who ran, and a trusted runtime record."""
    fake_python = tmp_path / "fake-python"
    fake_python.write_text('#!/bin/sh\necho "python $*"\n')
    runtime = tmp_path / "fake-runc"
    runtime.write_text('#!/bin/sh\necho "runtime HANDED_OVER_TO=$CDISHIM_HANDED_OVER_TO $*"\n')
    for program in (fake_python, runtime):
        program.chmod(0o755)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    config = tmp_path / "config.toml"
    env = {
        "PATH": "/usr/bin:/bin",
        "CDISHIM_PYTHON": str(fake_python),
        "CDISHIM_CACHE_DIR": str(cache),
        "CDISHIM_CONFIG": str(config),
    }
    (cache / "runtime").write_text(record_text(str(config), env["PATH"], str(runtime)))
    return {"env": env, "cache": cache, "config": config, "runtime": runtime}


def launch(world, *argv: str, **env: str) -> str:
    result = subprocess.run(
        ["sh", str(LAUNCHER), *argv], env={**world["env"], **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_launcher_follows_the_shared_table(world, case):
    output = launch(world, *case["argv"])
    assert output.split()[0] == case["launcher"]
    if case["launcher"] == "runtime":
        assert output == f"runtime HANDED_OVER_TO={world['runtime']} {' '.join(case['argv'])}".rstrip()
    else:
        assert output.startswith("python -I -c ")
        assert output.endswith(f" {LAUNCHER} {' '.join(case['argv'])}".rstrip())


@pytest.mark.parametrize(
    "spoil",
    [
        "remove the record",
        "record for another config",
        "record for another PATH",
        "runtime not executable",
        "config newer than record",
        "record is a symlink",
        "loop marker set",
    ],
)
def test_untrusted_or_stale_records_go_to_python(world, spoil):
    record = world["cache"] / "runtime"
    env = {}
    if spoil == "remove the record":
        record.unlink()
    elif spoil == "record for another config":
        record.write_text(record_text("/etc/other.toml", world["env"]["PATH"], str(world["runtime"])))
    elif spoil == "record for another PATH":
        env["PATH"] = "/bin"
    elif spoil == "runtime not executable":
        world["runtime"].chmod(0o644)
    elif spoil == "config newer than record":
        world["config"].write_text("")
        future = time.time() + 10
        os.utime(world["config"], (future, future))
    elif spoil == "record is a symlink":
        real = world["cache"] / "real-record"
        record.rename(real)
        record.symlink_to(real)
    elif spoil == "loop marker set":
        env["CDISHIM_HANDED_OVER_TO"] = "/usr/sbin/runc"
    assert launch(world, "state", "x", **env).startswith("python ")


def test_an_existing_older_config_keeps_the_fast_path(world):
    world["config"].write_text("")
    past = time.time() - 10
    os.utime(world["config"], (past, past))
    assert launch(world, "state", "x").startswith("runtime ")


def test_an_empty_cache_dir_disables_the_fast_path(world):
    assert launch(world, "state", "x", CDISHIM_CACHE_DIR="").startswith("python ")
