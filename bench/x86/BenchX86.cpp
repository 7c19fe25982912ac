// bench_x86: guest MIPS of the interp CPU on a CPU-bound 32-bit program -- with hot blocks
// compiled (the default) and interpreted only (--no-jit) -- and the same program run as
// an i386 ELF by the host in the same run as the baseline. `bench_x86 --help`.
//
// The baseline is the host CPU only when the kernel runs the ELF itself: an enabled
// binfmt_misc entry matching it (qemu-user-static registers one for i386, with flag F)
// takes precedence over the kernel's own ELF loader, and then the "native" run measures
// that interpreter (QEMU's user-mode TCG). The baseline is labelled by what runs it.
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "x86/Cpu.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace {

using cxvm::x86::StopReason;

// CPU time, not wall time: the build machines are shared, and both sides are measured
// the same way (thread CPU time here, the child's user+system time for the ELF).
double threadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<std::uint8_t> readFile(const std::string& path, std::size_t limit = SIZE_MAX) {
    std::ifstream f(path, std::ios::binary);
    std::vector<std::uint8_t> bytes;
    for (std::istreambuf_iterator<char> it(f), end; it != end && bytes.size() < limit; ++it)
        bytes.push_back(static_cast<std::uint8_t>(*it));
    return bytes;
}

struct EmuRun {
    double secs;
    std::uint64_t instructions;
    std::uint32_t result;
};

EmuRun runEmulated(const std::vector<std::uint8_t>& code, bool compiled) {
    cxvm::hw::GuestMemory mem{64u << 20};
    cxvm::hw::IoBus io;
    cxvm::hw::MmioBus mmio;
    cxvm::hw::CpuInterruptPins pins;
    cxvm::x86::Cpu cpu{cxvm::x86::CpuBus{mem, io, mmio, pins, nullptr}};
    cpu.setCompile(compiled);
    mem.write(0x1000, code);
    cpu.setFlat32(0x1000, 0x80000);
    const double t0 = threadCpuSeconds();
    const auto r = cpu.run(UINT64_MAX / 2);
    const double t1 = threadCpuSeconds();
    if (r.reason != StopReason::Halt) {
        fmt::print(stderr, "bench_x86: workload did not halt (reason {}, eip {:#x})\n",
                   static_cast<int>(r.reason), cpu.eip());
        std::exit(1);
    }
    return {t1 - t0, cpu.instructionsRetired(), cpu.reg(cxvm::x86::EAX)};
}

// Runs the i386 ELF; returns seconds and its exit status (result & 0xFF).
std::pair<double, int> runElf(const std::string& path) {
    char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
    pid_t pid;
    if (posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, environ) != 0) return {-1, -1};
    int status = 0;
    rusage ru{};
    if (wait4(pid, &status, 0, &ru) != pid) return {-1, -1};
    const double secs = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    return {secs, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

std::vector<std::uint8_t> hexBytes(const std::string& hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

// The enabled binfmt_misc entry whose magic matches `head` (the ELF's first bytes):
// "name (interpreter, flags F)"; nullopt when the kernel's own loader runs it.
std::optional<std::string> binfmtHandler(const std::vector<std::uint8_t>& head) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/sys/fs/binfmt_misc", ec)) {
        const std::string name = e.path().filename();
        if (name == "register" || name == "status") continue;
        std::ifstream f(e.path());
        std::string l, interpreter, flags, magic, mask;
        bool enabled = false;
        unsigned offset = 0;
        while (std::getline(f, l)) {
            if (l == "enabled") enabled = true;
            else if (l.rfind("interpreter ", 0) == 0) interpreter = l.substr(12);
            else if (l.rfind("flags: ", 0) == 0) flags = l.substr(7);
            else if (l.rfind("offset ", 0) == 0) offset = static_cast<unsigned>(std::stoul(l.substr(7)));
            else if (l.rfind("magic ", 0) == 0) magic = l.substr(6);
            else if (l.rfind("mask ", 0) == 0) mask = l.substr(5);
        }
        if (!enabled || magic.empty()) continue;  // extension entries never match a path without one
        const auto m = hexBytes(magic);
        auto k = hexBytes(mask);
        k.resize(m.size(), 0xFF);
        bool match = offset + m.size() <= head.size();
        for (std::size_t i = 0; match && i < m.size(); ++i)
            match = ((head[offset + i] ^ m[i]) & k[i]) == 0;
        if (match)
            return fmt::format("{} ({}{})", name, interpreter, flags.empty() ? "" : ", flags " + flags);
    }
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = CXVM_BENCH_X86_DIR;
    CLI::App app{
        "bench_x86: guest MIPS of the interp CPU on a CPU-bound 32-bit workload, compiled and\n"
        "interpreted, against the same program run as an i386 ELF by the host in the same run.\n"
        "Times are CPU times, best of the repeats (the three modes interleaved)."};
    std::string workload = dir + "/workload.bin";
    std::string elf = dir + "/workload-native";
    unsigned repeats = 3;
    std::vector<std::string> modes{"compiled", "interp", "native"};
    app.add_option("repeats", repeats, "how many times each mode runs (as --repeats)")
        ->check(CLI::Range(1u, 1000u));
    app.add_option("-r,--repeats", repeats, "how many times each mode runs; the best counts")
        ->check(CLI::Range(1u, 1000u))
        ->capture_default_str();
    app.add_option("-w,--workload", workload,
                   "flat 32-bit binary loaded at 0x1000, run flat from there to HLT, result in EAX")
        ->check(CLI::ExistingFile)
        ->capture_default_str();
    app.add_option("--elf", elf, "the same workload as an i386 ELF (exit status = result & 0xFF)")
        ->check(CLI::ExistingFile)
        ->capture_default_str();
    app.add_option("-m,--modes", modes,
                   "what to run: compiled (hot blocks compiled), interp (interpreted only, "
                   "cxvm run --no-jit), native (the ELF, by whatever runs it on this host)")
        ->delimiter(',')
        ->check(CLI::IsMember({"compiled", "interp", "native"}))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    const auto want = [&](const char* m) { return std::ranges::find(modes, m) != modes.end(); };

    const std::vector<std::uint8_t> code = readFile(workload);
    if (code.empty()) {
        fmt::print(stderr, "bench_x86: {} is empty\n", workload);
        return 1;
    }
    // What runs the ELF: a binfmt_misc handler (e.g. qemu-i386) or the host CPU.
    const std::optional<std::string> handler = want("native") ? binfmtHandler(readFile(elf, 128)) : std::nullopt;
    const std::string baseline = handler ? "qemu-i386 via binfmt" : "native";

    double best[3] = {1e9, 1e9, 1e9};  // compiled, interp, ELF
    std::uint64_t instructions = 0;
    std::uint32_t result[2] = {0, 0};
    int elfResult = -2;
    for (unsigned i = 0; i < repeats; ++i) {  // interleaved: drifts in host speed hit all three
        for (unsigned m = 0; m < 2; ++m) {
            if (!want(m == 0 ? "compiled" : "interp")) continue;
            const EmuRun e = runEmulated(code, m == 0);
            best[m] = std::min(best[m], e.secs);
            instructions = e.instructions;
            result[m] = e.result;
        }
        if (want("native")) {
            const auto [secs, rc] = runElf(elf);
            if (secs >= 0) best[2] = std::min(best[2], secs);
            elfResult = rc;
        }
    }
    const bool haveCompiled = want("compiled"), haveInterp = want("interp");
    const std::uint32_t emuResult = haveCompiled ? result[0] : result[1];
    const auto mips = [&](double s) { return static_cast<double>(instructions) / s / 1e6; };
    if (haveCompiled || haveInterp)
        fmt::print("workload: {}, {} guest instructions, result {:#010x}\n", workload, instructions, emuResult);
    if (haveCompiled)
        fmt::print("interp : {:8.3f} s CPU  {:8.1f} MIPS (hot blocks compiled)\n", best[0], mips(best[0]));
    if (haveInterp)
        fmt::print("--no-jit: {:7.3f} s CPU  {:8.1f} MIPS (interpreted only{})\n", best[1], mips(best[1]),
                   haveCompiled ? fmt::format("; compiled is {:.2f}x", mips(best[0]) / mips(best[1])) : "");
    if (haveCompiled && haveInterp && result[0] != result[1]) {
        fmt::print(stderr, "bench_x86: MISMATCH: compiled result {:#x}, interpreted {:#x}\n", result[0], result[1]);
        return 1;
    }
    if (!want("native")) return 0;
    if (handler) fmt::print("baseline: the i386 ELF runs through binfmt_misc entry {}\n", *handler);
    if (elfResult < 0) {
        fmt::print("{} : could not run the i386 ELF on this host (no baseline)\n", baseline);
        return 0;
    }
    const std::string label = fmt::format("{:<7}", baseline);
    if (!haveCompiled && !haveInterp) {
        fmt::print("{}: {:8.3f} s CPU (process start included), exit status {:#04x}\n", label, best[2], elfResult);
        return 0;
    }
    const double baseMips = mips(best[2]);
    const double emuMips = mips(haveCompiled ? best[0] : best[1]);
    fmt::print("{}: {:8.3f} s  {:8.1f} MIPS (CPU time, process start included)\n", label, best[2], baseMips);
    fmt::print("ratio  : interp runs at {:.1f}% of {} ({:.1f}x {})\n", 100.0 * emuMips / baseMips,
               handler ? "qemu-i386 (user-mode TCG), not of the host CPU" : "native",
               emuMips < baseMips ? baseMips / emuMips : emuMips / baseMips,
               emuMips < baseMips ? "slower" : "faster");
    if (static_cast<int>(emuResult & 0xFF) != elfResult) {
        fmt::print(stderr, "bench_x86: MISMATCH: interp result {:#x}, {} exit {:#x}\n", emuResult & 0xFF,
                   baseline, elfResult);
        return 1;
    }
    fmt::print("results agree (low byte {:#04x})\n", elfResult);
    return 0;
}
