# console-lib.sh: sourced by the L1 scripts that drive a guest's serial console
# (guest-login.sh, tutorial-walk.sh, disk-boot.sh, net-walk.sh; busybox sh). The caller
# has started cxvm with its console input on fd 3 (a fifo) and its output in a file, and
# sets:
#   pid     the cxvm process
#   con     the console output file being watched (default: out)
#   fd      where guest input goes: 3 (the terminal fifo, default) or 4 (another VM's pty)
# and defines `fail MESSAGE` (prints the console, exits non-zero).
con=${con:-out}
fd=${fd:-3}

send_line() { if [ "$fd" = 4 ]; then echo "$1" >&4; else echo "$1" >&3; fi; }

# wait_for EXTENDED-REGEX SECONDS [FILE]: until the console (or FILE) shows it; fails
# early when cxvm has exited.
wait_for() {
  n=0
  while ! { [ -f "${3:-$con}" ] && tr -d "\r" < "${3:-$con}" | grep -Eq "$1"; }; do
    kill -0 $pid 2>/dev/null || return 1
    sleep 1
    n=$((n + 1))
    [ $n -gt "$2" ] && return 1
  done
  return 0
}

# enter_as_root [PASSWORD-PROMPT-REGEX [SHELL-WAIT-S [WHERE]]]: root/root at a login prompt
# the console already shows, then a shell that answers. getty may still flush its input
# right after the prompt: each step retries what it loses.
enter_as_root() {
  for try in 1 2 3; do
    sleep 2
    send_line root
    wait_for "${1:-assword:}" 20 && break
  done
  send_line root
  for try in 1 2 3; do
    sleep 1
    send_line 'echo logged-$((20+3))-in'
    wait_for "logged-23-in" "${2:-20}" && break
  done
  wait_for "logged-23-in" 1 || fail "no shell after logging in as root${3:+ on $3}"
}

# await_exit [SECONDS]: after the guest's poweroff, cxvm must exit by itself with status 0.
await_exit() {
  n=0
  while kill -0 $pid 2>/dev/null && [ $n -lt "${1:-120}" ]; do sleep 1; n=$((n + 1)); done
  kill -0 $pid 2>/dev/null && fail "cxvm did not exit after poweroff"
  wait $pid
  status=$?
  [ $status = 0 ] || fail "cxvm exited with status $status after poweroff"
}

# power_off: poweroff in the guest's shell (the terminal console), then await_exit.
power_off() {
  echo 'poweroff' >&3
  await_exit 120
}
