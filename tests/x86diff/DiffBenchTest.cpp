// The differential bench proper: generated cases on the host CPU and on the emulator,
// registers, compared EFLAGS, the memory window and the x87 state must agree.
// CXVM_TEST_FULL=1 runs two million cases; CXVM_DIFF_CASES=N overrides the count,
// CXVM_DIFF_FIRST=N the first case id (to replay one: CXVM_DIFF_FIRST=id CXVM_DIFF_CASES=1).
#include "EmulatorTarget.h"
#include "Generator.h"
#include "NativeRunner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

using namespace cxvm::x86::diff;

namespace {

std::uint64_t envNumber(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

std::uint64_t caseCount() {
    const char* full = std::getenv("CXVM_TEST_FULL");
    const bool isFull = full && *full && *full != '0';
    return envNumber("CXVM_DIFF_CASES", isFull ? 2'000'000 : 6000);
}

std::string describe(const DiffCase& c, const Layout& l, const std::vector<std::string>& diffs) {
    static constexpr const char* kRegs[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    std::string s = fmt::format("case {} (replay: CXVM_DIFF_FIRST={} CXVM_DIFF_CASES=1)\n", c.id, c.id);
    s += disassemble(c.code, l.snippet());
    s += "  in:";
    for (unsigned i = 0; i < 8; ++i) s += fmt::format(" {}={:08x}", kRegs[i], c.regs[i]);
    s += fmt::format(" eflags={:08x} undefined={:#x}", c.eflags, c.undefinedFlags);
    if (c.usesFpu) s += fmt::format(" fcw={:04x} fsw={:04x} ftw={:04x}", c.fpu.cw & 0xFFFF, c.fpu.sw & 0xFFFF, c.fpu.tw & 0xFFFF);
    s += "\n";
    for (const auto& d : diffs) s += "  " + d + "\n";
    return s;
}

}  // namespace

TEST(DiffBench, EmulatorMatchesTheHostCpu) {
    const Layout l = Layout::forThisHost();
    auto emulator = makeEmulatorTarget(l);
    if (!emulator) GTEST_SKIP() << "no CPU core in this build (src/x86/Cpu.h)";
    NativeRunner& host = NativeRunner::shared();
    Generator gen(l);
    const std::uint64_t first = envNumber("CXVM_DIFF_FIRST", 1'000'000), n = caseCount();
    std::uint64_t mismatches = 0, faults = 0;
    std::string report;
    for (std::uint64_t id = first; id < first + n; ++id) {
        const DiffCase c = gen.make(id);
        const DiffOutcome want = host.run(c);
        const DiffOutcome got = emulator->run(c);
        faults += want.faulted;
        const auto diffs = compareOutcomes(c, want, got, l);
        if (!diffs.empty()) {
            if (++mismatches <= 25) report += describe(c, l, diffs);
        }
        if (n >= 100000 && (id - first) % 100000 == 0 && id != first)
            fmt::print(stderr, "x86diff: {} of {} cases, {} mismatches\n", id - first, n, mismatches);
    }
    RecordProperty("cases", static_cast<int>(n));
    RecordProperty("mismatches", static_cast<int>(mismatches));
    EXPECT_EQ(mismatches, 0u) << mismatches << " of " << n << " cases differ (" << faults
                              << " ended in an exception on the host); first ones:\n" << report;
}
