#!/bin/sh
# The cdishim demo: two busybox containers run through cdishim (not bare runc),
# each asking for its own mock GPUs with a cdi.k8s.io/ annotation, and each
# checked to see exactly those devices and libraries.
# Usage: run.sh CDISHIM   (the cdishim program to run; cdishim-ctl is next to it)
set -eu

cdishim=$1
here=$(cd "$(dirname "$0")" && pwd)
work=${CDISHIM_DEMO_DIR:-/run/cdishim-demo}
state=$work/runc-state

"$here/install-mock-devices.sh"
"$here/write-mock-spec.sh" "$(dirname "$cdishim")/cdishim-ctl" /etc/cdi

# Show and check what one container sees.
# run_container NAME DEVICE-NUMBERS...
run_container() {
    name=$1
    shift
    devices=""
    expected=""
    for n in "$@"; do
        devices="${devices:+$devices,}mock.com/gpu=device_$n"
        expected="$expected device_$n"
    done
    id=cdishim-demo-$name
    bundle=$work/$name
    "$cdishim" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
    "$here/make-bundle.sh" "$bundle" "{\"cdi.k8s.io/demo\": \"$devices\"}" \
        'echo "--- ls /dev/mock /mock/lib"; ls /dev/mock /mock/lib; echo "--- list_device.sh"; list_device.sh'
    echo
    echo "=== container $id requests $devices"
    output=$("$cdishim" --root "$state" run --bundle "$bundle" "$id")
    echo "$output"
    seen=$(echo "$output" | sed -n 's/^\(device_[0-9]*\): node .*/\1/p' | tr '\n' ' ')
    if [ " $(echo $seen)" != "$expected" ]; then
        echo "FAIL: $id sees [$seen], expected [$expected]" >&2
        exit 1
    fi
    echo "OK: $id sees exactly:$expected"
}

mkdir -p "$work"
run_container first 0 1 2 3
run_container second 4 5 6
rm -rf "$work"
