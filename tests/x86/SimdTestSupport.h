#pragma once
// MMX/SSE tests: flat 32-bit code at 0x1000 with CR4.OSFXSR (and OSXMMEXCPT) set as an
// OS that enables SSE would; exceptions end the run (setExceptionExit).
#include "CpuTestSupport.h"
#include "x86/X87Unit.h"

#include <cstring>

namespace cxvm::x86::test {

struct SimdMachine : Machine {
    SimdMachine() { cpu.setExceptionExit(true); }
    RunResult run(const std::string& source, std::uint32_t cr4 = cr4::OSFXSR | cr4::OSXMMEXCPT,
                  std::uint32_t cr0Set = 0) {
        load(0x1000, assemble(source));
        cpu.setFlat32(0x1000, 0x80000);
        cpu.setCr(4, cr4);
        cpu.setCr(0, cpu.cr(0) | cr0Set);
        return cpu.run(1'000'000);
    }
    std::uint64_t mem64(std::uint32_t gpa) const {
        std::uint64_t v;
        std::memcpy(&v, mem.span(gpa, 8).data(), 8);
        return v;
    }
    std::uint16_t mem16(std::uint32_t gpa) const {
        std::uint16_t v;
        std::memcpy(&v, mem.span(gpa, 2).data(), 2);
        return v;
    }
    std::uint32_t xmm32(unsigned r, unsigned i) const {
        return static_cast<std::uint32_t>(cpu.xmm(r).q[i / 2] >> (32 * (i & 1)));
    }
    X87& fpu() { return *cpu.x87_; }
};

inline bool halted(const RunResult& r) {
    return r.reason == StopReason::Halt;
}
inline bool faulted(const RunResult& r, std::uint8_t vector) {
    return r.reason == StopReason::Exception && r.fault.vector == vector;
}

}  // namespace cxvm::x86::test
