#!/bin/sh
# net-walk.sh [BOOT_TIMEOUT_S [ENGINE]]   (defaults: 300 kvm)
# Runs inside the nested L1 (busybox sh; a kvm-nested-test step): virtio-net with the
# user-mode backend on `cxvm run --engine kvm --net user`. L1 itself is the "host": it
# serves a 16 MiB random file with busybox httpd on its 127.0.0.1 (the guest reaches it
# as 10.0.2.2). The default guest must get 10.0.2.15/24 by DHCP with a default route via
# 10.0.2.2 and DNS 10.0.2.3, ping 10.0.2.2, and fetch the file with wget with the same
# sha256 as L1's; then poweroff, after which cxvm must exit by itself with status 0.
# Prints the console and "net-walk: ok" on success; exit status 0 only then.
# CXVM, GUEST_KERNEL, GUEST_INITRD override /opt/cxvm/cxvm and /guest/{bzImage,rootfs.cpio}
# (e.g. to try it on a host with ENGINE=interp).
timeout_boot=${1:-300}
engine=${2:-kvm}
cxvm=${CXVM:-/opt/cxvm/cxvm}
kernel=${GUEST_KERNEL:-/guest/bzImage}
initrd=${GUEST_INITRD:-/guest/rootfs.cpio}
work=$(mktemp -d /tmp/net-walk.XXXXXX) || exit 1
cd "$work" || exit 1
start=$(date +%s)

# The "host" side in L1: loopback up (L1's /init leaves it down), the file, the server.
ip link set lo up
mkdir www
dd if=/dev/urandom of=www/blob.bin bs=1M count=16 2>/dev/null
want=$(sha256sum www/blob.bin | cut -d' ' -f1)
port=18080
while [ $port -lt 18100 ]; do
  httpd -f -p 127.0.0.1:$port -h "$work/www" 2>httpd.err &
  httpd_pid=$!
  sleep 1
  kill -0 $httpd_pid 2>/dev/null && break
  port=$((port + 1))
done
kill -0 "$httpd_pid" 2>/dev/null || { echo "net-walk: FAILED: httpd did not start: $(cat httpd.err)"; exit 1; }
echo "net-walk: L1 serves blob.bin (sha256 $want) on 127.0.0.1:$port"

mkfifo in
"$cxvm" run --engine "$engine" --kernel "$kernel" --initrd "$initrd" --net user < in > out 2>&1 &
pid=$!
exec 3> in

finish() {  # finish STATUS MESSAGE
  kill $pid 2>/dev/null
  kill $httpd_pid 2>/dev/null
  exec 3>&-
  echo "----- guest console -----"
  tr -d "\r" < out | tail -80
  echo "-------------------------"
  echo "net-walk: $2"
  cd / && rm -rf "$work"
  exit "$1"
}
fail() { finish 1 "FAILED: $1 ($(( $(date +%s) - start )) s after cxvm run)"; }
. "$(dirname "$0")/console-lib.sh"  # wait_for, enter_as_root, power_off

wait_for "Welcome to cxvm" "$timeout_boot" || fail "no banner"
wait_for "login:" 60 || fail "no login prompt"
echo "net-walk: login prompt after $(( $(date +%s) - start )) s"
enter_as_root

# DHCP at boot (the guest's /etc/init.d/network): address, route, DNS.
echo 'ip -4 addr show dev eth0; ip route; cat /etc/resolv.conf; echo net-$((6*7))' >&3
wait_for "^net-42" 60 || fail "no answer to ip addr"
tr -d "\r" < out | grep -Eq "inet 10\.0\.2\.15/24 " || fail "eth0 does not have 10.0.2.15/24 from DHCP"
tr -d "\r" < out | grep -Eq "^default via 10\.0\.2\.2 dev eth0" || fail "no default route via 10.0.2.2"
tr -d "\r" < out | grep -Eq "^nameserver 10\.0\.2\.3" || fail "/etc/resolv.conf does not name 10.0.2.3"
echo "net-walk: dhcp ok: eth0 10.0.2.15/24, default via 10.0.2.2, nameserver 10.0.2.3"

echo 'ping -c1 -W5 10.0.2.2 && echo ping-$((7*7))' >&3
wait_for "^ping-49" 60 || fail "ping 10.0.2.2 got no reply"
echo "net-walk: ping 10.0.2.2 ok"

# Guest -> L1: the 16 MiB file over HTTP, checked by sha256 in the guest.
t0=$(date +%s)
echo "wget -q -O /tmp/blob.bin http://10.0.2.2:$port/blob.bin && sha256sum /tmp/blob.bin && echo fetched-\$((8*8))" >&3
wait_for "^fetched-64" 300 || fail "wget of http://10.0.2.2:$port/blob.bin did not finish"
got=$(tr -d "\r" < out | sed -n 's|^\([0-9a-f]\{64\}\)  /tmp/blob.bin$|\1|p' | tail -1)
[ "$got" = "$want" ] || fail "the guest's sha256 of blob.bin is '$got', L1's $want"
echo "net-walk: guest -> L1 16 MiB wget ok, sha256 matches ($(( $(date +%s) - t0 )) s)"

power_off
finish 0 "ok ($(( $(date +%s) - start )) s from cxvm run to its exit after poweroff)"
