"""Container images built offline from the demo's busybox root filesystem.

Engines get them by import: ``docker import`` / ``podman import`` take the
rootfs as a tar stream; ``ctr image import`` takes an OCI image layout
archive, which `oci_archive` writes (one layer, a config, a manifest, an index).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.integration.conftest import DEMO


def rootfs_tar(work: Path, extra: dict[str, str] | None = None) -> bytes:
    """The busybox root filesystem of the demo's bundles, as an uncompressed tar stream.

    *extra* maps paths in the image to host files copied there (``sbin/ldconfig``).
    """
    bundle = work / "image-bundle"
    subprocess.run([str(DEMO / "make-bundle.sh"), str(bundle), "{}", "true"], check=True, capture_output=True)
    for inside, host in (extra or {}).items():
        target = bundle / "rootfs" / inside
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(host, target)
    return subprocess.run(["tar", "-C", str(bundle / "rootfs"), "-c", "."], capture_output=True, check=True).stdout


def _blob(archive: tarfile.TarFile, data: bytes, media_type: str) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def _file(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def oci_archive(layer: bytes, path: Path, reference: str, env: list[str], cmd: list[str] | None = None) -> Path:
    """Write an OCI image layout tar at *path* holding one image named *reference* (default command: a shell)."""
    compressed = gzip.compress(layer, mtime=0)
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {"Env": env, "Cmd": cmd or ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]},
    }
    with tarfile.open(path, "w") as archive:
        layer_desc = _blob(archive, compressed, "application/vnd.oci.image.layer.v1.tar+gzip")
        config_desc = _blob(archive, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_desc, "layers": [layer_desc]}
        manifest_desc = _blob(archive, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
        manifest_desc["annotations"] = {"org.opencontainers.image.ref.name": reference}
        _file(archive, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        _file(archive, "index.json", json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}).encode())
    return path
