# Sourced by the network tests (tests/integration/net-*.sh) after `cxvm=$1 work=$2`:
# tools, the guest files, free ports, and the VM command line in $vm (an array).
# NET_TEST_VM=qemu runs the same checks with qemu-system-i386 -accel tcg and
# -device virtio-net-pci on the same kernel and image (the oracle the checks were
# written against); default: cxvm on the interp engine.
repo=$(cd "${CXVM_SOURCE_DIR:-$(dirname "$0")/../..}" && pwd)
cache=${CXVM_CACHE:-$repo/.cache}
kernel=$cache/kit/bzImage
rootfs=$cache/guest/rootfs.cpio
net_vm=${NET_TEST_VM:-cxvm}
for tool in expect python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps)"; exit 77; }
done
[ "$net_vm" = cxvm ] || command -v qemu-system-i386 >/dev/null ||
  { echo "SKIP: NET_TEST_VM=$net_vm but qemu-system-i386 is not installed"; exit 77; }
[ -f "$kernel" ] && [ -f "$rootfs" ] ||
  { echo "SKIP: no guest kit or default image in $cache (scripts/fetch-guest-kit; cxvm build-rootfs)"; exit 77; }
if ! "$cxvm" cpio list "$rootfs" | grep 'kernel/drivers/net/virtio_net\.ko$' >/dev/null; then
  echo "FAIL: $rootfs has no virtio_net.ko: it predates guest/pkg/net; rebuild it (cxvm build-rootfs)"
  exit 1
fi
if [ "$net_vm" = cxvm ] && ! "$cxvm" run --help | grep -- '--net' >/dev/null; then
  echo "FAIL: this cxvm has no 'run --net' (the virtio-net device is not part of the build)"
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# vm_command NETDEV-OPTIONS: $vm = the VM with one NIC. NETDEV-OPTIONS in cxvm's
# --net spelling (QEMU's): "user[,hostfwd=...]" or "tap,ifname=NAME".
vm_command() {
  if [ "$net_vm" = cxvm ]; then
    vm=("$cxvm" run --engine interp --kernel "$kernel" --initrd "$rootfs" --net "$1")
  else
    local nd=$1
    case "$nd" in tap,*) nd="$nd,script=no,downscript=no" ;; esac
    vm=(qemu-system-i386 -accel tcg -cpu pentium3 -m 128 -nographic -no-reboot
        -kernel "$kernel" -initrd "$rootfs" -append "console=ttyS0 panic=-1"
        -netdev "$nd,id=n0" -device virtio-net-pci,netdev=n0)
  fi
}
