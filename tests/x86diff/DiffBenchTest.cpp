// The differential bench proper: generated cases on the host CPU and on the emulator,
// registers, compared EFLAGS, the memory window and the x87 state must agree.
// CXVM_TEST_FULL=1 runs two million cases; CXVM_DIFF_CASES=N overrides the count,
// CXVM_DIFF_FIRST=N the first case id (to replay one: CXVM_DIFF_FIRST=id CXVM_DIFF_CASES=1),
// CXVM_DIFF_REPORT=N how many mismatching cases are printed (25).
#include "EmulatorTarget.h"
#include "Generator.h"
#include "NativeRunner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <array>
#include <map>
#include <vector>

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
    if (c.usesSse) {
        s += fmt::format(" mxcsr={:04x}\n ", c.mxcsr);
        for (unsigned i = 0; i < 8; ++i) s += fmt::format(" xmm{}={:016x}{:016x}", i, c.xmm[i][1], c.xmm[i][0]);
    }
    s += "\n";
    for (const auto& d : diffs) s += "  " + d + "\n";
    return s;
}

}  // namespace

TEST(DiffBench, EmulatorMatchesTheHostCpu) {
    const Layout l = Layout::forThisHost();
    auto emulator = makeEmulatorTarget(l);
    if (!emulator) GTEST_SKIP() << "no CPU core in this build (src/x86/Cpu.h)";
    auto compiled = makeEmulatorTarget(l, true);  // the same cases as compiled blocks
    NativeRunner& host = NativeRunner::shared();
    if (!host.usable()) GTEST_SKIP() << host.why();
    GeneratorOptions options = GeneratorOptions::fromEnvironment();
    const bool stack16Wanted = options.stack16;
    if (!host.stack16Usable()) options.stack16 = false;  // (NativeRunner.RunsOnA16BitStack says why)
    Generator gen(l, options);
    const std::uint64_t first = envNumber("CXVM_DIFF_FIRST", 1'000'000), n = caseCount();
    const std::uint64_t reportLimit = envNumber("CXVM_DIFF_REPORT", 25);
    // CXVM_DIFF_PROGRESS=N: a line every N cases (to find the case that takes down an
    // emulated oracle); default every 100000 cases of a long run.
    const std::uint64_t progress = envNumber("CXVM_DIFF_PROGRESS", n >= 100000 ? 100000 : 0);
    std::uint64_t mismatches = 0, faults = 0, stack16 = 0, stack16Faults = 0;
    std::string report;
    for (std::uint64_t id = first; id < first + n; ++id) {
        const DiffCase c = gen.make(id);
        const DiffOutcome want = host.run(c);
        faults += want.faulted;
        stack16 += c.stack16;
        stack16Faults += c.stack16 && want.faulted;
        for (DiffTarget* t : {emulator.get(), compiled.get()}) {
            auto diffs = compareOutcomes(c, want, t->run(c), l);
            if (diffs.empty()) continue;
            if (++mismatches <= reportLimit) {
                diffs.insert(diffs.begin(), fmt::format("({})", t->name()));
                report += describe(c, l, diffs);
            }
        }
        if (progress && (id - first) % progress == 0 && id != first)
            fmt::print(stderr, "x86diff: {} of {} cases, {} mismatches\n", id - first, n, mismatches);
    }
    // One line for the run's summary (scripts/nested/run-diff-oracle and ./test quote it).
    const std::string stack16Note =
        options.stack16 ? fmt::format("{} on a 16-bit stack ({} of them ended in an exception)", stack16, stack16Faults)
        : stack16Wanted ? fmt::format("no 16-bit stacks: {}", host.stack16Why())
                        : std::string("no 16-bit stacks (CXVM_DIFF_STACK16=0)");
    fmt::print("x86diff: {} cases (ids {}..{}) against the {}, interpreted and compiled: {} mismatches, "
               "{} ended in an exception, {} addressing, {}\n",
               n, first, first + n - 1, oracleName(), mismatches, faults,
               l.addr16Reachable() ? "32- and 16-bit" : "32-bit", stack16Note);
    RecordProperty("stack16_cases", static_cast<int>(stack16));
    RecordProperty("cases", static_cast<int>(n));
    RecordProperty("mismatches", static_cast<int>(mismatches));
    EXPECT_EQ(mismatches, 0u) << mismatches << " of " << n << " cases differ (" << faults
                              << " ended in an exception on the host); first ones:\n" << report;
}

// Compiled blocks against the interpreter on the same generated cases, with no oracle:
// runs everywhere (also where the host CPU cannot run 32-bit code), so the compiled
// fast paths (byte forms, flag liveness, chaining) are checked in the default ./test
// even when the nested-L1 oracle is not run.
TEST(DiffBench, CompiledMatchesTheInterpreter) {
    const Layout l = Layout::forThisHost();
    auto emulator = makeEmulatorTarget(l);
    if (!emulator) GTEST_SKIP() << "no CPU core in this build (src/x86/Cpu.h)";
    auto compiled = makeEmulatorTarget(l, true);
    Generator gen(l, GeneratorOptions::fromEnvironment());
    // Its own count (seconds here; the oracle runs in the nested L1 compare both ways
    // anyway): CXVM_DIFF_COMPILED_CASES.
    const std::uint64_t first = envNumber("CXVM_DIFF_FIRST", 1'000'000);
    const std::uint64_t n = envNumber("CXVM_DIFF_COMPILED_CASES", 20'000);
    const std::uint64_t reportLimit = envNumber("CXVM_DIFF_REPORT", 25);
    std::uint64_t mismatches = 0, stack16 = 0;
    std::string report;
    for (std::uint64_t id = first; id < first + n; ++id) {
        const DiffCase c = gen.make(id);
        stack16 += c.stack16;
        auto diffs = compareOutcomes(c, emulator->run(c), compiled->run(c), l);
        if (diffs.empty()) continue;
        if (++mismatches <= reportLimit) {
            diffs.insert(diffs.begin(), "(compiled against interpreted)");
            report += describe(c, l, diffs);
        }
    }
    fmt::print("x86diff: {} cases (ids {}..{}; {} on a 16-bit stack), compiled against interpreted: {} mismatches\n",
               n, first, first + n - 1, stack16, mismatches);
    EXPECT_EQ(mismatches, 0u) << mismatches << " of " << n << " cases differ; first ones:\n" << report;
}

// MMX, SSE and SSE2: cases of Generator::makeSimd (their own id space), XMM0-7, MXCSR
// and the x87 (MMX) state compared too. CXVM_DIFF_SIMD_CASES overrides the count (by
// default half of the main test's).
TEST(DiffBench, SimdMatchesTheHostCpu) {
    const Layout l = Layout::forThisHost();
    auto emulator = makeEmulatorTarget(l);
    if (!emulator) GTEST_SKIP() << "no CPU core in this build (src/x86/Cpu.h)";
    auto compiled = makeEmulatorTarget(l, true);
    NativeRunner& host = NativeRunner::shared();
    if (!host.usable()) GTEST_SKIP() << host.why();
    Generator gen(l, GeneratorOptions::fromEnvironment());
    const std::uint64_t first = envNumber("CXVM_DIFF_FIRST", 1'000'000);
    const std::uint64_t n = envNumber("CXVM_DIFF_SIMD_CASES", caseCount() / 2);
    const std::uint64_t reportLimit = envNumber("CXVM_DIFF_REPORT", 25);
    std::uint64_t mismatches = 0, faults = 0;
    std::map<int, std::uint64_t> vectors;
    std::string report;
    for (std::uint64_t id = first; id < first + n; ++id) {
        const DiffCase c = gen.makeSimd(id);
        const DiffOutcome want = host.run(c);
        faults += want.faulted;
        if (want.faulted) ++vectors[want.vector];
        for (DiffTarget* t : {emulator.get(), compiled.get()}) {
            auto diffs = compareOutcomes(c, want, t->run(c), l);
            if (diffs.empty()) continue;
            if (++mismatches <= reportLimit) {
                diffs.insert(diffs.begin(), fmt::format("({}; SIMD case: replay with CXVM_DIFF_SIMD_CASES=1 --gtest_filter=DiffBench.Simd*)", t->name()));
                report += describe(c, l, diffs);
            }
        }
    }
    std::string ends;
    for (const auto& [v, count] : vectors) ends += fmt::format(" #{}: {}", v, count);
    fmt::print("x86diff-simd: {} MMX/SSE/SSE2 cases (ids {}..{}) against the {}, interpreted and compiled: "
               "{} mismatches, {} ended in an exception ({})\n",
               n, first, first + n - 1, oracleName(), mismatches, faults, ends.empty() ? "none" : ends.substr(1));
    RecordProperty("simd_cases", static_cast<int>(n));
    RecordProperty("simd_mismatches", static_cast<int>(mismatches));
    EXPECT_EQ(mismatches, 0u) << mismatches << " of " << n << " SIMD cases differ; first ones:\n" << report;
}

// The mismatches docs/x86-diff.md reports, as fixed snippets: they must stay fixed even
// when the generator changes.
TEST(DiffBench, ReportedFindingsStayFixed) {
    const Layout l = Layout::forThisHost();
    auto emulator = makeEmulatorTarget(l);
    if (!emulator) GTEST_SKIP() << "no CPU core in this build (src/x86/Cpu.h)";
    if (!NativeRunner::shared().usable()) GTEST_SKIP() << NativeRunner::shared().why();
    struct Finding {
        const char* what;
        std::vector<std::uint8_t> code;
        std::array<std::uint32_t, 8> regs;  // ESP is replaced by a stack address
        bool usesFpu;
        bool cpuOnly = false;  // QEMU's TCG does not check segment types (docs/x86-diff.md)
    };
    const std::uint32_t d = l.data + 0x1000;
    const Finding findings[] = {
        {"xadd bx, bx", {0x66, 0x0F, 0xC1, 0xDB}, {0, 0, 0, 0x61157E05, 0, 0, 0, 0}, false},
        {"xadd dh, dh", {0x0F, 0xC0, 0xF6}, {0, 0, 0xB700, 0, 0, 0, 0, 0}, false},
        {"idiv cl with AX = -466", {0xF6, 0xF9}, {0x9ADBFE2E, 0x6E, 0, 0, 0, 0, 0, 0}, false},
        {"lock and bx, [edi]", {0xF0, 0x66, 0x23, 0x1F}, {0, 0, 0, 0, 0, 0, 0, d}, false},
        {"lock or edx, [edi]", {0xF0, 0x0B, 0x17}, {0, 0, 0, 0, 0, 0, 0, d}, false},
        {"sar word cs:[edi], 0x20", {0x66, 0x2E, 0xC1, 0x3F, 0x20}, {0, 0, 0, 0, 0, 0, 0, d}, false, true},
        {"shld cs:[edi], eax, 0", {0x2E, 0x0F, 0xA4, 0x07, 0x00}, {0, 0, 0, 0, 0, 0, 0, d}, false, true},
        {"fld1; fchs; fninit; fdecstp; fxam",
         {0xD9, 0xE8, 0xD9, 0xE0, 0xDB, 0xE3, 0xD9, 0xF6, 0xD9, 0xE5}, {}, true},
    };
    const bool cpuOracle = GeneratorOptions::fromEnvironment().oracle == Oracle::Cpu;
    for (const Finding& f : findings) {
        if (f.cpuOnly && !cpuOracle) continue;
        DiffCase c;
        c.code = f.code;
        c.regs = f.regs;
        c.regs[4] = l.data + 0x3800;
        c.eflags = 0x202;
        c.memory.assign(Layout::kDataBytes, 0x5A);
        c.fpu.cw = 0x037F;
        c.fpu.tw = 0xFFFF;
        c.usesFpu = f.usesFpu;
        if (f.code[0] == 0xF6) c.undefinedFlags = 0x8D5;  // IDIV leaves every flag undefined
        const DiffOutcome want = NativeRunner::shared().run(c);
        const DiffOutcome got = emulator->run(c);
        const auto diffs = compareOutcomes(c, want, got, l);
        EXPECT_TRUE(diffs.empty()) << f.what << "\n" << describe(c, l, diffs);
    }
}

// A fixed snippet on the 16-bit stack segment, with its results worked out by hand from
// the SDM (StackAddrSize = 16: SP addressed through SS, ESP[31:16] kept; LEAVE uses BP,
// o32 ENTER writes EBP), checked on the emulator interpreted and compiled; the second
// test compares it with the host CPU where that can run it.
namespace {
DiffCase stack16KnownSnippet(const Layout& l) {
    DiffCase c;
    c.code = {
        0x6A, 0x07, 0x17,                                // push 7 ; pop ss (16-bit stack)
        0x8D, 0xA4, 0x24, 0x00, 0x00, 0x34, 0x12,        // lea esp, [esp + 0x12340000]
        0x66, 0x50,                                      // push ax
        0x50,                                            // push eax
        0xC8, 0x00, 0x00, 0x00,                          // enter 0, 0 (o32): pushes EBP, EBP <- ESP
        0x89, 0xEA,                                      // mov edx, ebp
        0xC9,                                            // leave: SP <- BP, pop EBP
        0x66, 0x6A, 0x2B, 0x66, 0x17,                    // push word 0x2b ; pop ss (o16)
        0x8D, 0xA4, 0x24, 0x00, 0x00, 0xCC, 0xED,        // lea esp, [esp - 0x12340000]
    };
    const std::uint32_t esp0 = l.data + 0x3800;
    // EBP[31:16] unlike ESP[31:16] at the ENTER: o32 ENTER on a 16-bit stack sets all of
    // EBP := ESP[31:16]:SP (docs/x86-diff.md, finding 6), not BP alone.
    const std::uint32_t ebp0 = 0xABCD5678u;
    c.regs = {0x11112222, 0, 0, 0, esp0, ebp0, 0, 0};
    c.eflags = 0x202;
    c.memory.assign(Layout::kDataBytes, 0x5A);
    c.fpu.cw = 0x037F;
    c.fpu.tw = 0xFFFF;
    c.stack16 = true;
    return c;
}
}  // namespace

TEST(DiffBench, Stack16KnownSnippet) {
    const Layout l = Layout::forThisHost();
    auto emulator = makeEmulatorTarget(l);
    if (!emulator) GTEST_SKIP() << "no CPU core in this build (src/x86/Cpu.h)";
    auto compiled = makeEmulatorTarget(l, true);
    const DiffCase c = stack16KnownSnippet(l);
    const std::uint32_t esp0 = c.regs[4], ebp0 = c.regs[5];  // ESP, EBP
    const std::uint32_t upper = (esp0 + 0x12340000u) & 0xFFFF0000u;
    const auto word = [](const DiffOutcome& o, std::uint32_t at, unsigned bytes) {
        std::uint32_t v = 0;
        std::memcpy(&v, &o.memory[at], bytes);
        return v;
    };
    const std::uint32_t w = esp0 - l.data;
    for (DiffTarget* t : {emulator.get(), compiled.get()}) {
        const DiffOutcome o = t->run(c);
        ASSERT_FALSE(o.faulted) << t->name() << ": fault #" << +o.vector << " at " << std::hex << o.eip;
        EXPECT_EQ(o.regs[4], esp0 - 6) << t->name();
        EXPECT_EQ(o.regs[5], ebp0) << t->name();
        // EBP <- ESP after the push of EBP: ESP[31:16] (the junk added by the LEA):SP
        EXPECT_EQ(o.regs[2], upper | ((esp0 - 10) & 0xFFFF)) << t->name();
        EXPECT_EQ(word(o, w - 2, 2), 0x2222u) << t->name();
        EXPECT_EQ(word(o, w - 6, 4), 0x11112222u) << t->name();
        EXPECT_EQ(word(o, w - 8, 2), 0x2Bu) << t->name();  // over EBP's upper half
        EXPECT_EQ(word(o, w - 10, 2), 0x5678u) << t->name();
    }
}

// The same snippet on the host CPU (where it runs 32-bit code: here, in the nested L1
// through x86diff_l1).
TEST(DiffBench, Stack16KnownSnippetMatchesTheHostCpu) {
    const Layout l = Layout::forThisHost();
    auto emulator = makeEmulatorTarget(l);
    if (!emulator) GTEST_SKIP() << "no CPU core in this build (src/x86/Cpu.h)";
    NativeRunner& host = NativeRunner::shared();
    if (!host.usable()) GTEST_SKIP() << host.why();
    if (!host.stack16Usable()) GTEST_SKIP() << host.stack16Why();
    const DiffCase c = stack16KnownSnippet(l);
    const DiffOutcome want = host.run(c);
    const auto diffs = compareOutcomes(c, want, emulator->run(c), l);
    EXPECT_TRUE(diffs.empty()) << describe(c, l, diffs);
}
