#!/bin/sh
# Install the Debian packages cdishim needs, if missing.
# Usage: install-deps.sh base|test|image
#   base: the demo and the runtime (runc, busybox for bundles, Python and its packages)
#   test: base plus the engines and tools the integration tests drive, and
#         libcap-dev, to build python-prctl for the other Pythons of make test-matrix
#   image: what make image needs besides make deb's own (mmdebstrap)
set -eu

BASE="runc busybox-static jq python3 python3-venv python3-yaml python3-structlog \
python3-pyroute2 python3-prctl python3-tomlkit"
TEST="$BASE python3-pytest python3-hypothesis python3-jsonschema python3-grpcio python3-protobuf \
docker.io containerd podman gcc libc6-dev libcap-dev iproute2 procps patchelf"
IMAGE="python3 mmdebstrap"

case ${1:-test} in
    base) packages=$BASE ;;
    test) packages=$TEST ;;
    image) packages=$IMAGE ;;
    *) echo "usage: $0 base|test|image" >&2; exit 2 ;;
esac

missing=""
for pkg in $packages; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting wanted
apt-get install -y -qq --no-install-recommends $missing >/dev/null
