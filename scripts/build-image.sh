#!/bin/sh
# Build build/image/cdishim-<version>.tar, a docker-archive of the image cdishim:<version>
# (run as root from the repository root, after `make deb`; `make image` does both).
#
# No base image: mmdebstrap bootstraps Debian 12 (variant essential: no apt)
# from this machine's Debian mirror, with the cdishim .deb of this tree,
# python3-grpcio (the device plugin) and patchelf; coreutils (sleep) and
# util-linux (nsenter) are essential. Docs, man pages and locales are never
# unpacked (dpkg path-exclude, kept in the image's dpkg.cfg.d), the apt lists
# and caches are removed, and /dev is left to the container engines.
# scripts/image_archive.py wraps the root filesystem tar into the archive.
#
# Environment: IMAGE_SOURCES, the apt sources for mmdebstrap (default: the
# machine's /etc/apt/sources.list.d/debian.sources, else mmdebstrap's own
# deb.debian.org lines); SOURCE_DATE_EPOCH, for a reproducible layer and date.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

die() { echo "build-image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap runs in root mode)"
sh scripts/install-deps.sh image || die "cannot install mmdebstrap (scripts/install-deps.sh image)"

version=$(PYTHONPATH=src python3 -c 'import cdishim; print(cdishim.__version__)') || die "cannot read cdishim.__version__"
arch=$(dpkg --print-architecture)
deb=build/deb/cdishim_${version}_$arch.deb
[ -f "$deb" ] || die "$deb is missing: run make deb"
out=build/image
image=$out/cdishim-$version.tar
log=$out/mmdebstrap.log

sources=${IMAGE_SOURCES-}
if [ -z "$sources" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sources=/etc/apt/sources.list.d/debian.sources
fi
# Keep the machine's own apt settings that decide whether its mirror works
# (a snapshot mirror's expired Release files, a proxy).
set --
for option in Acquire::Check-Valid-Until Acquire::http::Proxy; do
    value=""
    eval "$(apt-config shell value "$option")"
    [ -z "$value" ] || set -- "$@" "--aptopt=$option \"$value\""
done

mkdir -p "$out"
# The .deb goes under /tmp: mmdebstrap mounts it at the same path inside the
# root filesystem, and empties the root filesystem's /tmp when it is done.
work=$(mktemp -d /tmp/cdishim-image.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cp "$deb" "$work/cdishim.deb"

echo "bootstrapping bookworm with $deb (log: $log)"
start=$(date +%s)
# shellcheck disable=SC2086,SC2016 # $sources: none or one path; the hook's $1 is for mmdebstrap
mmdebstrap --mode=root --variant=essential --format=tar --skip=output/dev \
    --include="$work/cdishim.deb" --include=python3-grpcio,patchelf \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' \
    "$@" bookworm "$work/rootfs.tar" $sources >"$log" 2>&1 \
    || die "mmdebstrap failed: $(grep -m1 '^E:' "$log" || tail -n 1 "$log") (see $log)"

python3 scripts/image_archive.py "$work/rootfs.tar" "$image" --tag "cdishim:$version" --arch "$arch" \
    || die "cannot write $image"
size=$(stat -c %s "$image")
echo "built $image: cdishim:$version, $((size / 1000000)) MB ($size bytes) in $(($(date +%s) - start)) s"
