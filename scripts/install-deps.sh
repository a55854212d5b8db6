#!/bin/sh
# Install the Debian packages cdishim's demo and tests need, if missing.
set -eu

PACKAGES="runc busybox-static jq python3 python3-venv python3-yaml python3-structlog \
python3-pyroute2 python3-prctl python3-tomlkit python3-pytest python3-hypothesis python3-jsonschema \
docker.io containerd podman gcc libc6-dev python3-grpcio python3-protobuf"

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting wanted
apt-get install -y -qq --no-install-recommends $missing >/dev/null
