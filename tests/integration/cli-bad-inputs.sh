#!/usr/bin/env bash
# The cxvm command on bad inputs: each gives exactly one "cxvm: error:" message, a
# non-zero exit and no output file. Also the listing commands on good inputs.
# usage: cli-bad-inputs.sh CXVM WORKDIR
set -uo pipefail
cxvm=$1 work=$2
repo=$(cd "${CXVM_SOURCE_DIR:-$(dirname "$0")/../..}" && pwd)
cache=${CXVM_CACHE:-$repo/.cache}
kit=$cache/kit
[ -f "$kit/env.mk" ] || { echo "SKIP: no guest kit at $kit (scripts/fetch-guest-kit)"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
failures=0 passed=0

# expect_error NAME PATTERN OUTPUT -- cxvm args...
expect_error() {
  local name=$1 pattern=$2 out=$3; shift 4
  local err rc
  err=$("$cxvm" "$@" 2>&1 >/dev/null); rc=$?
  local n; n=$(grep -c '^cxvm: error:' <<<"$err")
  if [ "$rc" = 0 ] || [ "$n" != 1 ] || ! grep -q -- "$pattern" <<<"$err" ||
     { [ -n "$out" ] && [ -e "$out" ]; }; then
    echo "FAIL $name: exit $rc, $n error line(s), output $( [ -n "$out" ] && [ -e "$out" ] && echo exists || echo absent)"
    sed 's/^/  | /' <<<"$err"
    failures=$((failures + 1))
  else
    echo "ok   $name: $(grep "^cxvm: error:" <<<"$err")"
    passed=$((passed + 1))
  fi
}

src=$work/src
mk_src() {  # a guest folder with the real common*.mk
  rm -rf "$src" && mkdir -p "$src"
  cp "$repo"/guest/common*.mk "$src/"
}
out=$work/out/rootfs.cpio

mk_src; mkdir -p "$src/pkg/nomake"; echo 'int main(void){return 0;}' >"$src/pkg/nomake/main.c"
expect_error pkg-without-makefile "pkg/nomake: no Makefile" "$out" -- build-rootfs -s "$src" --kit "$kit" -o "$out"

mk_src; mkdir -p "$src/pkg/broken"
echo 'int main(void) { return nope; }' >"$src/pkg/broken/broken.c"
printf 'TARGET = broken\ninclude ../../common.mk\ninclude ../../common_app.mk\nbroken: broken.o\n\t$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@\n' >"$src/pkg/broken/Makefile"
expect_error failing-compile "pkg/broken: build failed" "$out" -- build-rootfs -s "$src" --kit "$kit" -o "$out"

mk_src; mkdir -p "$src/modules/alien"
printf 'all:\n\tprintf "vermagic=4.19.0-1-amd64 SMP \\000" > alien.ko\n' >"$src/modules/alien/Makefile"
expect_error module-vermagic "alien.ko has vermagic '4.19.0-1-amd64 SMP '" "$out" -- build-rootfs -s "$src" --kit "$kit" -o "$out"

mk_src
expect_error missing-base "base cpio '$work/none.cpio' does not exist" "$out" -- build-rootfs -s "$src" --kit "$kit" -o "$out" --base "$work/none.cpio"
head -c 300 /dev/urandom >"$work/corrupt.cpio"
expect_error corrupt-base "is not usable: cpio:" "$out" -- build-rootfs -s "$src" --kit "$kit" -o "$out" --base "$work/corrupt.cpio"
touch "$work/afile"
expect_error unwritable-output "cannot write output" "" -- build-rootfs -s "$src" --kit "$kit" -o "$work/afile/rootfs.cpio"
expect_error missing-kit "guest kit not found" "$out" -- build-rootfs -s "$src" --kit "$work/nokit" -o "$out"
expect_error missing-source "guest source folder" "$out" -- build-rootfs -s "$work/nosrc" --kit "$kit" -o "$out"
expect_error cpio-list-not-cpio "not a newc cpio archive" "" -- cpio list "$kit/env.mk"
expect_error cpio-list-missing "cannot open" "" -- cpio list "$work/none.cpio"
expect_error inspect-not-kernel "not a bzImage" "" -- inspect-kernel "$kit/busybox"
# Single-VM-only flags on an app that runs as a system of processes (two VMs): refused,
# naming the flag, before anything starts (never silently dropped).
app2=$repo/apps/print_server_2vm
expect_error app-and-initrd "an APP and --kernel/--initrd/--firmware exclude each other" "" -- run "$repo/apps/minimal" --initrd "$kit/env.mk"
expect_error app-and-kernel "an APP and --kernel/--initrd/--firmware exclude each other" "" -- run "$repo/apps/minimal" --kernel "$kit/bzImage"
expect_error console-without-app "--console: names an APP's VM instances" "" -- run --kernel "$kit/bzImage" --console vm0
expect_error log-dir-without-app "--log-dir: names an APP's VM instances" "$work/logs" -- run --kernel "$kit/bzImage" --log-dir "$work/logs"
expect_error system-serial-log "--serial-log $work/s.log: .* runs as a system of processes; every VM's console is logged" "$work/s.log" -- run "$app2" --serial-log "$work/s.log"
expect_error system-profile "--profile: .* runs as a system of processes" "$work/p.prof" -- run "$app2" --profile "$work/p.prof"
expect_error system-trace "--trace: .* runs as a system of processes" "" -- run "$app2" --trace=100
expect_error system-trace-post "--trace-post: .* runs as a system of processes" "" -- run "$app2" --trace-post

# Good inputs: a tiny build, listed; the kit kernel, inspected.
mk_src; mkdir -p "$src/text"; echo hi >"$src/text/hi.txt"
if "$cxvm" build-rootfs -s "$src" --kit "$kit" -o "$out" 2>/dev/null &&
   "$cxvm" cpio list "$out" | grep -q ' opt/hi.txt$' &&
   "$cxvm" inspect-kernel "$kit/bzImage" | grep -q '^loadflags *0x[0-9a-f]* LOADED_HIGH'; then
  echo "ok   good-inputs: build-rootfs, cpio list, inspect-kernel"; passed=$((passed + 1))
else
  echo "FAIL good-inputs"; failures=$((failures + 1))
fi
echo "$passed passed, $failures failed"
[ "$failures" = 0 ]
