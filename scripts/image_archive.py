#!/usr/bin/env python3
"""Wrap a root filesystem tarball into a one-layer docker-archive image.

The result is what `docker save` writes and what `docker load`,
`podman load` and `ctr image import` read: the layer tar (uncompressed),
the image config JSON, ``manifest.json`` and the legacy ``repositories``
file. Outer members are sorted and carry a fixed mtime (SOURCE_DATE_EPOCH or
0), so the same layer and the same SOURCE_DATE_EPOCH give the same archive.

Usage: image_archive.py LAYER_TAR OUTPUT_TAR --tag NAME:TAG [--arch DPKG_ARCH]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
CMD = ["cdishim-ctl", "--help"]  # no Entrypoint: a Kubernetes `command:` replaces Cmd as a whole
# dpkg architecture names that differ from the OCI/Go ones; the rest are the same (amd64, arm64, s390x, ...).
OCI_ARCH = {"i386": "386", "armhf": "arm", "armel": "arm", "ppc64el": "ppc64le", "mips64el": "mips64le"}
OCI_VARIANT = {"armhf": "v7", "armel": "v5", "arm64": "v8"}
CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH as an int, or None when unset; ValueError when it is not a number."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"SOURCE_DATE_EPOCH is not a number of seconds: {value!r}") from None


def rfc3339(epoch: float) -> str:
    """A UTC timestamp as the image config spells it: 2024-01-02T03:04:05Z."""
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_config(diff_id: str, dpkg_arch: str, created: str, env: list[str], cmd: list[str]) -> dict[str, object]:
    """The image config: platform, Env and Cmd, the one layer's diff_id, one history entry."""
    config: dict[str, object] = {
        "architecture": OCI_ARCH.get(dpkg_arch, dpkg_arch),
        "os": "linux",
        "created": created,
        "config": {"Env": env, "Cmd": cmd},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created": created, "created_by": "mmdebstrap (make image)"}],
    }
    if dpkg_arch in OCI_VARIANT:
        config["variant"] = OCI_VARIANT[dpkg_arch]
    return config


def _member(name: str, size: int, mtime: int, directory: bool = False) -> tarfile.TarInfo:
    """A root-owned tar header with a fixed mtime."""
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = size
        info.mode = 0o644
    return info


def write_docker_archive(layer: Path, output: Path, tag: str, dpkg_arch: str,
                         env: list[str] | None = None, cmd: list[str] | None = None) -> str:
    """Write *output*, a docker-archive holding *layer* as the image *tag*; returns the image id (sha256:...)."""
    if ":" not in tag.rsplit("/", 1)[-1]:
        raise ValueError(f"tag {tag!r} needs the form NAME:TAG")
    epoch = source_date_epoch()
    mtime = epoch if epoch is not None else 0
    created = rfc3339(epoch if epoch is not None else time.time())
    diff_id = sha256_file(layer)
    config = json.dumps(image_config(diff_id, dpkg_arch, created, env or ENV, cmd or CMD),
                        sort_keys=True, separators=(",", ":")).encode()
    config_id = hashlib.sha256(config).hexdigest()
    layer_name = f"{diff_id}/layer.tar"
    manifest = json.dumps([{"Config": f"{config_id}.json", "RepoTags": [tag], "Layers": [layer_name]}]).encode()
    name, _, version = tag.rpartition(":")
    repositories = json.dumps({name: {version: diff_id}}).encode()
    small = {f"{config_id}.json": config, "manifest.json": manifest, "repositories": repositories,
             f"{diff_id}/VERSION": b"1.0"}

    partial = output.with_name(output.name + ".part")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
        for member in sorted([*small, f"{diff_id}/", layer_name]):
            if member.endswith("/"):
                archive.addfile(_member(member, 0, mtime, directory=True))
            elif member == layer_name:
                with open(layer, "rb") as stream:
                    archive.addfile(_member(member, layer.stat().st_size, mtime), stream)
            else:
                archive.addfile(_member(member, len(small[member]), mtime), io.BytesIO(small[member]))
    partial.replace(output)
    return f"sha256:{config_id}"


def dpkg_architecture() -> str:
    """The build machine's dpkg architecture (amd64, arm64, ...)."""
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("layer", type=Path, help="the root filesystem as an uncompressed tar")
    parser.add_argument("output", type=Path, help="the docker-archive to write")
    parser.add_argument("--tag", required=True, help="NAME:TAG, as `docker images` lists it")
    parser.add_argument("--arch", help="dpkg architecture of the layer (default: this machine's)")
    args = parser.parse_args(argv)
    try:
        image_id = write_docker_archive(args.layer, args.output, args.tag, args.arch or dpkg_architecture())
    except (OSError, ValueError, subprocess.CalledProcessError) as error:
        print(f"image_archive: {error}", file=sys.stderr)
        return 1
    print(f"{args.output}: {args.tag} {image_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
