#!/bin/sh
# Runs inside L1 (busybox sh): boots the default guest with `cxvm run --engine kvm` and
# drives its serial console like the interp boot tests do: login prompt, log in as root,
# a command with shell arithmetic, uname, then power off. Prints the console and
# "guest-login: ok" on success; exit status 0 only then.
timeout_boot=${1:-300}
cd /tmp
rm -f in out
mkfifo in
/opt/cxvm/cxvm run --engine kvm --kernel /guest/bzImage --initrd /guest/rootfs.cpio < in > out 2>&1 &
pid=$!
exec 3> in
start=$(date +%s)
wait_for() {  # wait_for TEXT SECONDS
  n=0
  while ! grep -q "$1" out; do
    kill -0 $pid 2>/dev/null || return 1
    sleep 1
    n=$((n + 1))
    [ $n -gt "$2" ] && return 1
  done
  return 0
}
ok=0
if wait_for "login:" "$timeout_boot"; then
  echo "guest-login: login prompt after $(( $(date +%s) - start )) s"
  # getty may still flush its input right after the prompt: retry what it loses.
  for try in 1 2 3; do
    sleep 2
    echo root >&3
    wait_for "assword:" 20 && break
  done
  echo root >&3
  for try in 1 2 3; do
    sleep 1
    echo 'echo logged-$((20+3))-in' >&3
    wait_for "logged-23-in" 20 && break
  done
  if grep -q "logged-23-in" out; then
    echo 'uname -m; echo up-$((6*7))' >&3
    wait_for "up-42" 60 && grep -q i686 out && ok=1
  fi
fi
echo 'poweroff -f' >&3
sleep 3
kill $pid 2>/dev/null
exec 3>&-
echo "----- guest console -----"
tr -d "\r" < out | tail -150
echo "-------------------------"
if [ $ok = 1 ]; then echo "guest-login: ok"; exit 0; fi
echo "guest-login: FAILED"
exit 1
