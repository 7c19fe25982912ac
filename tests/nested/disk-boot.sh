#!/bin/sh
# disk-boot.sh IMAGE_DIR RAM_MIB CMDLINE [BOOT_TIMEOUT_S]
# Runs inside L1 (busybox sh): the Debian disk boot of tests/integration/disk-boot.sh
# (apps/disk_boot's guest) on the kvm engine. L1's own virtio disk /dev/vda is the cached
# Debian image behind a copy-on-write overlay (tests/nested/kvm-nested-test: QEMU's
# snapshot=on; the cache is never written). `cxvm run --engine kvm --mem RAM_MIB
# --kernel IMAGE_DIR/vmlinuz --initrd IMAGE_DIR/initrd.img --append CMDLINE --disk
# /dev/vda` (the kernel and initrd are copied into L1 at their host paths; the app's
# `disks` attribute names regular files, L1's disk is a block device). Checks, on the
# guest's console: the virtio-blk disk vda in the initrd, the root file system on vda1,
# systemd's serial getty banner and login prompt, root/root, `df /` on /dev/vda1, a file
# written and synced, poweroff, cxvm's exit status 0; then, after cxvm ended, the file
# read from /dev/vda with debugfs (partition 1 at 1 MiB, no mount). Prints
# "disk-boot: ok (...)" on success; exit status 0 only then.
imgdir=$1
mem=$2
append=$3
timeout_boot=${4:-400}
export PATH=/opt/cxvm:/usr/bin:/usr/sbin:/bin:/sbin
dir=/tmp/disk-boot
rm -rf "$dir"
mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
say() { echo "disk-boot: $*"; }
# L1's virtio drivers (build-l1 --add-module), in dependency order.
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  insmod "/lib/modules/$m.ko" || { say "FAILED: insmod $m"; exit 1; }
done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
[ -b /dev/vda ] || { say "FAILED: L1 has no /dev/vda (the overlay drive)"; exit 1; }
say "L1's /dev/vda: $(($(cat /sys/block/vda/size) / 2048)) MiB"
nonce="cxvm-kvm-disk-$(cut -d' ' -f1 /proc/uptime)-$$"
mkfifo in
start=$(date +%s)
cxvm run --engine kvm --mem "${mem}M" --kernel "$imgdir/vmlinuz" --initrd "$imgdir/initrd.img" \
  --append "$append" --disk /dev/vda < in > out 2>&1 &
pid=$!
exec 3> in

finish() {  # finish STATUS MESSAGE
  kill $pid 2>/dev/null
  exec 3>&-
  echo "----- guest console (tail) -----"
  tr -d "\r" < out | tail -80
  echo "--------------------------------"
  say "$2"
  exit "$1"
}
fail() { finish 1 "FAILED: $1 ($(( $(date +%s) - start )) s after cxvm run)"; }
. "$(dirname "$0")/console-lib.sh"  # wait_for, enter_as_root, power_off
lap() { echo "$(( $(date +%s) - start )) s"; }

wait_for 'virtio_blk virtio[0-9]+: \[vda\]' "$timeout_boot" || fail "no virtio-blk disk vda in the guest"
say "vda in the guest after $(lap)"
wait_for 'EXT4-fs \(vda1\): mounted filesystem' "$timeout_boot" || fail "the root file system on /dev/vda1 was not mounted"
wait_for 'Debian GNU/Linux 12 .*ttyS0' "$timeout_boot" || fail "no issue banner of the serial getty"
wait_for 'login: *$' 60 || fail "no login prompt"
say "login prompt after $(lap)"
enter_as_root "assword: *$" 30

echo 'df /; echo df-$((6*7))' >&3
wait_for "df-42" 60 || fail "no answer to df /"
tr -d "\r" < out | grep -Eq '(^|[^a-z0-9/])/dev/vda1 +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+% /$' || fail "df / does not show /dev/vda1"
say "df / shows /dev/vda1"
# The shell computes the marker, so the echoed command line cannot match it.
echo "echo $nonce > /root/cxvm-disk-test.txt && sync && echo synced-\$((6*7))" >&3
wait_for "synced-42" 60 || fail "the file was not written and synced"
echo 'poweroff' >&3
wait_for 'reboot: (Power down|System halted)' 180 || fail "the guest kernel did not power down"
await_exit 60
say "cxvm exited with status 0 after poweroff, $(lap) after cxvm run"
# What reached L1's disk, read without mounting: debugfs at partition 1's offset.
got=$(debugfs -R "cat /root/cxvm-disk-test.txt" "/dev/vda?offset=1048576" 2>/dev/null)
[ "$got" = "$nonce" ] || fail "/root/cxvm-disk-test.txt on /dev/vda after poweroff: expected '$nonce', got '$got'"
say "the synced file is on the disk: $got"
finish 0 "ok ($(lap) from cxvm run to the file checked)"
