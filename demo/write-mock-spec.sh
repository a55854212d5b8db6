#!/bin/sh
# Write the CDI spec for the mock devices: kind mock.com/gpu, one device per
# node with its node and its library (read-only), plus list_device.sh for all.
# Usage: write-mock-spec.sh [SPEC_DIR]   (default /etc/cdi)
set -eu

dir=${1:-/etc/cdi}
mkdir -p "$dir"
tmp=$(mktemp "$dir/.mock-gpu.yaml.XXXXXX")
{
    echo 'cdiVersion: "0.3.0"'
    echo 'kind: mock.com/gpu'
    echo 'devices:'
    for node in /dev/mock/device_*; do
        name=${node##*/}
        cat <<DEVICE
  - name: $name
    containerEdits:
      deviceNodes:
        - path: $node
      mounts:
        - hostPath: /mock/lib/$name.so
          containerPath: /mock/lib/$name.so
          options: [ro, nosuid, nodev, bind]
DEVICE
    done
    cat <<GLOBAL
containerEdits:
  env:
    - MOCK_GPU_DRIVER=1.0
  mounts:
    - hostPath: /mock/bin/list_device.sh
      containerPath: /usr/local/bin/list_device.sh
      options: [ro, nosuid, nodev, bind]
GLOBAL
} >"$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$dir/mock-gpu.yaml"
echo "wrote $dir/mock-gpu.yaml"
