// bench_x86: guest MIPS of the interp CPU on a CPU-bound 32-bit program -- with hot blocks
// compiled (the default) and interpreted only (--no-jit) -- and the same program run
// natively by the host in the same run as the baseline.
//   bench_x86 [repeats]
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "x86/Cpu.h"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

extern char** environ;

namespace {

using cxvm::x86::StopReason;

// CPU time, not wall time: the build machines are shared, and both sides are measured
// the same way (thread CPU time here, the child's user+system time for native).
double threadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
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

// Runs the native i386 ELF; returns seconds and its exit status (result & 0xFF).
std::pair<double, int> runNative(const std::string& path) {
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

}  // namespace

int main(int argc, char** argv) {
    const int repeats = argc > 1 ? std::atoi(argv[1]) : 3;
    const std::string dir = CXVM_BENCH_X86_DIR;
    std::ifstream f(dir + "/workload.bin", std::ios::binary);
    std::vector<std::uint8_t> code((std::istreambuf_iterator<char>(f)), {});
    if (code.empty()) {
        fmt::print(stderr, "bench_x86: {}/workload.bin missing\n", dir);
        return 1;
    }
    double bestEmu = 1e9, bestInterp = 1e9, bestNative = 1e9;
    std::uint64_t instructions = 0;
    std::uint32_t result = 0, interpResult = 0;
    int nativeResult = -2;
    for (int i = 0; i < repeats; ++i) {  // interleaved: drifts in host speed hit all three
        EmuRun e = runEmulated(code, true);
        bestEmu = std::min(bestEmu, e.secs);
        instructions = e.instructions;
        result = e.result;
        EmuRun p = runEmulated(code, false);
        bestInterp = std::min(bestInterp, p.secs);
        interpResult = p.result;
        auto [ns, rc] = runNative(dir + "/workload-native");
        if (ns >= 0) bestNative = std::min(bestNative, ns);
        nativeResult = rc;
    }
    const double emuMips = static_cast<double>(instructions) / bestEmu / 1e6;
    fmt::print("workload: {} guest instructions, result {:#010x}\n", instructions, result);
    const double interpMips = static_cast<double>(instructions) / bestInterp / 1e6;
    fmt::print("interp : {:8.3f} s CPU  {:8.1f} MIPS (hot blocks compiled)\n", bestEmu, emuMips);
    fmt::print("--no-jit: {:7.3f} s CPU  {:8.1f} MIPS (interpreted only; compiled is {:.2f}x)\n",
               bestInterp, interpMips, interpMips > 0 ? emuMips / interpMips : 0.0);
    if (interpResult != result) {
        fmt::print(stderr, "bench_x86: MISMATCH: compiled result {:#x}, interpreted {:#x}\n", result,
                   interpResult);
        return 1;
    }
    if (nativeResult < 0) {
        fmt::print("native : could not run the i386 ELF on this host (no baseline)\n");
        return 0;
    }
    const double nativeMips = static_cast<double>(instructions) / bestNative / 1e6;
    fmt::print("native : {:8.3f} s  {:8.1f} MIPS (CPU time, process start included)\n", bestNative, nativeMips);
    fmt::print("ratio  : interp runs at {:.1f}% of native ({:.1f}x slower)\n",
               100.0 * emuMips / nativeMips, nativeMips / emuMips);
    if (static_cast<int>(result & 0xFF) != nativeResult) {
        fmt::print(stderr, "bench_x86: MISMATCH: interp result {:#x}, native exit {:#x}\n",
                   result & 0xFF, nativeResult);
        return 1;
    }
    fmt::print("results agree (low byte {:#04x})\n", nativeResult);
    return 0;
}
