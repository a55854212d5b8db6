"""Hostile rootfs fixtures: bundles whose rootfs tries to make hooks write on the host."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from cdishim.hooks.main import main


@dataclass
class Bundle:
    """A bundle with a rootfs, and a host dir with a canary file that must never change."""

    path: Path
    rootfs: Path
    host: Path

    @property
    def canary(self) -> Path:
        return self.host / "canary"

    def host_untouched(self) -> bool:
        entries = sorted(p.relative_to(self.host).as_posix() for p in self.host.rglob("*"))
        return (self.canary.read_text() == "original" and self.canary.stat().st_mode & 0o777 == 0o600
                and entries == ["canary", "etc", "etc/ld.so.conf.d", "lib"])

    def state(self) -> bytes:
        return json.dumps({"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 0,
                           "bundle": str(self.path), "annotations": {}}).encode()

    def hook(self, monkeypatch, capsys, *argv: str) -> tuple[int, str]:
        stdin = io.TextIOWrapper(io.BytesIO(self.state()))
        monkeypatch.setattr("sys.stdin", stdin)
        status = main(list(argv))
        return status, capsys.readouterr().err


@pytest.fixture
def bundle(tmp_path) -> Bundle:
    host = tmp_path / "host"
    (host / "etc" / "ld.so.conf.d").mkdir(parents=True)
    (host / "lib").mkdir()
    (host / "canary").write_text("original")
    os.chmod(host / "canary", 0o600)
    path = tmp_path / "bundle"
    rootfs = path / "rootfs"
    rootfs.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({
        "ociVersion": "1.0.2", "root": {"path": "rootfs"},
        "process": {"env": ["PATH=/bin", "LD_PRELOAD=/evil.so"], "cwd": "/", "args": ["sh"]},
    }))
    return Bundle(path=path, rootfs=rootfs, host=host)


def escape_forms(bundle: Bundle, target: Path) -> dict[str, str]:
    """Symlink contents pointing at *target* on the host: absolute and ../ forms."""
    depth = len(bundle.rootfs.parts) + 2
    return {"absolute": str(target), "dotdot": "../" * depth + str(target).lstrip("/")}
