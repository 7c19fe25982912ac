#pragma once
// Runs 32-bit snippets on the host CPU, in this (64-bit) process: a far jump to the
// kernel's 32-bit user code segment (0x23 on x86-64 Linux) enters compatibility mode at
// a trampoline that loads the case's registers, EFLAGS and x87 state; the snippet runs;
// an exit trampoline stores them and jumps back to the 64-bit segment (0x33). Faults in
// the snippet arrive as signals (on an alternate stack, since ESP is the snippet's) and
// are recorded with the CPU's trap number.
#include "DiffCase.h"
#include "util/Mapping.h"

#include <csetjmp>
#include <csignal>
#include <string>
#include <vector>

namespace cxvm::x86::diff {

class NativeRunner final : public DiffTarget {
public:
    explicit NativeRunner(const Layout& layout);
    ~NativeRunner() override;
    NativeRunner(const NativeRunner&) = delete;
    NativeRunner& operator=(const NativeRunner&) = delete;

    DiffOutcome run(const DiffCase& c) override;
    // One per process: the runner owns fixed low addresses and the fault signals.
    static NativeRunner& shared();
    // False when this kernel cannot run 32-bit user code (no IA-32 emulation); why().
    bool usable() const { return usable_; }
    const char* why() const { return why_; }
    // The 16-bit stack segment (Layout::kStack16Selector) is in this process's LDT
    // (modify_ldt; kernels without CONFIG_MODIFY_LDT_SYSCALL or CONFIG_X86_16BIT refuse
    // it); stack16Why() says why not.
    bool stack16Usable() const { return stack16_; }
    const char* stack16Why() const { return stack16Why_.c_str(); }
    const char* name() const override { return "host"; }

    // Fault hand-off from the signal handler.
    struct FaultRecord {
        int trapno = 0;
        std::uint64_t gregs[8] = {};
        std::uint64_t rip = 0, eflags = 0;
    };

private:
    void writeTrampolines();

    Layout layout_;
    bool usable_ = true;
    const char* why_ = "";
    std::string whyText_;
    bool stack16_ = false;
    std::string stack16Why_;
    Mapping ctx_, code_, data_;
    std::vector<std::uint8_t> altStack_;
    stack_t oldAltStack_{};
    struct sigaction oldActions_[5]{};
};

}  // namespace cxvm::x86::diff
