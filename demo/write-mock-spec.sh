#!/bin/sh
# Write the CDI spec for the mock devices with `cdishim-ctl generate`: kind
# mock.com/gpu, one device per node with its node and its library (read-only),
# plus list_device.sh and MOCK_GPU_DRIVER for any container given a device.
# Usage: write-mock-spec.sh CDISHIM_CTL [SPEC_DIR]   (default /etc/cdi)
set -eu

ctl=$1
dir=${2:-/etc/cdi}
"$ctl" generate --kind mock.com/gpu --device-glob '/dev/mock/device_*' \
    --device-mount '/mock/lib/{name}.so' \
    --mount /mock/bin/list_device.sh:/usr/local/bin/list_device.sh \
    --env MOCK_GPU_DRIVER=1.0 \
    --output "$dir/mock-gpu.yaml" --force
