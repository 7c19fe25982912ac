#!/bin/sh
# Inside the nested L1 (scripts/nested/run-kvm-bench --boot): boot-to-login of the
# default guest on `cxvm run --engine kvm` against `qemu-system-i386 -accel kvm` on the
# same kernel, initramfs and command line, alternating, ROUNDS times each; prints every
# time and the ratio of the best times.
#
#   boot-to-login.sh [LIMIT_S [ROUNDS]]     (defaults: 150 2)
# A boot takes 20-40 s in L1; one without a prompt after LIMIT_S (seen once with the QEMU
# peer: its guest went idle and never printed again) is reported and left out.
limit=${1:-150}
rounds=${2:-2}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# measure NAME CMD...: seconds until "login:" on the guest console, appended to
# /tmp/boot.NAME ("timeout" when there was none)
measure() {
  name=$1; shift
  : > /tmp/boot.out
  t0=$(uptime_s)
  "$@" < /dev/null > /tmp/boot.out 2>&1 &
  pid=$!
  n=0
  while ! grep -q "login:" /tmp/boot.out; do
    if ! kill -0 $pid 2>/dev/null || [ $n -gt $((limit * 10)) ]; then
      kill $pid 2>/dev/null; wait $pid 2>/dev/null
      echo "boot-to-login: $name: no login prompt; console ends:"
      tail -5 /tmp/boot.out | sed 's/^/boot-to-login:   /'
      echo timeout >> /tmp/boot.$name
      return
    fi
    sleep 0.1
    n=$((n + 1))
  done
  t1=$(uptime_s)
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }')
  echo "$t" >> /tmp/boot.$name
  echo "boot-to-login: $name: $t s"
}
best() { grep -v timeout "/tmp/boot.$1" | sort -n | head -1; }
append="console=ttyS0 reboot=k"
rm -f /tmp/boot.cxvm /tmp/boot.qemu
i=0
while [ $i -lt "$rounds" ]; do
  measure cxvm /opt/cxvm/cxvm run --engine kvm --mem 128M --kernel /guest/bzImage \
    --initrd /guest/rootfs.cpio --append "$append"
  # QEMU looks for its firmware next to its binary (../share/...): name the folders.
  # kvm-apic.vapic=false: with it the outer QEMU TCG aborted ("qemu: fatal: invalid tss
  # type", TR busy in the L2 state; presumably the TPR-patching ROM makes QEMU write the
  # segment registers back). It only speeds up old guests' TPR accesses on Intel hosts,
  # so the peer loses nothing measurable.
  measure qemu /opt/cxvm/qemu-system-i386 -L /usr/share/seabios -L /usr/share/qemu \
    -accel kvm -global kvm-apic.vapic=false \
    -m 128 -nodefaults -display none -serial stdio -no-reboot \
    -kernel /guest/bzImage -initrd /guest/rootfs.cpio -append "$append"
  i=$((i + 1))
done
c=$(best cxvm); q=$(best qemu)
if [ -n "$c" ] && [ -n "$q" ]; then
  awk -v c="$c" -v q="$q" 'BEGIN { printf "boot-to-login: best of each: cxvm %.2f s, qemu %.2f s; cxvm/qemu = %.2f\n", c, q, c / q }'
fi
