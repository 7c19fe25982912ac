#pragma once
// The engine seam (docs: architecture.md, "The engine seam"). Both engines implement
// Engine (one per VM) and Vcpu (one per virtual CPU). Devices never see which runs.
//
// Port I/O and MMIO are dispatched by the engine itself to the buses in MachineBus
// (the interp engine calls them from the executor; kvm turns KVM_EXIT_IO/MMIO into
// the same calls), so run() returns only for what the VMM loop must decide.
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cxvm::engine {

// Same layout and meaning as struct kvm_regs; the interp engine uses the low 32 bits.
struct Regs {
    std::uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    std::uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    std::uint64_t rip, rflags;
};

// A segment register with its hidden descriptor cache (as struct kvm_segment).
struct Segment {
    std::uint64_t base = 0;
    std::uint32_t limit = 0;  // byte granular (already scaled by G)
    std::uint16_t selector = 0;
    std::uint8_t type = 0;  // descriptor type field (bits 40..43)
    std::uint8_t present = 0, dpl = 0, db = 0, s = 0, l = 0, g = 0, avl = 0;
    std::uint8_t unusable = 0;
};

struct DescriptorTable {
    std::uint64_t base = 0;
    std::uint16_t limit = 0;
};

struct Sregs {
    Segment cs, ds, es, fs, gs, ss, tr, ldt;
    DescriptorTable gdt, idt;
    std::uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;
};

// Hypercall registers (docs: architecture.md "Hypercalls"): token in EAX, arguments in
// EBX, ECX, EDX, ESI.
struct HypercallArgs {
    std::uint32_t token, arg0, arg1, arg2, arg3;
};

enum class ExitReason : std::uint8_t {
    Hypercall,  // hypercall = args; the VMM answers with completeHypercall()
    Halt,       // HLT with no deliverable interrupt: wait for an IRQ, then run again
    Shutdown,   // triple fault or reset request; `detail` says which
    Stopped,    // requestStop() from another thread
    SliceEnd,   // the instruction budget given to run() is used up (interp)
};

struct Exit {
    ExitReason reason = ExitReason::Stopped;
    HypercallArgs hypercall{};
    std::string detail;  // only set for Shutdown (no allocation on the hot exits)
};

class Vcpu {
public:
    virtual ~Vcpu() = default;
    // Runs guest code until one of ExitReason. `maxInstructions` bounds an interp slice
    // (deterministic time and device polling); kvm ignores it.
    virtual Exit run(std::uint64_t maxInstructions) = 0;
    // Thread-safe: makes a running or the next run() return Stopped promptly.
    virtual void requestStop() = 0;
    // Engines that run guest code natively (kvm) cannot count instructions: they end a
    // run() with SliceEnd after this much host time instead (0: no limit, the default).
    // The interp engine ignores it and uses maxInstructions.
    virtual void setTimeSlice(std::chrono::nanoseconds) {}

    virtual Regs regs() const = 0;
    virtual void setRegs(const Regs&) = 0;
    virtual Sregs sregs() const = 0;
    virtual void setSregs(const Sregs&) = 0;
    // Architectural reset state (SDM Vol. 3 9.1.1): CS.base 0xFFFF0000, EIP 0xFFF0.
    virtual void reset() = 0;
    // Writes the hypercall's return value (EAX) and resumes after the instruction.
    virtual void completeHypercall(std::uint32_t eax) = 0;
    // Retired guest instructions (interp; the clock of --deterministic). kvm: 0.
    [[nodiscard]] virtual std::uint64_t instructionsRetired() const = 0;
    // Engine-specific counters for the end-of-run log line (empty: none).
    [[nodiscard]] virtual std::string statistics() const { return {}; }
};

// What a VM gives its engine: memory, buses and the CPU's interrupt pins.
struct MachineBus {
    hw::GuestMemory& memory;
    hw::IoBus& io;
    hw::MmioBus& mmio;
    hw::CpuInterruptPins& pins;
};

enum class EngineKind : std::uint8_t { Interp, Kvm };
std::string_view engineName(EngineKind);

class Engine {
public:
    virtual ~Engine() = default;
    [[nodiscard]] virtual EngineKind kind() const = 0;
    virtual std::unique_ptr<Vcpu> createVcpu(unsigned index) = 0;
};

}  // namespace cxvm::engine
