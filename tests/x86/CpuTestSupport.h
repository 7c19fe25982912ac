#pragma once
// Test support: a machine with RAM, buses and pins; flat 32-bit code assembled with NASM
// at test time; run until HLT.
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "x86/Cpu.h"

#include "../support/Nasm.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

namespace cxvm::x86::test {

using cxvm::testing::assemble;

struct Machine {
    hw::GuestMemory mem{16u << 20};
    hw::IoBus io;
    hw::MmioBus mmio;
    hw::CpuInterruptPins pins;
    Cpu cpu{CpuBus{mem, io, mmio, pins, nullptr}};

    void load(std::uint32_t gpa, const std::vector<std::uint8_t>& bytes) {
        mem.write(gpa, bytes);
    }
    // Runs flat 32-bit code at 0x1000 (stack at 0x80000) until HLT; returns the result.
    RunResult runFlat(const std::string& source, std::uint64_t max = 1'000'000) {
        load(0x1000, assemble(source));
        cpu.setFlat32(0x1000, 0x80000);
        return cpu.run(max);
    }
    std::uint32_t r(unsigned reg) const { return cpu.reg(reg); }
    std::uint32_t flags() const { return cpu.eflags(); }
    std::uint32_t mem32(std::uint32_t gpa) const {
        std::uint32_t v;
        std::memcpy(&v, mem.span(gpa, 4).data(), 4);
        return v;
    }
};

}  // namespace cxvm::x86::test
