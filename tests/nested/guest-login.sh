#!/bin/sh
# guest-login.sh [BOOT_TIMEOUT_S [KERNEL [UNAME_M]]]   (defaults: 300 /guest/bzImage i686)
# Runs inside L1 (busybox sh): boots the default guest's initramfs with `cxvm run --engine
# kvm` and drives its serial console with the checks of the interp boot test
# (tests/boot_linux/BootLinuxTest.cpp, DefaultGuestSession): banner and login prompt,
# root/root, shell arithmetic, `uname -m`, the timer and UART interrupts counting in
# /proc/interrupts, a tmpfs file, `hello`, the sample module loaded (with the kit's
# kernel, which it is built for), then `poweroff`,
# after which cxvm must exit by itself with status 0. Prints the console and
# "guest-login: ok" on success; exit status 0 only then.
timeout_boot=${1:-300}
kernel=${2:-/guest/bzImage}
arch=${3:-i686}
cd /tmp || exit 1
rm -f in out
mkfifo in
start=$(date +%s)
/opt/cxvm/cxvm run --engine kvm --kernel "$kernel" --initrd /guest/rootfs.cpio < in > out 2>&1 &
pid=$!
exec 3> in

finish() {  # finish STATUS MESSAGE
  kill $pid 2>/dev/null
  exec 3>&-
  echo "----- guest console -----"
  tr -d "\r" < out | tail -150
  echo "-------------------------"
  echo "guest-login: $2"
  exit "$1"
}
fail() { finish 1 "FAILED: $1 ($(( $(date +%s) - start )) s after cxvm run)"; }
. "$(dirname "$0")/console-lib.sh"  # wait_for, enter_as_root, power_off
# irq_count IRQ OCCURRENCE: the CPU0 count on the OCCURRENCE-th "IRQ:" line of the console
irq_count() { tr -d "\r" < out | grep -E "^ *$1: " | sed -n "$2p" | awk '{ print $2 }'; }

wait_for "Welcome to cxvm" "$timeout_boot" || fail "no banner"
wait_for "login:" 60 || fail "no login prompt"
echo "guest-login: login prompt after $(( $(date +%s) - start )) s"
enter_as_root

echo 'uname -m; echo up-$((6*7))' >&3
wait_for "up-42" 60 || fail "no answer to uname -m"
tr -d "\r" < out | grep -q "^$arch\$" || fail "uname -m is not $arch"

# IRQ 0 is the PIT's timer, IRQ 4 the console UART: both must keep counting.
echo "grep -E '^ *(0|4):' /proc/interrupts; sleep 1; grep -E '^ *(0|4):' /proc/interrupts; echo irq-\$((5*5))" >&3
wait_for "irq-25" 60 || fail "no answer from /proc/interrupts"
t1=$(irq_count 0 1); t2=$(irq_count 0 2); s1=$(irq_count 4 1); s2=$(irq_count 4 2)
echo "guest-login: timer interrupts $t1 -> $t2, UART interrupts $s1 -> $s2 over sleep 1"
[ "${t1:-0}" -gt 0 ] && [ "${t2:-0}" -gt "$t1" ] || fail "the timer interrupt does not count"
[ "${s1:-0}" -gt 0 ] && [ "${s2:-0}" -gt "$s1" ] || fail "the UART interrupt does not count"

echo 'mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t && echo payload-$((3*3)) > /mnt/t/f && cat /mnt/t/f' >&3
wait_for "^payload-9" 60 || fail "no file on tmpfs"
echo 'hello' >&3
wait_for "^Hello, World!" 60 || fail "hello did not greet"
if [ "$kernel" = /guest/bzImage ]; then  # the sample module is built for the kit's kernel
  echo 'grep hello_module /proc/modules' >&3
  wait_for "^hello_module [0-9]+ 0 - Live" 60 || fail "hello_module is not loaded"
fi

power_off
finish 0 "ok ($(( $(date +%s) - start )) s from cxvm run to its exit after poweroff)"
