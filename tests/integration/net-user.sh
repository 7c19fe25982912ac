#!/usr/bin/env bash
# virtio-net with the user-mode (slirp) backend, end to end, one boot of the default guest
# (`cxvm run --net user,hostfwd=tcp:127.0.0.1:PORT-:80` on interp): DHCP (10.0.2.15,
# route and DNS), ping of the gateway, a 16 MiB random file from an HTTP server on the
# host's 127.0.0.1 (python3 -m http.server; 10.0.2.2 in the guest) checked by sha256 in
# the guest, and busybox httpd in the guest fetched from the host through hostfwd.
# usage: net-user.sh CXVM WORKDIR   (NET_TEST_VM=qemu: the same under QEMU TCG)
set -euo pipefail
cxvm=$1 work=$2
source "$(dirname "$0")/net-common.sh"

mkdir -p "$work/www"
head -c 16M /dev/urandom > "$work/www/blob.bin"
blob_sha=$(sha256sum "$work/www/blob.bin" | cut -d' ' -f1)
http_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$http_port" \
  > "$work/http.log" 2>&1 &
http_pid=$!
trap 'kill $http_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$http_port/', timeout=2)" \
    2>/dev/null && break
  kill -0 $http_pid 2>/dev/null || { echo "FAIL: the host's HTTP server did not start:"; cat "$work/http.log"; exit 1; }
  sleep 0.1
done
fwd_port=$(free_port)
vm_command "user,hostfwd=tcp:127.0.0.1:$fwd_port-:80"
echo "net-user: $net_vm; host HTTP server on 127.0.0.1:$http_port (blob.bin sha256 $blob_sha); hostfwd 127.0.0.1:$fwd_port -> guest :80"
NET_HTTP_PORT=$http_port NET_BLOB_SHA=$blob_sha NET_FWD_PORT=$fwd_port \
NET_NONCE="cxvm-net-$$-$(date +%s%N)" NET_SEQ_SHA=$(seq 1 150000 | sha256sum | cut -d' ' -f1) \
  expect "$(dirname "$0")/net-user.exp" "$work/console.log" "${vm[@]}"
