#!/bin/sh
# Build cdishim_<version>_<arch>.deb into build/deb/ (run from the repository root).
# The version comes from cdishim.__version__, the one place it is set.
set -eu
# Debian's own tools and python3, whatever else is first in PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

BUILD_DEPS="debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools help2man lintian \
fakeroot dpkg-dev gcc libc6-dev python3-structlog python3-tomlkit python3-yaml"
missing=""
for pkg in $BUILD_DEPS; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "installing build dependencies:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # word splitting wanted
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

version=$(PYTHONPATH=src python3 -c 'import cdishim; print(cdishim.__version__)')
out=build/deb
tree=$out/cdishim-$version
rm -rf "$out"
mkdir -p "$tree"
cp -r src bin launcher hooks deploy packaging pyproject.toml setup.py README.md SECURITY.md "$tree/"
find "$tree" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$tree"/src/*.egg-info
cp -r packaging/deb/debian "$tree/debian"
sed -e "s/@VERSION@/$version/g" -e "s/@DATE@/$(date -R)/" packaging/deb/debian/changelog.in >"$tree/debian/changelog"
rm "$tree/debian/changelog.in"

(cd "$tree" && dpkg-buildpackage -us -uc -b >../build.log 2>&1) || { tail -40 "$out/build.log"; exit 1; }
deb=$out/cdishim_${version}_$(dpkg --print-architecture).deb
echo "built $deb"
lintian --allow-root --pedantic --info --suppress-tags-from-file packaging/deb/lintian-explained "$deb"
