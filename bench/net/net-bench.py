#!/usr/bin/env python3
"""bench_net: virtio-net throughput and latency of cxvm against QEMU, same run.

The default guest (guest kit kernel + default rootfs) on `cxvm run --engine interp --net
user,hostfwd=...` and on `qemu-system-i386 -accel tcg -cpu pentium3 -netdev user,...
-device virtio-net-pci`, same kernel, image, RAM and command line, one boot each, back
to back. In each guest, with busybox `nc` + `dd`:

  guest -> host  dd if=/dev/zero bs=64k | nc 10.0.2.2 PORT   into a host socket (slirp)
  host -> guest  a host socket through hostfwd into nc -l | wc -c
  round trip     a 1-byte request and its echo (nc -l -e cat in the guest) over one TCP
                 connection through hostfwd, ROUNDS times: requests/s and the median

Times are taken on the host (connection accepted/opened to end of stream); the byte
counts at both ends are checked. Prints MB/s (10^6 bytes) for each, and the ratios cxvm/QEMU
(> 1: cxvm is faster).

usage: net-bench.py [--cxvm PATH] [--size MiB] [--rounds N] [--no-qemu] [--no-cxvm]
"""
import argparse
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.environ.get("CXVM_CACHE") or os.path.join(ROOT, ".cache")
PROMPT = re.compile(r"cxvm:[^\r\n]*# ")
G2H_PORT_GUEST, H2G_PORT_GUEST, RTT_PORT_GUEST = 5001, 5002, 5003


class Failure(Exception):
    pass


class Console:
    """An expect-style driver of a VM's serial console on pipes."""

    def __init__(self, argv, logpath):
        self.log = open(logpath, "w", encoding="latin-1")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.buf = ""
        self.pos = 0

    def expect(self, pattern, timeout, what):
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise Failure(f"timeout ({timeout} s) waiting for {what}; console ends:\n"
                              + self.buf[-600:])
            r, _, _ = select.select([fd], [], [], min(left, 1.0))
            if r:
                data = os.read(fd, 65536)
                if not data:
                    raise Failure(f"the VM exited while waiting for {what}; console ends:\n"
                                  + self.buf[-600:])
                text = data.decode("latin-1")
                self.buf += text
                self.log.write(text)
                self.log.flush()

    def send(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def run(self, cmd, what, timeout=120):
        """Runs cmd in the guest's shell: its output; raises unless its status is 0."""
        self.send(cmd + '; echo "=rc=$(($?+1000))="\r')
        m = self.expect(r"=rc=(1\d{3})=\r", timeout, what)
        out = self.buf[:m.start()]
        out = out[out.rfind("+1000))=") + 1:] if "+1000))=" in out else out
        self.expect(PROMPT, 30, f"the prompt after {what}")
        if int(m.group(1)) != 1000:
            raise Failure(f"{what}: status {int(m.group(1)) - 1000}; output:\n{out[-600:]}")
        return out

    def login(self, timeout):
        self.expect(r"cxvm login: ", timeout, "the login prompt")
        self.send("root\r")
        self.expect(r"Password: ", 60, "the password prompt")
        self.send("root\r")
        self.expect(PROMPT, 60, "the shell prompt")

    def close(self):
        if self.p.poll() is None:
            try:
                self.send("poweroff\r")
                self.p.wait(60)
            except Exception:
                self.p.kill()
                self.p.wait()
        self.log.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect_retry(port, deadline_s=30):
    end = time.monotonic() + deadline_s
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=60)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def wait_listening(con, port):
    """Until the guest's nc listens on port (busybox netstat)."""
    for _ in range(100):
        out = con.run(f"netstat -ltn | grep -c ':{port} ' || true", "netstat")
        if re.search(r"^\s*[1-9]\s*$", out, re.M):
            return
        time.sleep(0.2)
    raise Failure(f"nothing listens on guest port {port}")


def guest_dd_bytes(con, path):
    """Bytes busybox dd bs=64k wrote, from its summary ("N+0 records out")."""
    out = con.run(f"cat {path}", f"cat {path}")
    m = re.search(r"(\d+)\+(\d+) records out", out)
    if not m or m.group(2) != "0":
        raise Failure(f"no full-block count from the guest's dd in {path}:\n{out}")
    return int(m.group(1)) * 65536


def bench_guest_to_host(con, size):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    result = {}

    def sink():
        c, _ = srv.accept()
        t0 = time.monotonic()
        n = 0
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            n += len(d)
        result["secs"] = time.monotonic() - t0
        result["bytes"] = n
        c.close()

    th = threading.Thread(target=sink, daemon=True)
    th.start()
    count = size // 65536
    con.run(f"dd if=/dev/zero bs=64k count={count} 2>/tmp/dd.g2h | nc 10.0.2.2 {port}",
            "guest -> host transfer", timeout=3600)
    th.join(120)
    srv.close()
    if "bytes" not in result:
        raise Failure("guest -> host: the host saw no end of stream")
    sent = guest_dd_bytes(con, "/tmp/dd.g2h")
    if result["bytes"] != count * 65536 or sent != count * 65536:
        raise Failure(f"guest -> host: {result['bytes']} bytes arrived, dd sent {sent}, "
                      f"expected {count * 65536}")
    return result["bytes"] / result["secs"] / 1e6, result["secs"]


def bench_host_to_guest(con, size, hostport):
    con.run(f"rm -f /tmp/h2g.count; (nc -l -p {H2G_PORT_GUEST} | wc -c >/tmp/h2g.count.t; "
            "mv /tmp/h2g.count.t /tmp/h2g.count) </dev/null >/dev/null 2>&1 & true",
            "starting the guest's sink")
    wait_listening(con, H2G_PORT_GUEST)
    chunk = b"\0" * (1 << 20)
    s = connect_retry(hostport)
    t0 = time.monotonic()
    left = size
    while left:
        n = s.send(chunk[:min(left, len(chunk))])
        left -= n
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):  # the guest's nc closes after its end of stream
        pass
    secs = time.monotonic() - t0
    s.close()
    got = None
    for _ in range(100):  # wc may still be writing its count
        out = con.run("cat /tmp/h2g.count 2>/dev/null || true", "cat /tmp/h2g.count")
        m = re.search(r"^\s*(\d+)\s*$", out, re.M)
        if m:
            got = int(m.group(1))
            break
        time.sleep(0.2)
    if got != size:
        raise Failure(f"host -> guest: the guest's dd read {got} bytes, expected {size}")
    return size / secs / 1e6, secs


def bench_round_trip(con, rounds, hostport):
    con.run(f"nc -l -p {RTT_PORT_GUEST} -e cat </dev/null >/dev/null 2>&1 & true", "starting the echo server")
    wait_listening(con, RTT_PORT_GUEST)
    s = connect_retry(hostport)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for i in range(rounds + 10):
        b = bytes([65 + i % 26])
        t0 = time.monotonic()
        s.sendall(b)
        got = s.recv(16)
        dt = time.monotonic() - t0
        if got != b:
            raise Failure(f"round trip {i}: sent {b!r}, got {got!r}")
        if i >= 10:  # the first ones warm up the path
            times.append(dt)
    s.close()
    return rounds / sum(times), statistics.median(times) * 1e6


def measure(name, argv, size, rounds, ports, workdir):
    print(f"{name}: booting", flush=True)
    con = Console(argv, os.path.join(workdir, f"{name}.console.log"))
    try:
        t0 = time.monotonic()
        con.login(600)
        print(f"{name}: logged in after {time.monotonic() - t0:.1f} s", flush=True)
        out = con.run("ip -4 addr show dev eth0", "ip addr")
        if "inet 10.0.2.15/" not in out:
            raise Failure(f"eth0 has no DHCP address:\n{out}")
        r = {}
        r["g2h"], secs = bench_guest_to_host(con, size)
        print(f"{name}: guest -> host {size >> 20} MiB: {r['g2h']:8.2f} MB/s ({secs:.1f} s)", flush=True)
        r["h2g"], secs = bench_host_to_guest(con, size, ports[H2G_PORT_GUEST])
        print(f"{name}: host -> guest {size >> 20} MiB: {r['h2g']:8.2f} MB/s ({secs:.1f} s)", flush=True)
        r["rps"], r["rtt_us"] = bench_round_trip(con, rounds, ports[RTT_PORT_GUEST])
        print(f"{name}: round trip (1 byte, TCP, {rounds}x): {r['rps']:8.0f} /s, median "
              f"{r['rtt_us']:.0f} us", flush=True)
        return r
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cxvm", default=os.path.join(ROOT, "build/src/cli/cxvm"))
    ap.add_argument("--kernel", default=os.path.join(CACHE, "kit/bzImage"))
    ap.add_argument("--initrd", default=os.path.join(CACHE, "guest/rootfs.cpio"))
    ap.add_argument("--size", type=int, default=256, help="MiB per direction (default 256)")
    ap.add_argument("--rounds", type=int, default=1000, help="round trips (default 1000)")
    ap.add_argument("--mem", type=int, default=128, help="guest RAM in MiB (both VMs)")
    ap.add_argument("--no-qemu", action="store_true", help="measure cxvm only")
    ap.add_argument("--no-cxvm", action="store_true", help="measure QEMU only")
    ap.add_argument("--workdir", default="/tmp/cxvm-bench-net", help="console logs go here")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    for f in (a.kernel, a.initrd):
        if not os.path.exists(f):
            sys.exit(f"bench_net: {f} missing: run ./setup")
    size = a.size << 20
    append = "console=ttyS0 reboot=k"
    print(f"bench_net: {a.kernel} + {a.initrd}, {a.mem} MiB, {a.size} MiB per direction, "
          f"{a.rounds} round trips; user-mode networking (slirp) on both", flush=True)
    results, failed = {}, False

    def run(name, argv_for):
        nonlocal failed
        ports = {p: free_port() for p in (H2G_PORT_GUEST, RTT_PORT_GUEST)}
        fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
        try:
            results[name] = measure(name, argv_for(fwd), size, a.rounds, ports, a.workdir)
        except Failure as e:
            print(f"{name}: FAILED: {e}", flush=True)
            failed = True

    if not a.no_qemu:
        run("qemu-tcg", lambda fwd: [
            "qemu-system-i386", "-accel", "tcg", "-cpu", "pentium3", "-m", str(a.mem),
            "-nographic", "-no-reboot", "-monitor", "none", "-kernel", a.kernel,
            "-initrd", a.initrd, "-append", append,
            "-netdev", f"user,id=n0,{fwd}", "-device", "virtio-net-pci,netdev=n0"])
    if not a.no_cxvm:
        run("cxvm-interp", lambda fwd: [
            a.cxvm, "-q", "run", "--engine", "interp", "--mem", f"{a.mem}M", "--kernel",
            a.kernel, "--initrd", a.initrd, "--append", append, "--net", f"user,{fwd}"])
    if "qemu-tcg" in results and "cxvm-interp" in results:
        q, c = results["qemu-tcg"], results["cxvm-interp"]
        print("ratio cxvm/qemu (> 1: cxvm faster):")
        print(f"  guest -> host throughput: {c['g2h'] / q['g2h']:6.2f}x  ({c['g2h']:.2f} vs {q['g2h']:.2f} MB/s)")
        print(f"  host -> guest throughput: {c['h2g'] / q['h2g']:6.2f}x  ({c['h2g']:.2f} vs {q['h2g']:.2f} MB/s)")
        print(f"  round trips per second:   {c['rps'] / q['rps']:6.2f}x  ({c['rps']:.0f} vs {q['rps']:.0f} /s; "
              f"median {c['rtt_us']:.0f} vs {q['rtt_us']:.0f} us)")
    print(f"console logs: {a.workdir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
