#!/bin/sh
# Install 8 mock devices the way a device vendor's installer would:
# device nodes, a user-space library per device, and a helper script.
# Idempotent: running it again changes nothing.
set -eu

COUNT=${MOCK_DEVICE_COUNT:-8}
MAJOR=89
MINOR=1

mkdir -p /dev/mock /mock/lib /mock/bin
i=0
while [ "$i" -lt "$COUNT" ]; do
    node=/dev/mock/device_$i
    if [ ! -c "$node" ]; then
        rm -f "$node"
        mknod -m 0666 "$node" c "$MAJOR" "$MINOR"
    fi
    printf 'mock user-space library for device_%s\n' "$i" >/mock/lib/device_$i.so
    i=$((i + 1))
done

cat >/mock/bin/list_device.sh <<'SCRIPT'
#!/bin/sh
# List the mock devices usable in this container: node and library.
found=0
for node in /dev/mock/device_*; do
    [ -c "$node" ] || continue
    name=${node##*/}
    lib=/mock/lib/$name.so
    [ -r "$lib" ] || lib="(library missing)"
    echo "$name: node $node, library $lib"
    found=$((found + 1))
done
echo "$found mock device(s)"
SCRIPT
chmod 0755 /mock/bin/list_device.sh
