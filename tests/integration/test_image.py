"""`make image`: the docker-archive loads into docker, containerd and podman, and runs.

The image is built once per session, by `make image`, when
build/image/cdishim-<version>.tar is missing or older than a file it is made
from. Each engine is a private one (data, state and socket under a temp dir)
and loads the archive itself, as a node would.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from cdishim import __version__
from tests.integration.conftest import MAX_IMAGE_SIZE, TAG, require_program, run
from tests.integration.daemons import private_containerd_config, running, unmount_under

PODMAN_RUN = ["--runtime", "runc", "run", "--rm", "--network", "none",
              "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=20000:20000"]

def test_archive_layout(archive):
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
        config = json.load(tar.extractfile(manifest[0]["Config"]))
        repositories = json.load(tar.extractfile("repositories"))
        layer = tar.extractfile(manifest[0]["Layers"][0])
        digest = hashlib.sha256()
        for block in iter(lambda: layer.read(1 << 20), b""):
            digest.update(block)
        with tarfile.open(fileobj=tar.extractfile(manifest[0]["Layers"][0])) as rootfs:
            files = {member.name for member in rootfs if member.isfile()}
    assert names == sorted(names)
    assert manifest[0]["RepoTags"] == [TAG]
    assert repositories == {"cdishim": {__version__: digest.hexdigest()}}
    assert config["rootfs"]["diff_ids"] == [f"sha256:{digest.hexdigest()}"]
    assert config["os"] == "linux" and config["architecture"]
    assert config["config"]["Cmd"] == ["cdishim-ctl", "--help"] and "Entrypoint" not in config["config"]
    assert {"./usr/bin/cdishim-ctl", "./usr/bin/sleep", "./usr/bin/nsenter", "./usr/bin/patchelf"} <= files
    stripped = ("./usr/share/doc/", "./usr/share/man/", "./usr/share/locale/", "./var/lib/apt/lists/", "./dev/")
    assert not [name for name in files if name.startswith(stripped) and not name.endswith(("/copyright", "/lock"))]
    assert archive.stat().st_size < MAX_IMAGE_SIZE


def test_docker_lists_the_image(docker):
    listing = run([*docker, "images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"]).stdout
    assert TAG in listing.split()
    size = int(run([*docker, "image", "inspect", "--format", "{{.Size}}", TAG]).stdout)
    assert size < MAX_IMAGE_SIZE, f"{TAG} is {size} bytes"


def test_docker_runs_cdishim_ctl_and_the_device_plugin_imports(docker):
    docker_run = [*docker, "run", "--rm", "--network", "none", TAG]
    assert run([*docker_run, "cdishim-ctl", "--version"]).stdout.strip() == f"cdishim-ctl {__version__}"
    script = "python3 -c 'import grpc, cdishim.ctl.main' && for p in sleep nsenter patchelf runc; do command -v $p; done"
    assert run([*docker_run, "sh", "-c", script]).stdout.split() == [
        "/usr/bin/sleep", "/usr/bin/nsenter", "/usr/bin/patchelf", "/usr/sbin/runc"]


def test_containerd_imports_the_image(archive):
    require_program("containerd")
    work = Path(tempfile.mkdtemp(prefix="cdishim-image-ctd.", dir="/tmp"))
    config = work / "config.toml"
    config.write_text(private_containerd_config(work).replace(
        "disabled_plugins = []", 'disabled_plugins = ["io.containerd.grpc.v1.cri"]'))
    try:
        for _ in running(["containerd", "--config", str(config)], work / "containerd.sock", work / "containerd.log"):
            ctr = ["ctr", "--address", str(work / "containerd.sock"), "--namespace", "cdishim-image-test"]
            run([*ctr, "image", "import", str(archive)])  # unpacks it too
            assert f"docker.io/library/{TAG}" in run([*ctr, "image", "ls", "-q"]).stdout.split()
    finally:
        unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)


def test_podman_loads_and_runs_the_image(archive):
    require_program("podman")
    work = Path(tempfile.mkdtemp(prefix="cdishim-image-podman.", dir="/tmp"))
    podman = ["podman", "--root", str(work / "storage"), "--runroot", str(work / "run"), "--tmpdir", str(work / "tmp"),
              "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    try:
        run([*podman, "load", "-i", str(archive)])
        names = run([*podman, "images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split()
        assert any(name.split("/")[-1] == TAG for name in names), names
        version = run([*podman, *PODMAN_RUN, TAG, "cdishim-ctl", "--version"]).stdout.strip()
        assert version == f"cdishim-ctl {__version__}"
    finally:
        subprocess.run([*podman, "rm", "--all", "--force"], capture_output=True)
        unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)
