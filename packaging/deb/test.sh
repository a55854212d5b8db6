#!/bin/sh
# `make test-deb`: build the .deb, install it with apt, run the demo through the
# installed /usr/bin/cdishim on real runc, then purge it and check that
# nothing it installed is left behind. Run as root on Debian 12.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

sh packaging/deb/build.sh >/dev/null
version=$(PYTHONPATH=src python3 -c 'import cdishim; print(cdishim.__version__)')
deb=$PWD/build/deb/cdishim_${version}_$(dpkg --print-architecture).deb
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >build/deb/install.log 2>&1 ||
    { cat build/deb/install.log; fail "apt-get install"; }
grep -q "cdishim-ctl configure --engine docker" build/deb/install.log || fail "postinst did not print the configure hint"
files=$(dpkg -L cdishim)

/usr/bin/cdishim --version | grep -qx "cdishim version $version" || fail "cdishim --version"
/usr/bin/cdishim-ctl --version | grep -qx "cdishim-ctl $version" || fail "cdishim-ctl --version"
/usr/bin/cdishim-hook --help >/dev/null || fail "cdishim-hook --help"
[ "$(head -c 4 /usr/bin/cdishim | tail -c 3)" = ELF ] || fail "/usr/bin/cdishim is not the compiled launcher"
for page in cdishim cdishim-ctl cdishim-hook cdishim-injector; do
    [ -f "/usr/share/man/man1/$page.1.gz" ] || fail "man page $page(1) missing"
done
[ -f /etc/cdishim/config.toml ] || fail "/etc/cdishim/config.toml missing"
dpkg-query -W -f='${Conffiles}' cdishim | grep -q /etc/cdishim/config.toml || fail "config.toml is not a conffile"
[ -f /usr/share/containers/oci/hooks.d/cdishim-netdev.json ] || fail "hooks.d file missing"

# The demo, through the installed programs only.
env -i PATH="$PATH" CDISHIM_DEMO_DIR=/run/cdishim-deb-demo sh demo/run.sh /usr/bin/cdishim >build/deb/demo.log 2>&1 ||
    { cat build/deb/demo.log; fail "demo through /usr/bin/cdishim"; }
grep -q "OK: cdishim-demo-second sees exactly: device_4 device_5 device_6" build/deb/demo.log || fail "demo output"

DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq cdishim >/dev/null 2>&1 || fail "apt-get purge"
left=""
for path in $files; do
    [ -d "$path" ] && continue  # shared directories such as /usr/bin stay
    [ -e "$path" ] && left="$left $path"
done
[ -z "$left" ] || fail "left after purge:$left"
[ ! -e /etc/cdishim ] || fail "/etc/cdishim left after purge"
[ ! -e /run/cdishim ] || fail "/run/cdishim left after purge"
echo "test-deb: OK: built, installed, ran the demo through /usr/bin/cdishim, purged clean ($deb)"
