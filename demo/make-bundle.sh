#!/bin/sh
# Build a busybox OCI bundle.
# Usage: make-bundle.sh DIR 'JSON-ANNOTATIONS' 'SHELL-COMMAND'
set -eu

bundle=$1
annotations=$2
script=$3

rm -rf "$bundle"
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$bundle/rootfs/bin/$applet"
done
mkdir -p "$bundle/rootfs/dev" "$bundle/rootfs/proc" "$bundle/rootfs/sys" "$bundle/rootfs/tmp" \
    "$bundle/rootfs/etc" "$bundle/rootfs/usr/local/bin"
runc spec --bundle "$bundle"
jq --argjson annotations "$annotations" --arg script "$script" '
    .process.terminal = false
    | .process.args = ["/bin/sh", "-c", $script]
    | .annotations = $annotations
    | .hostname = "cdishim-demo"
' "$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"
