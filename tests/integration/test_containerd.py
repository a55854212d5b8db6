"""containerd 1.6 (no CDI of its own) runs a container through cdishim.

`ctr run --runc-binary` takes the same path as a CRI runtime entry with
``options.BinaryName``: containerd -> containerd-shim-runc-v2 -> cdishim.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.integration.conftest import require_program
from tests.integration.daemons import running
from tests.integration.images import oci_archive, rootfs_tar

IMAGE = "localhost/cdishim-busybox:test"


@pytest.fixture
def containerd(spec_dir):
    """A containerd with state under a temp dir; yields the ctr command prefix and the work dir."""
    require_program("containerd")
    work = Path(tempfile.mkdtemp(prefix="cdishim-ctd.", dir="/tmp"))
    socket = work / "containerd.sock"
    config = work / "config.toml"
    config.write_text(
        f'version = 2\nroot = "{work}/root"\nstate = "{work}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{socket}"\n'
    )
    env = {**os.environ, "CDI_SPEC_DIRS": str(spec_dir), "CDISHIM_CONFIG": str(work / "absent.toml"),
           "CDISHIM_CACHE_DIR": str(work / "cache")}
    env.pop("CDISHIM_HANDED_OVER_TO", None)
    try:
        for _ in running(["containerd", "--config", str(config)], socket, work / "containerd.log", env=env):
            yield ["ctr", "--address", str(socket), "--namespace", "cdishim-test"], work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_annotation_request_through_the_runc_v2_shim(containerd, cdishim_bin):
    ctr, work = containerd
    archive = oci_archive(rootfs_tar(work), work / "busybox.tar", IMAGE, ["PATH=/bin"])
    subprocess.run([*ctr, "image", "import", str(archive)], check=True, capture_output=True, timeout=120)
    result = subprocess.run(
        [*ctr, "run", "--rm", "--runc-binary", cdishim_bin,
         "--annotation", "cdi.k8s.io/test=mock.com/gpu=device_3,mock.com/gpu=device_5",
         IMAGE, "ctr-test", "/bin/sh", "-c", "ls /dev/mock /mock/lib; echo MOCK_GPU_DRIVER=$MOCK_GPU_DRIVER"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/dev/mock:", "device_3", "device_5", "/mock/lib:", "device_3.so", "device_5.so",
                                     "MOCK_GPU_DRIVER=1.0"]
