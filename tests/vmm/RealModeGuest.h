#pragma once
// Test support: tiny real-mode guests, assembled with nasm at test time (as
// tests/x86/CpuTestSupport.h), loaded into RAM at 0x1000 and run on the interp engine
// on the real PC board. They end by writing the debug-exit port (0x501), which stops
// the VM with status (value << 1) | 1.
#include "engine/InterpEngine.h"
#include "vmm/Vm.h"

#include "../support/Nasm.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace cxvm::vmm::testing {

// Assembles `source` (bits 16, org 0x1000) with nasm -f bin; fails the test on error.
inline std::vector<std::uint8_t> assemble16(const std::string& source, std::uint32_t org = 0x1000) {
    return cxvm::testing::assemble(source, 16, org);
}

inline VmConfig realModeConfig(std::uint64_t maxInstructions = 0) {
    VmConfig cfg;
    cfg.ramBytes = 4 << 20;
    cfg.engine = EngineChoice::Interp;
    cfg.console.inFd = -1;
    cfg.console.outFd = -1;
    cfg.maxInstructions = maxInstructions;  // 0: the guest ends it (or a watchdog)
    return cfg;
}

// Loads `code` at 0x1000 and points the vCPU at it: real mode, CS = DS = SS = 0,
// SP = 0x7000, interrupts off.
inline void startRealMode(Vm& vm, const std::vector<std::uint8_t>& code) {
    vm.memory().write(0x1000, code);
    vm.vcpu().reset();
    engine::Sregs s = vm.vcpu().sregs();
    for (engine::Segment* seg : {&s.cs, &s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
        seg->selector = 0;
        seg->base = 0;
    }
    vm.vcpu().setSregs(s);
    engine::Regs r = vm.vcpu().regs();
    r.rip = 0x1000;
    r.rsp = 0x7000;
    r.rflags = 0x2;
    vm.vcpu().setRegs(r);
}

inline std::uint32_t read32(const hw::GuestMemory& m, std::uint64_t gpa) {
    std::uint32_t v;
    std::memcpy(&v, m.span(gpa, 4).data(), 4);
    return v;
}

// nasm macros shared by the guests: HC token, ebx, ecx, edx, esi (vmcall; EAX = result)
// and EXIT value (debug-exit port).
inline const char* kGuestMacros = R"(
%macro HC 5
    mov eax, %1
    mov ebx, %2
    mov ecx, %3
    mov edx, %4
    mov esi, %5
    vmcall
%endmacro
%macro EXIT 1
    mov dx, 0x501
    mov al, %1
    out dx, al
    cli
    hlt
%endmacro
)";

// Sets up the 8259 pair (master vectors 0x08, slave 0x70) with only IRQ 12 unmasked,
// and IVT entry 0x74 (IRQ 12) -> `handler`.
inline const char* kPicIrq12Setup = R"(
    mov word [0x74*4], irq12
    mov word [0x74*4+2], 0
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x08
    out 0x21, al
    mov al, 0x70
    out 0xA1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xA1, al
    mov al, 0x01
    out 0x21, al
    out 0xA1, al
    mov al, 0xFB
    out 0x21, al
    mov al, 0xEF
    out 0xA1, al
)";

}  // namespace cxvm::vmm::testing
