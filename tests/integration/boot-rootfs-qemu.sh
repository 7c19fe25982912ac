#!/usr/bin/env bash
# Builds the default guest image with `cxvm build-rootfs` (.cache/guest/rootfs.cpio) and
# boots it under QEMU TCG with boot-rootfs.exp. usage: boot-rootfs-qemu.sh CXVM WORKDIR
set -euo pipefail
cxvm=$1 work=$2
repo=$(cd "${CXVM_SOURCE_DIR:-$(dirname "$0")/../..}" && pwd)
cache=${CXVM_CACHE:-$repo/.cache}
kit=$cache/kit
for tool in expect qemu-system-i386; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps)"; exit 77; }
done
[ -f "$kit/bzImage" ] || { echo "SKIP: no guest kit at $kit (scripts/fetch-guest-kit)"; exit 77; }
mkdir -p "$work"
"$cxvm" build-rootfs
start=$(date +%s)
expect "$(dirname "$0")/boot-rootfs.exp" "$kit/bzImage" "$cache/guest/rootfs.cpio" "$work/console.log"
echo "boot test: $(( $(date +%s) - start )) s (console log: $work/console.log)"
