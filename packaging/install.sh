#!/bin/sh
# `make install` / `make uninstall`: cdishim from this source tree, for people
# not using the .deb. Installs with Debian python3's default scheme (on Debian:
# /usr/local/bin and /usr/local/lib/python3.X/dist-packages), the hooks.d
# files into /etc/containers/oci/hooks.d, man pages, and a commented
# /etc/cdishim/config.toml when there is none. DESTDIR is honoured.
# Usage: install.sh install|uninstall
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

python=/usr/bin/python3
destdir=${DESTDIR:-}
purelib=$($python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
scripts=$($python -c 'import sysconfig; print(sysconfig.get_paths()["scripts"])')
prefix=${scripts%/bin}
hooksd=/etc/containers/oci/hooks.d
mandir=$prefix/share/man/man1
version=$(PYTHONPATH=src $python -c 'import cdishim; print(cdishim.__version__)')

install_files() {
    for pkg in python3-build python3-installer python3-setuptools python3-wheel; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="${missing:-} $pkg"
    done
    if [ -n "${missing:-}" ]; then
        echo "installing build tools:$missing"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
    rm -rf build/wheel
    $python -m build --wheel --no-isolation --outdir build/wheel . >build/wheel.log 2>&1 ||
        { tail -20 build/wheel.log; exit 1; }
    $python -m installer ${destdir:+--destdir "$destdir"} build/wheel/cdishim-"$version"-*.whl
    mkdir -p "$destdir$hooksd" "$destdir$mandir" "$destdir/etc/cdishim"
    for hook in hooks/oci/hooks.d/*.json; do
        sed "s|/usr/bin/cdishim-hook|$scripts/cdishim-hook|" "$hook" >"$destdir$hooksd/${hook##*/}"
    done
    cp packaging/man/cdishim.1 "$destdir$mandir/"
    [ -e "$destdir/etc/cdishim/config.toml" ] || cp packaging/config.toml "$destdir/etc/cdishim/config.toml"
    echo "installed cdishim $version in $scripts; next: cdishim-ctl configure --engine ENGINE (see --help)"
}

uninstall_files() {
    record=$(ls -d "$destdir$purelib"/cdishim-*.dist-info/RECORD 2>/dev/null | head -n 1 || true)
    if [ -z "$record" ]; then
        echo "cdishim is not installed in $purelib"
        exit 1
    fi
    cut -d, -f1 "$record" | while read -r path; do
        case $path in
            /*) rm -f "$destdir$path" ;;
            *) rm -f "$destdir$purelib/$path" ;;
        esac
    done
    rm -rf "$destdir$purelib/cdishim" "${record%/RECORD}"
    rm -f "$destdir$hooksd"/cdishim-*.json "$destdir$mandir/cdishim.1"
    echo "removed cdishim; /etc/cdishim/config.toml is kept (yours to delete)"
}

case ${1:-} in
    install) install_files ;;
    uninstall) uninstall_files ;;
    *) echo "usage: $0 install|uninstall" >&2; exit 2 ;;
esac
