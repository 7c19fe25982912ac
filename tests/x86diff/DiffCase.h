#pragma once
// One differential test case and what running it produced, shared by the native runner,
// the emulator binding and the generator.
#include "x86/X87.h"

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cxvm::x86::diff {

// Where the snippet, its data window and the runner's context live: the same linear
// addresses natively (below 4 GiB, mapped in this process) and in the emulator. With a
// low layout (vm.mmap_min_addr <= 0x1000) the window sits below 64 KiB, so 16-bit
// addressing (67h) can be tested too.
struct Layout {
    std::uint32_t ctx;      // native runner context page
    std::uint32_t code;     // trampolines; the snippet at code + kSnippetOffset
    std::uint32_t data;     // the compared memory window (operands and stack)
    static constexpr std::uint32_t kCodeBytes = 0x2000;
    static constexpr std::uint32_t kSnippetOffset = 0x400;
    static constexpr std::uint32_t kDataBytes = 0x4000;
    // Memory operands land in [data + kOperandLo, data + kOperandHi).
    static constexpr std::uint32_t kOperandLo = 0x400, kOperandHi = 0x2C00;
    // Initial ESP lies in [data + kStackLo, data + kStackHi].
    static constexpr std::uint32_t kStackLo = 0x3000, kStackHi = 0x3C00;

    // The 16-bit stack segment (docs/x86-diff.md "16-bit stacks"): LDT entry 0 at RPL 3,
    // a read/write expand-up data segment with B = 0, DPL 3, limit 0xFFFF and as base the
    // 64 KiB block holding the window, so SS:SP addresses the same bytes as the flat ESP
    // and SP never wraps inside the window. The native runner installs it with
    // modify_ldt, the emulator target builds the same descriptor tables.
    static constexpr std::uint16_t kStack16Selector = 0x07;
    static constexpr std::uint16_t kUserCs = 0x23, kUserDs = 0x2B;  // x86-64 Linux's

    std::uint32_t snippet() const { return code + kSnippetOffset; }
    bool addr16Reachable() const { return data + kDataBytes <= 0x10000; }
    std::uint32_t stack16Base() const { return data & 0xFFFF0000u; }
    // The whole window lies in one 64 KiB block (both layouts do).
    bool stack16Fits() const { return (data >> 16) == ((data + kDataBytes - 1) >> 16); }
    // 16-bit near/far call targets (EIP[31:16] = 0) reach the snippet.
    bool code16Reachable() const { return code + kCodeBytes <= 0x10000; }
    static Layout forThisHost();
};

// EFLAGS bits the bench compares (OSZAPC and DF); IF, IOPL, ID and friends differ by
// privilege and environment, not by instruction semantics.
inline constexpr std::uint32_t kComparedFlags = 0x8D5 | 0x400;

struct DiffCase {
    std::vector<std::uint8_t> code;      // snippet; both sides append their own exit
    std::array<std::uint32_t, 8> regs{};  // EAX..EDI, ESP included
    std::uint32_t eflags = 0x202;
    std::vector<std::uint8_t> memory;    // initial window contents (Layout::kDataBytes)
    X87HostImage fpu{};                  // initial x87 state (32-bit FNSAVE layout)
    std::uint32_t undefinedFlags = 0;    // EFLAGS bits the SDM/APM leave undefined at the end
    // (snippet offset, undefined flags before the instruction there), ascending: a case
    // that faults is compared with the mask in force at the faulting instruction.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> undefinedBefore;
    // (window offset, length) of bytes not compared: FCS/FDS selectors in FNSTENV/FNSAVE
    // images, which name this process's segments natively.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ignoredMemory;
    bool usesFpu = false;
    // SSE state (MMX registers are the x87's): XMM0-7 and MXCSR, compared when usesSse.
    std::array<std::array<std::uint64_t, 2>, 8> xmm{};
    std::uint32_t mxcsr = 0x1F80;
    bool usesSse = false;
    // QEMU's TCG leaves bits 64-79 of an x87 register alone when an MMX instruction
    // writes it (docs/x86-diff.md): there, SIMD cases compare the MMX significands, TOP
    // and empty/not empty, not the exponents and full tags.
    bool mmxSignificandsOnly = false;
    // The snippet switches SS to Layout::kStack16Selector (a 16-bit stack) and back.
    bool stack16 = false;
    std::uint64_t id = 0;                // generator seed: regenerates the case
};

struct DiffOutcome {
    std::array<std::uint32_t, 8> regs{};
    std::uint32_t eflags = 0;
    bool faulted = false;
    std::uint8_t vector = 0;   // exception vector when faulted
    std::uint32_t eip = 0;     // faulting instruction's address when faulted
    std::vector<std::uint8_t> memory;
    X87HostImage fpu{};
    std::array<std::array<std::uint64_t, 2>, 8> xmm{};
    std::uint32_t mxcsr = 0;
};

// Something that runs cases: the host CPU or the emulator.
class DiffTarget {
public:
    virtual ~DiffTarget() = default;
    virtual DiffOutcome run(const DiffCase& c) = 0;
    virtual const char* name() const = 0;
};

// Differences between two outcomes of one case, one line each; empty when they agree.
std::vector<std::string> compareOutcomes(const DiffCase& c, const DiffOutcome& want,
                                         const DiffOutcome& got, const Layout& layout);

// "8b 44 24 04  mov eax, dword ptr [esp + 4]" lines for a snippet (capstone).
std::string disassemble(const std::vector<std::uint8_t>& code, std::uint32_t address);

}  // namespace cxvm::x86::diff
