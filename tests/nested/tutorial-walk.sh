#!/bin/sh
# tutorial-walk.sh WALK IMAGES SOURCE [BOOT_TIMEOUT_S]
# Runs inside L1 (busybox sh): one of the tutorial walks of
# tests/boot_linux/TutorialWalkTest.cpp on the kvm engine, `cxvm run APP --engine kvm`
# with the guest's console driven through a fifo (as guest-login.sh does).
#   poke-printk       apps/poke, the printk module: grep poke /proc/devices, mknod,
#                     echo > /dev/poke, `hi` in dmesg
#   poke-hypercall    apps/poke, the module calling cxvm_hypercall1(4, 0): each
#                     `echo > /dev/poke` prints POKE!!! (the app's handler in Init0)
#   print-server      apps/print_server: the tutorial's camkes_init lines in the boot
#                     log, `print_client hello world` printed by the native server
#   print-server-2vm  apps/print_server_2vm: both guests log in and print through the
#                     one native server; vm0 is the terminal (the fifo), vm1 is driven
#                     through its pseudo-terminal (<log dir>/<instance>.pty) and read
#                     from its console log (docs/crossvm.md "Consoles")
# IMAGES holds the images tests/nested/build-walk-images made on the host; each walk
# gets a CXVM_CACHE laid out as `cxvm build-rootfs` leaves it (kit/bzImage and
# guest/rootfs.cpio or apps/<app>/rootfs.cpio). SOURCE is the cxvm tree the apps' specs
# are in (the same path as on the host: cxvm finds the apps' build there).
# Prints "tutorial-walk: WALK PASS (...)" or "tutorial-walk: WALK FAIL: why" with the
# console's tail; exit status 0 only on PASS.
# With TUTORIAL_WALK_BENCH=N (a benchmark, not part of the test) poke-hypercall and
# print-server also time N round trips in the guest (guest clock, /proc/uptime) and
# print "tutorial-walk: bench ..." lines.
walk=$1
images=$2
src=$3
timeout_boot=${4:-300}
export PATH=/opt/cxvm:/usr/bin:/usr/sbin:/bin:/sbin
dir=/tmp/walk-$walk
rm -rf "$dir"
mkdir -p "$dir/cache/kit" "$dir/logs" || exit 1
ln -s /guest/bzImage "$dir/cache/kit/bzImage"
case "$walk" in
  poke-printk | poke-hypercall)
    app=poke
    mkdir -p "$dir/cache/guest"
    ln -s "$images/$walk.cpio" "$dir/cache/guest/rootfs.cpio" ;;
  print-server | print-server-2vm)
    app=$(echo "$walk" | tr - _)
    mkdir -p "$dir/cache/apps/$app"
    ln -s "$images/$app.cpio" "$dir/cache/apps/$app/rootfs.cpio" ;;
  *) echo "tutorial-walk: unknown walk '$walk'"; exit 2 ;;
esac
export CXVM_CACHE=$dir/cache
cd "$dir" || exit 1
mkfifo in
start=$(date +%s)
cxvm run "$src/apps/$app" --engine kvm --log-dir "$dir/logs" < in > out 2>&1 &
pid=$!
exec 3> in
# The guest being driven: its console output (con) and where its input goes (fd 3: the
# terminal fifo; fd 4: another VM's pseudo-terminal).
con=out
fd=3
say() { send_line "$1"; }

finish() {  # finish STATUS MESSAGE
  kill $pid 2>/dev/null
  exec 3>&- 4>&-
  if [ "$1" != 0 ] || [ -n "$TUTORIAL_WALK_VERBOSE" ]; then
    echo "----- $walk: console (tail) -----"
    tr -d "\r" < out | tail -80
    echo "----- $walk: logs: $(ls "$dir/logs" 2>&1 | tr '\n' ' ')"
    for log in "$dir"/logs/*.console.log; do
      [ -f "$log" ] || continue
      case "$log" in *vm0.console.log) continue ;; esac  # the console above
      echo "----- $walk: $(basename "$log") (tail) -----"
      tr -d "\r" < "$log" | tail -40
    done
    echo "---------------------------------"
  fi
  echo "tutorial-walk: $walk $2"
  exit "$1"
}
elapsed() { echo $(( $(date +%s) - start )); }
fail() { finish 1 "FAIL: $1 ($(elapsed) s after cxvm run)"; }
. "$(dirname "$0")/console-lib.sh"  # wait_for, enter_as_root, power_off
seq=0
bench_n=${TUTORIAL_WALK_BENCH:-0}
# bench NAME LOOP: runs LOOP in the guest between two /proc/uptime reads and prints the
# seconds it took (empty on failure)
bench() {
  sh_run "a=\$(cut -d' ' -f1 /proc/uptime); $2; b=\$(cut -d' ' -f1 /proc/uptime); echo bench-$1: \$a \$b" 600 || return 1
  tr -d "\r" < out | sed -n "s/^bench-$1: \([0-9.]*\) \([0-9.]*\)\$/\1 \2/p" | tail -1 | awk '{ printf "%.3f", $2 - $1 }'
}
# sh CMD [SECONDS]: runs CMD in the guest's shell and waits for it to finish (a marker
# only its output has: the echoed command line shows the unexpanded $((...)))
sh_run() {
  seq=$((seq + 1))
  say "$1; echo @@\$((1000+$seq))@@"
  wait_for "@@$((1000 + seq))@@" "${2:-60}"
}
login() {
  wait_for "login:" "$timeout_boot" || fail "no login prompt${1:+ on $1}"
  echo "tutorial-walk: $walk: ${1:+$1: }login prompt after $(elapsed) s"
  enter_as_root "" 20 "$1"
}
poke_node() {  # the tutorial's step 6: the major from /proc/devices, mknod
  sh_run "grep poke /proc/devices" || fail "no answer to grep poke /proc/devices"
  major=$(tr -d "\r" < out | sed -n 's/^ *\([0-9][0-9]*\) poke$/\1/p' | head -1)
  [ -n "$major" ] || fail "poke is not in /proc/devices"
  sh_run "mknod /dev/poke c $major 0 && echo mknod-ok-\$((2*3))" || fail "mknod did not finish"
  tr -d "\r" < out | grep -q "^mknod-ok-6" || fail "mknod /dev/poke c $major 0 failed"
}
camkes_lines() {  # camkes_lines FILE SECONDS: the tutorial's camkes_init lines in a boot log
  for line in "Creating dataport node /dev/camkes_data" \
              "Allocating 4096 bytes for /dev/camkes_data" \
              "Creating consuming event node /dev/camkes_done_printing" \
              "Creating emitting event node /dev/camkes_do_print"; do
    wait_for "$line" "$2" "$1" || fail "no '$line' in $(basename "$1")"
  done
}

case "$walk" in
  poke-printk)
    login
    poke_node
    sh_run "echo > /dev/poke" || fail "echo > /dev/poke did not finish"
    sh_run "echo hi-count-\$(dmesg | grep -c '\\] hi\$')" || fail "no answer from dmesg"
    tr -d "\r" < out | grep -q "^hi-count-1" || fail "dmesg does not say hi once after echo > /dev/poke"
    ;;
  poke-hypercall)
    login
    poke_node
    echo "echo > /dev/poke" >&3
    wait_for "POKE!!!" 60 || fail "no POKE!!! after the first echo > /dev/poke"
    sh_run "echo > /dev/poke" || fail "the second echo > /dev/poke did not finish"
    n=0
    while [ "$(tr -d "\r" < out | grep -c 'POKE!!!')" -lt 2 ] && [ $n -lt 60 ]; do sleep 1; n=$((n + 1)); done
    [ "$(tr -d "\r" < out | grep -c 'POKE!!!')" -ge 2 ] || fail "no second POKE!!!"
    if [ "$bench_n" -gt 0 ]; then
      loop="i=0; while [ \$i -lt $bench_n ]; do echo > /dev/DEV; i=\$((i+1)); done"
      tp=$(bench poke "$(echo "$loop" | sed s/DEV/poke/)")
      tn=$(bench null "$(echo "$loop" | sed s/DEV/null/)")
      echo "$tp $tn" | awk -v n="$bench_n" '{ printf "tutorial-walk: bench poke: %d x echo > /dev/poke %.2f s, %d x echo > /dev/null %.2f s (guest clock, 10 ms resolution): hypercall round trip (guest write -> cxvm handler -> guest) %.1f us\n", n, $1, n, $2, ($1 - $2) * 1e6 / n }'
    fi
    ;;
  print-server)
    camkes_lines out "$timeout_boot"
    login
    echo "print_client hello world" >&3
    wait_for "print_server.*: hello\$" 60 || fail "the print server did not print hello"
    wait_for "print_server.*: world\$" 60 || fail "the print server did not print world"
    sh_run "dmesg | grep 'dataport received mmap for minor 1'" || fail "no answer from dmesg"
    tr -d "\r" < out | grep -q "^\[.*\] .*dataport received mmap for minor 1" ||
      fail "no 'dataport received mmap for minor 1' in dmesg"
    if [ "$bench_n" -gt 0 ]; then
      tm=$(bench many "print_client \$(seq 1 $bench_n) > /dev/null")
      t1=$(bench one "print_client 1 > /dev/null")
      echo "$tm $t1" | awk -v n="$bench_n" '{ printf "tutorial-walk: bench cross-vm: print_client with %d words %.2f s, with 1 word %.2f s (guest clock, 10 ms resolution): round trip (emit -> native server prints -> done event -> guest) %.1f us\n", n, $1, $2, ($1 - $2) * 1e6 / (n - 1) }'
    fi
    ;;
  print-server-2vm)
    camkes_lines out "$timeout_boot"
    login vm0
    say "print_client hello-from-vm0 world-from-vm0"
    wait_for "print_server: vm0: hello-from-vm0\$" 60 || fail "the print server did not print vm0's hello"
    wait_for "print_server: vm0: world-from-vm0\$" 60 || fail "the print server did not print vm0's world"
    # vm1: input through its pseudo-terminal, output from its (complete) console log;
    # the server's lines are relayed to cxvm's output. Instance names are the
    # composition's (vm.vm1 for vm1 inside the instance vm).
    pty=$(ls "$dir"/logs/*vm1.pty 2>/dev/null | head -1)
    log1=$(ls "$dir"/logs/*vm1.console.log 2>/dev/null | head -1)
    [ -n "$pty" ] && [ -n "$log1" ] || fail "no vm1 pty and console log in $dir/logs"
    exec 4> "$pty" || fail "cannot open vm1's console $pty"
    con=$log1 fd=4
    camkes_lines "$log1" 120
    login vm1
    say "print_client hello-from-vm1 world-from-vm1"
    wait_for "print_server: vm1: hello-from-vm1\$" 60 out || fail "the print server did not print vm1's hello"
    wait_for "print_server: vm1: world-from-vm1\$" 60 out || fail "the print server did not print vm1's world"
    sh_run "echo vm1-done-\$((4*4))" || fail "vm1's shell did not answer after print_client"
    exec 4>&-
    con=out fd=3  # vm0's poweroff ends the system
    ;;
esac
power_off
finish 0 "PASS ($(elapsed) s from cxvm run to its exit after poweroff)"
