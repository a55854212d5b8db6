"""A hostile entry in a spec dir never stops a node: real containers and the real tools, per case.

For every case of `tests.hostile_specdir`, a spec dir holds the case beside
a good spec whose device is a mock GPU node. A real runc container asking
for the good device starts and sees it, within a bounded time; ``cdishim-ctl
list``, ``validate`` and ``doctor`` report on the dir with one-line errors
and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_specdir import CASES, GOOD_DEVICE, make_spec_dir

DEADLINE_S = 30
CTL = str(Path(sys.executable).parent / "cdishim-ctl")
ERROR_PREFIXES = ("failed to read CDI Spec ", "failed to parse CDI Spec ", "invalid CDI Spec ", "CDI Spec ",
                  "untrusted CDI Spec ")


@pytest.fixture
def hostile_dir(request, tmp_path, spec_dir) -> Path:  # spec_dir installs the mock devices
    return make_spec_dir(tmp_path / "cdi", request.param, device_node="/dev/mock/device_0")


def ctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([CTL, *args], capture_output=True, text=True, errors="backslashreplace",
                          timeout=DEADLINE_S, env=env)


@pytest.mark.parametrize("hostile_dir", sorted(CASES), indirect=True)
def test_the_good_device_reaches_a_real_container(hostile_dir, runtime, make_bundle, tmp_path):
    runtime.env.update(CDI_SPEC_DIRS=str(hostile_dir), CDISHIM_CACHE_DIR=str(tmp_path / "cache"))
    bundle = make_bundle({"cdi.k8s.io/good": GOOD_DEVICE}, 'echo "good=$GOOD_DEVICE"; ls /dev/mock')
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), f"hostile-{os.getpid()}", timeout=DEADLINE_S)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["good=present", "device_0"]


@pytest.mark.parametrize("hostile_dir", sorted(CASES), indirect=True)
def test_the_tools_report_one_line_per_problem(hostile_dir, tmp_path):
    env = {**os.environ, "CDISHIM_CONFIG": str(tmp_path / "absent.toml"), "CDISHIM_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("CDISHIM_DEBUG", None)
    listing = ctl("list", "--spec-dir", str(hostile_dir), env=env)
    assert listing.returncode == 0 and listing.stderr == "", listing.stderr
    assert GOOD_DEVICE in listing.stdout
    entries = sorted(str(hostile_dir / name) for name in os.listdir(hostile_dir))
    validation = ctl("validate", *entries, env=env)
    assert validation.returncode in (0, 1)
    assert all(line.startswith(ERROR_PREFIXES) for line in validation.stderr.splitlines()), validation.stderr
    assert len(validation.stderr.splitlines()) < len(entries)  # good.yaml at least is valid
    doctor = ctl("doctor", "--spec-dir", str(hostile_dir), env=env)
    assert doctor.returncode in (0, 1) and doctor.stderr == "", doctor.stderr
    assert all(line.split()[0] in ("OK", "WARN", "FAIL") for line in doctor.stdout.splitlines()), doctor.stdout
    assert f"{hostile_dir / 'good.yaml'}: good.example/dev, 1 device(s)" in doctor.stdout
