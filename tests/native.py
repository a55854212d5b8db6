"""Native test artefacts built on the spot: a real shared library, made with gcc."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SONAME = "libmockgpu.so.1"


def _require_gcc() -> None:
    """Fail (in CI) or skip when gcc is missing."""
    if shutil.which("gcc") is None:
        message = "gcc is missing: run `make deps`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def build_shared_library(directory: Path) -> Path:
    """Compile ``libmockgpu.so.1`` into *directory*; fail (in CI) or skip without gcc."""
    _require_gcc()
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "mockgpu.c"
    source.write_text("int mock_gpu_count(void) { return 8; }\n")
    library = directory / SONAME
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{SONAME}", "-o", str(library), str(source)], check=True)
    source.unlink()
    return library


LAUNCHER_SOURCE = Path(__file__).resolve().parents[1] / "launcher" / "cdishim.c"


def build_launcher(directory: Path) -> Path:
    """Compile the launcher (launcher/cdishim.c) into *directory*, warnings as errors."""
    _require_gcc()
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / "cdishim"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(program), str(LAUNCHER_SOURCE)],
                   check=True)
    return program
