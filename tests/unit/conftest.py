"""Shared helpers for unit tests."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def write_spec(tmp_path: Path):
    """Write a spec file (dict -> JSON, str -> as is) and return its path."""

    def write(name: str, content: Any, directory: Path | None = None) -> str:
        target = (directory or tmp_path) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(textwrap.dedent(content))
        else:
            target.write_text(json.dumps(content))
        return str(target)

    return write



@pytest.fixture
def dev_dir():
    """A fresh directory under the real /dev (spec device paths must be under /dev/), removed afterwards."""
    import os
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("mknod in /dev needs root")
    directory = Path(tempfile.mkdtemp(prefix="cdishim-test-", dir="/dev"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)
