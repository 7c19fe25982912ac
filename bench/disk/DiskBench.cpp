// bench_disk: virtio-blk on the Debian 12 disk image (scripts/build-disk-image), cxvm's
// interp engine against QEMU TCG (`qemu-system-i386 -accel tcg -cpu pentium3`, `-drive
// if=virtio`) with the same kernel, initrd, command line (apps/disk_boot's) and RAM, one
// session each in the same run:
//   - boot to "login:" from process start;
//   - sequential write and read in the guest: dd bs=1M count=256 with oflag=direct /
//     iflag=direct on a scratch disk (vdb: a fresh sparse 512 MiB raw file);
//   - 4 KiB random reads at queue depth 1 with O_DIRECT over the 256 MiB just written
//     (bench/disk/guest/randread.c, a static i686 program built with the guest kit and
//     carried in on the scratch disk: the image has no fio);
//   - resident memory after the I/O: cxvm's beyond guest RAM (VmRSS - RssShmem: guest RAM
//     is a memfd) and QEMU's whole RSS (its guest RAM is anonymous memory).
// cxvm runs a copy of apps/disk_boot whose `disks` attribute names both disks; QEMU gets
// the same files with -drive if=virtio,format=raw (default cache=writeback, like cxvm's
// buffered preadv/pwritev). Each VMM boots its own sparse copy of the image (cp
// --reflink=auto --sparse=always), so the cache is never written. Throughputs are the
// guest's own figures (dd's and randread's clocks; on both VMMs the guest clock follows
// host time), cross-checked by host-timed ones (from typing the command to its end
// marker, so starting the program in the guest counts too). Both VMMs' image files are in
// the host page cache: this measures the virtualization data path, not the host's disk.
#include "ConsoleDriver.h"
#include "ProcStatus.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <iterator>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
namespace {

using cxvm::testing::ConsoleDriver;
using Clock = std::chrono::steady_clock;
constexpr long kMiB = 1024 * 1024;

using cxvm::testing::procStatus;

std::string shellOut(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        if (::pclose(p) != 0) out.clear();
    }
    return out;
}

void runOrThrow(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
}

struct Config {
    std::string kernel, initrd, append, image, randread;
    unsigned memMiB = 256;
    unsigned ddMiB = 256;
    long randCount = 20000;
    int rounds = 2;
    double bootTimeout = 900;
};

struct Result {
    std::string name;
    std::string failure;  // empty: completed
    std::optional<double> bootS;
    // Per round: the guest's own figures (dd's and randread's clocks) and the host's
    // (typing the command to its end marker: includes starting the program in the guest).
    std::vector<double> writeMiBs, readMiBs, iops;
    std::vector<double> hostWriteMiBs, hostReadMiBs, hostIops;
    std::map<std::string, long> memKiB;                 // /proc/<pid>/status after the I/O
};

double best(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }

// One command in the logged-in root shell: returns its output and the host seconds from
// typing it to its end marker (the shell computes the marker, so the echo cannot match).
struct Cmd {
    std::string out;
    double seconds = 0;
};
class Shell {
public:
    explicit Shell(ConsoleDriver& c) : c_(c) {}
    std::optional<Cmd> run(const std::string& cmd, double timeout) {
        const int n = ++count_;
        const auto t0 = Clock::now();
        c_.sendLine(fmt::format("{}; echo cmd-end-$(({}*7))", cmd, n));
        if (!c_.expect(fmt::format("cmd-end-{}", n * 7), ConsoleDriver::Seconds(timeout)))
            return std::nullopt;
        Cmd r;
        r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        r.out = c_.lastChunk();
        return r;
    }

private:
    ConsoleDriver& c_;
    int count_ = 0;
};

// bash's `time`: the share of the command's real time the guest's CPU spent in it (user +
// sys). Near 100 %: the guest's own CPU work (emulated) bounds the rate; low: waiting for
// the device.
std::string busy(const std::string& out) {
    auto secs = [&](const char* what) -> std::optional<double> {
        std::smatch m;
        if (!std::regex_search(out, m, std::regex(std::string(what) + R"(\s+([0-9]+)m([0-9.]+)s)")))
            return std::nullopt;
        return std::stod(m[1]) * 60 + std::stod(m[2]);
    };
    const auto real = secs("real"), user = secs("user"), sys = secs("sys");
    if (!real || !user || !sys || *real <= 0) return "?";
    return fmt::format("{:.0f} %", 100.0 * (*user + *sys) / *real);
}

Result session(const std::string& name, std::vector<std::string> argv, const Config& cfg) {
    Result r;
    r.name = name;
    auto failWith = [&](ConsoleDriver& c, const std::string& what) {
        const auto& log = c.log();
        r.failure = what + ": " + c.error() + "\n  last output: " +
                    log.substr(log.size() > 600 ? log.size() - 600 : 0);
        return r;
    };
    fmt::print("{}: booting ...\n", name);
    const auto t0 = Clock::now();
    ConsoleDriver c(std::move(argv));
    c.failOn("Kernel panic");
    if (!c.expect("login:", ConsoleDriver::Seconds(cfg.bootTimeout))) return failWith(c, "no login prompt");
    r.bootS = std::chrono::duration<double>(Clock::now() - t0).count();
    fmt::print("{}: login prompt after {:.2f} s\n", name, *r.bootS);
    // getty may still flush its input right after the prompt: retry what it loses.
    bool pw = false;
    for (int i = 0; i < 3 && !pw; ++i) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        c.sendLine("root");
        pw = c.expect("assword:", ConsoleDriver::Seconds(20));
    }
    if (!pw) return failWith(c, "no password prompt");
    c.sendLine("root");
    Shell sh(c);
    // A line typed while login starts the shell may be flushed: retry.
    bool loggedIn = false;
    for (int i = 0; i < 4 && !loggedIn; ++i) loggedIn = sh.run("echo logged-in", 20).has_value();
    if (!loggedIn) return failWith(c, "no shell after logging in");
    // The scratch disk is vdb, 512 MiB; randread sits at its start.
    auto size = sh.run("cat /sys/block/vdb/size", 60);
    if (!size) return failWith(c, "no answer about vdb");
    // (bash's bracketed-paste escape may stand right before the output)
    if (!std::regex_search(size->out, std::regex("(^|[^0-9])1048576[^0-9]")))
        return failWith(c, "vdb is not the 512 MiB scratch disk: " + size->out);
    const auto rrBytes = fs::file_size(cfg.randread);
    auto stage = sh.run(fmt::format("head -c {} /dev/vdb > /dev/shm/randread && chmod +x "
                                    "/dev/shm/randread && /dev/shm/randread 2>&1 | head -1",
                                    rrBytes),
                        120);
    if (!stage || stage->out.find("usage: randread") == std::string::npos)
        return failWith(c, "randread did not run in the guest");
    const std::regex ddRe(R"(([0-9]+) bytes [^\n]* copied, ([0-9.]+) s,)");
    const std::regex rrRe(R"(randread: ([0-9]+) reads of 4096 bytes in ([0-9.]+) s: ([0-9]+) IOPS)");
    const double ddBytes = static_cast<double>(cfg.ddMiB) * kMiB;
    for (int round = 1; round <= cfg.rounds; ++round) {
        auto w = sh.run(fmt::format("time dd if=/dev/zero of=/dev/vdb bs=1M count={} oflag=direct "
                                    "conv=fsync 2>&1",
                                    cfg.ddMiB),
                        600);
        std::smatch m;
        if (!w || !std::regex_search(w->out, m, ddRe)) return failWith(c, "dd write did not complete");
        r.writeMiBs.push_back(std::stod(m[1]) / kMiB / std::stod(m[2]));
        r.hostWriteMiBs.push_back(ddBytes / kMiB / w->seconds);
        auto rd = sh.run(fmt::format("time dd if=/dev/vdb of=/dev/null bs=1M count={} iflag=direct 2>&1",
                                     cfg.ddMiB),
                         600);
        if (!rd || !std::regex_search(rd->out, m, ddRe)) return failWith(c, "dd read did not complete");
        r.readMiBs.push_back(std::stod(m[1]) / kMiB / std::stod(m[2]));
        r.hostReadMiBs.push_back(ddBytes / kMiB / rd->seconds);
        auto rr = sh.run(fmt::format("time /dev/shm/randread /dev/vdb {} {} {} 2>&1",
                                     static_cast<long long>(cfg.ddMiB) * kMiB, cfg.randCount,
                                     0x1234567 + round),
                         900);
        if (!rr || !std::regex_search(rr->out, m, rrRe)) return failWith(c, "randread did not complete");
        r.iops.push_back(std::stod(m[1]) / std::stod(m[2]));
        r.hostIops.push_back(static_cast<double>(cfg.randCount) / rr->seconds);
        fmt::print("{}: round {}: write {:.1f} MiB/s (host-timed {:.1f}; guest CPU busy {}), "
                   "read {:.1f} MiB/s (host-timed {:.1f}; busy {}), 4 KiB random read {:.0f} IOPS "
                   "(host-timed {:.0f}; busy {})\n",
                   name, round, r.writeMiBs.back(), r.hostWriteMiBs.back(), busy(w->out),
                   r.readMiBs.back(), r.hostReadMiBs.back(), busy(rd->out), r.iops.back(),
                   r.hostIops.back(), busy(rr->out));
    }
    r.memKiB = procStatus(c.pid());
    c.sendLine("poweroff");
    if (!c.waitExit(ConsoleDriver::Seconds(180))) {
        r.failure = "did not exit after poweroff: " + c.error();
        return r;
    }
    return r;
}

// A fresh sparse 512 MiB scratch disk with randread at offset 0; a sparse copy of the image.
void prepareDisks(const Config& cfg, const fs::path& dir) {
    fs::create_directories(dir);
    const fs::path root = dir / "root.img", scratch = dir / "scratch.img";
    fs::remove(root);
    fs::remove(scratch);
    runOrThrow(fmt::format("cp --reflink=auto --sparse=always '{}' '{}'", cfg.image, root.string()));
    runOrThrow(fmt::format("cp '{}' '{}' && truncate -s 512M '{}'", cfg.randread, scratch.string(),
                           scratch.string()));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bench_disk: virtio-blk, cxvm interp vs QEMU TCG on the Debian disk image"};
    Config cfg;
    const char* icEnv = std::getenv("CXVM_IMAGE_CACHE");
    const fs::path imageDir =
        fs::path(icEnv && *icEnv ? icEnv : "/var/cache/cxvm") / "debian-12-i386";
    std::string engine = "interp";
    std::string workDir;
    bool skipQemu = false;
    int sessions = 1;
    app.add_option("--engine", engine, "cxvm engine");
    app.add_option("--sessions", sessions,
                   "boots of each VMM, alternating which goes first (best of all counts)");
    app.add_option("--rounds", cfg.rounds, "rounds of the I/O measurements per session (best counts)");
    app.add_option("--dd-mib", cfg.ddMiB, "MiB per dd run");
    app.add_option("--rand-count", cfg.randCount, "4 KiB random reads per round");
    app.add_option("--work", workDir, "scratch folder (default: a temporary one, removed)");
    app.add_flag("--no-qemu", skipQemu, "measure cxvm only");
    CLI11_PARSE(app, argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (cfg.ddMiB == 0 || cfg.ddMiB > 500 || cfg.rounds < 1 || cfg.randCount < 1 || sessions < 1) {
        fmt::print(stderr, "bench_disk: --dd-mib must be 1..500 (the scratch disk is 512 MiB), "
                           "--rounds, --sessions and --rand-count positive\n");
        return 2;
    }
    cfg.kernel = (imageDir / "vmlinuz").string();
    cfg.initrd = (imageDir / "initrd.img").string();
    cfg.image = (imageDir / "debian-12-i386.img").string();
    for (const auto& f : {cfg.kernel, cfg.initrd, cfg.image})
        if (!fs::exists(f)) {
            fmt::print(stderr, "bench_disk: {} missing: run scripts/build-disk-image\n", f);
            return 1;
        }
    // The guest's command line and RAM are apps/disk_boot's, as the spec says them.
    const std::string dump =
        shellOut(fmt::format("'{}' dump '{}/apps/disk_boot' --json", CXVM_EXE, CXVM_SOURCE_DIR));
    std::smatch m;
    if (!std::regex_search(dump, m, std::regex(R"re("kernel_cmdline":"([^"]*)")re"))) {
        fmt::print(stderr, "bench_disk: no kernel_cmdline in `cxvm dump apps/disk_boot --json`\n");
        return 1;
    }
    cfg.append = m[1];
    if (std::regex_search(dump, m, std::regex(R"re("guest_ram_mb":([0-9]+))re")))
        cfg.memMiB = static_cast<unsigned>(std::stoul(m[1]));

    char tmpl[] = "/tmp/cxvm-bench-disk.XXXXXX";
    const bool ownWork = workDir.empty();
    if (ownWork) {
        if (!::mkdtemp(tmpl)) {
            std::perror("mkdtemp");
            return 1;
        }
        workDir = tmpl;
    }
    const fs::path work(workDir);
    // randread for the guest, built with the guest kit (static i686).
    const fs::path rrDir = work / "randread";
    fs::create_directories(rrDir);
    if (std::system(fmt::format("make -s -f '{}/bench/disk/guest/Makefile' -C '{}' >&2",
                                CXVM_SOURCE_DIR, rrDir.string())
                        .c_str()) != 0) {
        fmt::print(stderr, "bench_disk: randread did not build (guest kit: scripts/fetch-guest-kit)\n");
        return 1;
    }
    cfg.randread = (rrDir / "randread").string();
    fmt::print("bench_disk: {} + {}, {} MiB, \"{}\"\n  root: sparse copy of {}; vdb: 512 MiB sparse "
               "scratch; dd {} MiB bs=1M direct; {} random 4 KiB reads (QD1, O_DIRECT) over it; "
               "{} round(s), best counts\n",
               cfg.kernel, cfg.initrd, cfg.memMiB, cfg.append, cfg.image, cfg.ddMiB, cfg.randCount,
               cfg.rounds);

    auto drive = [](const fs::path& p) { return fmt::format("file={},format=raw,if=virtio", p.string()); };
    const std::string qemuExe = fs::exists("/usr/libexec/qemu-system-i386") ? "/usr/libexec/qemu-system-i386"
                                                                             : "/usr/bin/qemu-system-i386";
    auto runQemu = [&] {
        const fs::path d = work / "qemu";
        prepareDisks(cfg, d);
        Result r = session("qemu-tcg",
                           {qemuExe, "-accel", "tcg", "-cpu", "pentium3", "-m", std::to_string(cfg.memMiB),
                            "-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none",
                            "-no-reboot", "-kernel", cfg.kernel, "-initrd", cfg.initrd, "-append", cfg.append,
                            "-drive", drive(d / "root.img"), "-drive", drive(d / "scratch.img")},
                           cfg);
        fs::remove_all(d);
        return r;
    };
    auto runCxvm = [&] {
        const fs::path d = work / "cxvm";
        prepareDisks(cfg, d);
        // cxvm boots apps/disk_boot itself: a copy of the app whose `disks` attribute names
        // the two copies (the kernel and initrd come from the image cache as in the app).
        const fs::path appCopy = d / "disk_boot";
        fs::copy(fs::path(CXVM_SOURCE_DIR) / "apps/disk_boot", appCopy, fs::copy_options::recursive);
        const fs::path vmSpec = appCopy / "disk_boot.camkes";
        std::string text;
        {
            std::ifstream in(vmSpec);
            text.assign(std::istreambuf_iterator<char>(in), {});
        }
        const std::regex disksRe(R"(vm0\.disks = \[[^\]]*\];)");
        if (!std::regex_search(text, disksRe))
            throw std::runtime_error("no `vm0.disks = [...];` in " + vmSpec.string());
        text = std::regex_replace(
            text, disksRe,
            fmt::format(R"(vm0.disks = [{{"file": "{}", "read_only": 0}}, {{"file": "{}", "read_only": 0}}];)",
                        (d / "root.img").string(), (d / "scratch.img").string()));
        std::ofstream(vmSpec) << text;
        Result r = session("cxvm-" + engine, {CXVM_EXE, "-q", "run", appCopy.string(), "--engine", engine}, cfg);
        fs::remove_all(d);
        return r;
    };
    // Sessions alternate which VMM goes first, so that a change in the machine's load
    // does not always hit the same one; the table takes the best of all sessions.
    std::vector<Result> results;  // cxvm's, then QEMU's (merged over the sessions)
    Result cxAll, qAll;
    std::vector<double> cxBoots, qBoots;
    auto merge = [](Result& into, const Result& r, std::vector<double>& boots) {
        into.name = r.name;
        if (!r.failure.empty()) into.failure += (into.failure.empty() ? "" : "\n") + r.failure;
        if (r.bootS) {
            boots.push_back(*r.bootS);
            into.bootS = into.bootS ? std::min(*into.bootS, *r.bootS) : *r.bootS;
        }
        for (auto [to, from] : {std::pair{&into.writeMiBs, &r.writeMiBs}, {&into.readMiBs, &r.readMiBs},
                                {&into.iops, &r.iops}, {&into.hostWriteMiBs, &r.hostWriteMiBs},
                                {&into.hostReadMiBs, &r.hostReadMiBs}, {&into.hostIops, &r.hostIops}})
            to->insert(to->end(), from->begin(), from->end());
        if (!r.memKiB.empty()) into.memKiB = r.memKiB;
    };
    try {
        for (int s = 1; s <= sessions; ++s) {
            const bool qemuFirst = s % 2 == 1;
            if (!skipQemu && qemuFirst) merge(qAll, runQemu(), qBoots);
            merge(cxAll, runCxvm(), cxBoots);
            if (!skipQemu && !qemuFirst) merge(qAll, runQemu(), qBoots);
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "bench_disk: {}\n", e.what());
        return 1;
    }
    if (ownWork) fs::remove_all(work);
    if (!skipQemu) results.push_back(qAll);
    results.push_back(cxAll);
    auto list = [](const std::vector<double>& v) {
        std::string out;
        for (double x : v) out += fmt::format("{}{:.1f}", out.empty() ? "" : ", ", x);
        return out;
    };
    fmt::print("\nboots to login: cxvm {} s; qemu {} s\n", list(cxBoots), list(qBoots));

    int rc = 0;
    for (const auto& r : results)
        if (!r.failure.empty()) {
            fmt::print("{}: FAILED: {}\n", r.name, r.failure);
            rc = 2;
        }
    const Result& cx = results.back();
    const Result* q = results.size() > 1 ? &results.front() : nullptr;
    auto ratio = [](double a, double b) { return b > 0 ? fmt::format("{:.2f}x", a / b) : std::string("-"); };
    fmt::print("\n| what | {} | {} | ratio cxvm/qemu |\n|---|---|---|---|\n", cx.name, q ? q->name : "qemu (skipped)");
    auto row = [&](const char* what, double c, double qq, const char* unit, const char* better) {
        fmt::print("| {} | {:.1f} {} | {} | {} ({}) |\n", what, c, unit,
                   q ? fmt::format("{:.1f} {}", qq, unit) : "-", q ? ratio(c, qq) : "-", better);
    };
    row("boot to login:", cx.bootS.value_or(0), q ? q->bootS.value_or(0) : 0, "s", "lower is better");
    row("sequential write, dd bs=1M oflag=direct", best(cx.writeMiBs), q ? best(q->writeMiBs) : 0,
        "MiB/s", "higher is better");
    row("sequential read, dd bs=1M iflag=direct", best(cx.readMiBs), q ? best(q->readMiBs) : 0,
        "MiB/s", "higher is better");
    row("4 KiB random read, QD1, O_DIRECT", best(cx.iops), q ? best(q->iops) : 0, "IOPS",
        "higher is better");
    row("sequential write, host-timed", best(cx.hostWriteMiBs), q ? best(q->hostWriteMiBs) : 0,
        "MiB/s", "higher is better");
    row("sequential read, host-timed", best(cx.hostReadMiBs), q ? best(q->hostReadMiBs) : 0,
        "MiB/s", "higher is better");
    row("4 KiB random read, host-timed", best(cx.hostIops), q ? best(q->hostIops) : 0, "IOPS",
        "higher is better");
    const long rss = cx.memKiB.count("VmRSS") ? cx.memKiB.at("VmRSS") : 0;
    const long shmem = cx.memKiB.count("RssShmem") ? cx.memKiB.at("RssShmem") : 0;
    const long hwm = cx.memKiB.count("VmHWM") ? cx.memKiB.at("VmHWM") : 0;
    const long qrss = q && q->memKiB.count("VmRSS") ? q->memKiB.at("VmRSS") : 0;
    fmt::print("| resident memory after the I/O | RSS {:.1f} MiB = guest RAM touched {:.1f} MiB + "
               "{:.1f} MiB beyond guest RAM (peak RSS {:.1f} MiB) | RSS {} (guest RAM included) | - |\n",
               rss / 1024.0, shmem / 1024.0, (rss - shmem) / 1024.0, hwm / 1024.0,
               q ? fmt::format("{:.1f} MiB", qrss / 1024.0) : "-");
    return rc;
}
