#!/bin/sh
# Inside the nested L1 (scripts/nested/run-kvm-bench --boot): boot-to-login of the
# default guest on `cxvm run --engine kvm` against `qemu-system-i386 -accel kvm` on the
# same kernel and initramfs, one after the other, and their ratio.
limit=${1:-1500}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# measure NAME CMD...: seconds until "login:" on the guest console (or "timeout")
measure() {
  name=$1; shift
  rm -f /tmp/boot.out
  t0=$(uptime_s)
  "$@" < /dev/null > /tmp/boot.out 2>&1 &
  pid=$!
  n=0
  while ! grep -q "login:" /tmp/boot.out; do
    if ! kill -0 $pid 2>/dev/null || [ $n -gt $((limit * 10)) ]; then
      kill $pid 2>/dev/null; wait $pid 2>/dev/null
      echo "boot-to-login: $name: no login prompt"; tail -5 /tmp/boot.out
      echo timeout > /tmp/boot.$name
      return
    fi
    sleep 0.1
    n=$((n + 1))
  done
  t1=$(uptime_s)
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }' > /tmp/boot.$name
  echo "boot-to-login: $name: $(cat /tmp/boot.$name) s"
}
append="console=ttyS0 reboot=k"
measure cxvm /opt/cxvm/cxvm run --engine kvm --mem 128M --kernel /guest/bzImage \
  --initrd /guest/rootfs.cpio --append "$append"
measure qemu /opt/cxvm/qemu-system-i386 -accel kvm -m 128 -nodefaults -display none \
  -serial stdio -no-reboot -kernel /guest/bzImage -initrd /guest/rootfs.cpio -append "$append"
c=$(cat /tmp/boot.cxvm); q=$(cat /tmp/boot.qemu)
if [ "$c" != timeout ] && [ "$q" != timeout ]; then
  awk -v c="$c" -v q="$q" 'BEGIN { printf "boot-to-login: cxvm/qemu = %.2f\n", c / q }'
fi
