"""Integration fixtures: real runc, real mock device nodes, real bundles.

The mock devices and the spec are made by the demo's own scripts, so these
tests exercise exactly what `make demo` sets up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cdishim import __version__
from tests.integration.daemons import private_daemon_json, running, unmount_under

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def _requirements():
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (mknod, runc)")
    missing = [tool for tool in ("runc", "jq", "busybox") if shutil.which(tool) is None]
    assert not missing, f"missing tools {missing}: run `make deps`"


@pytest.fixture(scope="session")
def spec_dir(tmp_path_factory) -> Path:
    """A spec dir holding the demo's mock.com/gpu spec, on installed mock devices."""
    subprocess.run([str(DEMO / "install-mock-devices.sh")], check=True)
    directory = tmp_path_factory.mktemp("cdi")
    ctl = Path(sys.executable).parent / "cdishim-ctl"
    subprocess.run([str(DEMO / "write-mock-spec.sh"), str(ctl), str(directory)], check=True, capture_output=True)
    return directory


@pytest.fixture(scope="session")
def cdishim_bin() -> str:
    path = Path(sys.executable).parent / "cdishim"
    assert path.exists(), "cdishim is not installed in this environment: run `make install-dev`"
    return str(path)


@dataclass
class Runtime:
    """Runs cdishim or bare runc against one runc state dir."""

    cdishim: str
    root: Path
    env: dict[str, str]

    def cdishim_cmd(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        return self._run([self.cdishim, "--root", str(self.root), *args], **kwargs)

    def runc_cmd(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        return self._run(["runc", "--root", str(self.root), *args], **kwargs)

    def _run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        kwargs.setdefault("timeout", 60)
        return subprocess.run(argv, env=self.env, **kwargs)


@pytest.fixture
def runtime(tmp_path, spec_dir, cdishim_bin) -> Runtime:
    root = tmp_path / "runc-state"
    env = {
        **os.environ,
        "CDI_SPEC_DIRS": str(spec_dir),
        "CDISHIM_CONFIG": str(tmp_path / "cdishim.toml"),  # absent: defaults
    }
    env.pop("CDISHIM_HANDED_OVER_TO", None)
    rt = Runtime(cdishim_bin, root, env)
    yield rt
    listing = rt.runc_cmd("list", "-q")
    for container in listing.stdout.split():
        rt.runc_cmd("delete", "--force", container)


@pytest.fixture
def make_bundle(tmp_path):
    """Build a busybox bundle whose process runs a shell script."""

    def make(annotations: dict[str, str], script: str, name: str | None = None) -> Path:
        bundle = tmp_path / (name or f"bundle-{uuid.uuid4().hex[:8]}")
        subprocess.run(
            [str(DEMO / "make-bundle.sh"), str(bundle), json.dumps(annotations), script],
            check=True,
            capture_output=True,
        )
        return bundle

    return make


def require_program(name: str) -> None:
    """Fail when *name* is missing in CI (CI=true), skip with the reason elsewhere."""
    if shutil.which(name) is None:
        message = f"{name} is missing: run `make deps`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def gpu_request(*numbers: int) -> dict[str, str]:
    """The annotation asking for mock GPUs by number."""
    return {"cdi.k8s.io/test": ",".join(f"mock.com/gpu=device_{n}" for n in numbers)}


@pytest.fixture
def work() -> Iterator[Path]:
    """A short temp dir (unix socket paths) for a containerd and its pods; no shim of ours left behind."""
    directory = Path(tempfile.mkdtemp(prefix="cdishim-k8s.", dir="/tmp"))
    yield directory
    # shims outlive containerd by design: make sure none of ours is left
    subprocess.run(["pkill", "-f", f"containerd-shim-runc-v2.*{directory}"], capture_output=True)
    unmount_under(directory)
    shutil.rmtree(directory, ignore_errors=True)


# --- the image of `make image`, for the tests that load it or run its pods -----------------

TAG = f"cdishim:{__version__}"
ARCHIVE = REPO / "build" / "image" / f"cdishim-{__version__}.tar"
# What the image is made from: the .deb's tree and the image scripts.
IMAGE_SOURCES = ["src", "bin", "launcher", "hooks", "deploy", "packaging", "pyproject.toml", "setup.py",
                 "scripts/build-image.sh", "scripts/image_archive.py", "scripts/install-deps.sh"]
MAX_IMAGE_SIZE = 150_000_000
DOCKER = "/usr/bin/docker"


def newest_source_mtime() -> float:
    """The latest mtime of the files the image is made from (caches and the editable install's egg-info excluded)."""
    newest = 0.0
    for name in IMAGE_SOURCES:
        path = REPO / name
        files = [path] if path.is_file() else [
            f for f in path.rglob("*")
            if f.is_file() and "__pycache__" not in f.parts and not any(part.endswith(".egg-info") for part in f.parts)
        ]
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def run(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output when it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="session")
def archive() -> Path:
    """build/image/cdishim-<version>.tar, rebuilt by `make image` when it is missing or stale."""
    if not ARCHIVE.exists() or ARCHIVE.stat().st_mtime < newest_source_mtime():
        result = subprocess.run(["make", "-C", str(REPO), "image"], capture_output=True, text=True, timeout=1800)
        assert result.returncode == 0, f"make image failed:\n{(result.stdout + result.stderr)[-3000:]}"
    return ARCHIVE


@pytest.fixture(scope="module")
def docker(archive) -> Iterator[list[str]]:
    """A private dockerd that has loaded the archive; yields its client command."""
    require_program("dockerd")
    directory = Path(tempfile.mkdtemp(prefix="cdishim-image-docker.", dir="/tmp"))
    config = directory / "daemon.json"
    config.write_text(json.dumps(private_daemon_json(directory)))
    try:
        for _ in running(["dockerd", "--config-file", str(config)], directory / "docker.sock", directory / "dockerd.log"):
            client = [DOCKER, "-H", f"unix://{directory}/docker.sock"]
            assert f"Loaded image: {TAG}" in run([*client, "load", "-i", str(archive)]).stdout
            yield client
    finally:
        unmount_under(directory)
        shutil.rmtree(directory, ignore_errors=True)
