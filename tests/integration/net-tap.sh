#!/usr/bin/env bash
# virtio-net with the tap backend, end to end, one boot of the default guest: the test
# makes a network namespace with tap0 (192.168.77.1/24, the peer) and runs
# `cxvm run --net tap,ifname=tap0` (interp) inside it; the guest takes 192.168.77.2,
# pings the peer, and the peer fetches files from busybox httpd in the guest.
# Needs root (ip netns, a tap device); skipped (77) with the reason otherwise.
# usage: net-tap.sh CXVM WORKDIR   (NET_TEST_VM=qemu: the same under QEMU TCG)
set -euo pipefail
cxvm=$1 work=$2
source "$(dirname "$0")/net-common.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a network namespace and a tap device)"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: no ip command (iproute2)"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun (the tun module)"; exit 77; }
ns=cxvm-net-test-$$
if ! err=$(ip netns add "$ns" 2>&1); then
  echo "SKIP: cannot create a network namespace: $err"
  exit 77
fi
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev tap0 mode tap
ip netns exec "$ns" ip addr add 192.168.77.1/24 dev tap0
ip netns exec "$ns" ip link set tap0 up
vm_command "tap,ifname=tap0"
echo "net-tap: $net_vm in netns $ns, tap0 192.168.77.1/24 (the peer), the guest 192.168.77.2"
NET_NONCE="cxvm-net-$$-$(date +%s%N)" NET_SEQ_SHA=$(seq 1 150000 | sha256sum | cut -d' ' -f1) \
  expect "$(dirname "$0")/net-tap.exp" "$work/console.log" "$ns" ip netns exec "$ns" "${vm[@]}"
