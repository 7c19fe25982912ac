#!/usr/bin/env bash
# Boots Debian 12 from a virtio-blk disk: `cxvm run apps/disk_boot` on interp reaches the
# login prompt, root/root logs in, `df /` shows /dev/vda1, a file written and synced in
# the guest is in the image after poweroff (read from the host with debugfs, no mount).
# Works on a sparse copy of the cached image (scripts/build-disk-image; ./test builds it),
# so the cache stays pristine. usage: disk-boot.sh CXVM WORKDIR
set -euo pipefail
cxvm=$1 work=$2
repo=$(cd "${CXVM_SOURCE_DIR:-$(dirname "$0")/../..}" && pwd)
cached=$("$repo/scripts/build-disk-image" --print)
for tool in expect debugfs; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps)"; exit 77; }
done
for f in debian-12-i386.img vmlinuz initrd.img inputs; do
  [ -f "$cached/$f" ] ||
    { echo "SKIP: no Debian image in $cached (scripts/build-disk-image; ./test builds it)"; exit 77; }
done
rm -rf "$work"
mkdir -p "$work/images/debian-12-i386"
# The app names its files relative to the image cache: point it at a copy.
cp --sparse=always "$cached/debian-12-i386.img" "$work/images/debian-12-i386/"
ln -s "$cached/vmlinuz" "$cached/initrd.img" "$work/images/debian-12-i386/"
export CXVM_IMAGE_CACHE=$work/images
img=$work/images/debian-12-i386/debian-12-i386.img
nonce="cxvm-disk-$$-$(date +%s%N)"
start=$(date +%s)
expect "$(dirname "$0")/disk-boot.exp" "$cxvm" "$repo/apps/disk_boot" "$nonce" "$work/console.log"
echo "disk boot test: $(( $(date +%s) - start )) s (console log: $work/console.log)"
# From the host, without mounting: debugfs reads the file system at partition 1's offset.
got=$(debugfs -R "cat /root/cxvm-disk-test.txt" "$img?offset=1048576" 2>/dev/null)
if [ "$got" != "$nonce" ]; then
  echo "FAIL: /root/cxvm-disk-test.txt in the image after poweroff: expected '$nonce', got '$got'"
  debugfs -R "ls -l /root" "$img?offset=1048576" 2>&1 | tail -5
  exit 1
fi
echo "PASS: the file written and synced in the guest is in the image ($got)"
