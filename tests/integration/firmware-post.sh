#!/usr/bin/env bash
# `cxvm run --firmware` with a BIOS-style ROM (tests/vmm/asm/bios_post.asm, assembled
# here with nasm): the reset vector far-jumps into the ROM's alias at 0xF0000, which
# writes POST codes 01 02 55 and exits through the debug-exit port (status 99).
# --post-codes prints each code as written; the end-of-run log (-v) names the last.
# Then the bad inputs around it: each a clear "cxvm: error:" line, never a crash.
# usage: firmware-post.sh CXVM WORKDIR
set -uo pipefail
cxvm=$1 work=$2
repo=$(cd "${CXVM_SOURCE_DIR:-$(dirname "$0")/../..}" && pwd)
command -v nasm >/dev/null || { echo "SKIP: nasm not installed"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

{ printf 'bits 16\norg 0\n'; cat "$repo/tests/vmm/asm/bios_post.asm"; } >"$work/bios.asm"
nasm -f bin -o "$work/bios.bin" "$work/bios.asm" || { echo "FAIL nasm"; exit 1; }

for engine in interp; do
  err=$(timeout 60 "$cxvm" -v run --engine "$engine" --mem 16M --firmware "$work/bios.bin" \
          --post-codes --max-instructions 1000000 2>&1 >/dev/null); rc=$?
  [ "$rc" = 99 ] || fail "$engine: exit status $rc, want 99 (the ROM's debug exit)"
  codes=$(grep -o 'POST code [0-9a-f]* (#[0-9]*' <<<"$err" | tr '\n' ' ')
  [ "$codes" = "POST code 01 (#1 POST code 02 (#2 POST code 55 (#3 " ] ||
    fail "$engine: --post-codes printed '$codes'"
  grep -q 'vm: last POST code 0x55 (3 writes to port 0x80)' <<<"$err" ||
    fail "$engine: no end-of-run POST line"
  grep -q 'boot: firmware .* alias 0xf0000-0xfffff' <<<"$err" || fail "$engine: alias not logged"
  if [ "$failures" = 0 ]; then echo "ok   $engine: $codes/ exit $rc"; else sed 's/^/  | /' <<<"$err"; fi
  # Without --post-codes nothing is printed per code, and without -v no summary either.
  quiet=$(timeout 60 "$cxvm" run --engine "$engine" --mem 16M --firmware "$work/bios.bin" 2>&1 >/dev/null)
  grep -q 'POST code' <<<"$quiet" && fail "$engine: POST codes printed without --post-codes"
done

# expect_error NAME PATTERN -- cxvm args...
expect_error() {
  local name=$1 pattern=$2; shift 3
  local err rc n
  err=$(timeout 60 "$cxvm" "$@" 2>&1 >/dev/null); rc=$?
  n=$(grep -c '^cxvm: error:' <<<"$err")
  if [ "$rc" = 0 ] || [ "$rc" -ge 128 ] || [ "$n" != 1 ] || ! grep -q -- "$pattern" <<<"$err"; then
    fail "$name: exit $rc, $n error line(s)"; sed 's/^/  | /' <<<"$err"
  else
    echo "ok   $name: $(grep '^cxvm: error:' <<<"$err")"
  fi
}
: >"$work/empty.bin"
head -c 100 /dev/zero >"$work/odd.bin"
head -c 4112 /dev/zero >"$work/unpaged.bin"
head -c $((17 << 20)) /dev/zero >"$work/huge.bin"
expect_error empty-rom "empty file" -- run --firmware "$work/empty.bin"
expect_error odd-rom "not a multiple of 16" -- run --firmware "$work/odd.bin"
expect_error unpaged-rom "not a multiple of 4 KiB" -- run --firmware "$work/unpaged.bin"
expect_error huge-rom "at most 16 MiB" -- run --firmware "$work/huge.bin"
# Flag parsing errors are CLI11's: one line naming the flag, exit status 100+.
expect_flag_error() {
  local name=$1 pattern=$2; shift 3
  local err rc
  err=$(timeout 60 "$cxvm" "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" = 0 ] || [ "$rc" -ge 128 ] || ! grep -q -- "$pattern" <<<"$err"; then
    fail "$name: exit $rc"; sed 's/^/  | /' <<<"$err"
  else
    echo "ok   $name: $(head -1 <<<"$err")"
  fi
}
expect_flag_error missing-rom "firmware: File does not exist" -- run --firmware "$work/nonexistent.bin"
expect_flag_error post-codes-value "post-codes" -- run --post-codes=maybe --firmware "$work/bios.bin"

[ "$failures" = 0 ] && echo "PASS" || { echo "$failures failure(s)"; exit 1; }
