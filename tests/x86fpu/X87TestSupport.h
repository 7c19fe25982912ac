#pragma once
// Test fixture for the x87: a flat memory bus (optionally faulting) and helpers that
// encode ESC instructions the way the CPU's decoder hands them over.
#include "x86/X87.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace cxvm::x86::test {

struct BusFault : std::runtime_error {
    BusFault() : std::runtime_error("bus fault") {}
};

class FlatBus : public X87MemoryBus {
public:
    std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(4096, 0);
    bool faultReads = false, faultWrites = false;
    unsigned writes = 0;

    void read(std::uint32_t offset, void* dst, unsigned len) override {
        if (faultReads || offset + len > bytes.size()) throw BusFault();
        std::memcpy(dst, bytes.data() + offset, len);
    }
    void write(std::uint32_t offset, const void* src, unsigned len) override {
        if (faultWrites || offset + len > bytes.size()) throw BusFault();
        std::memcpy(bytes.data() + offset, src, len);
        ++writes;
    }
    template <typename T> void put(std::uint32_t off, T v) { std::memcpy(&bytes[off], &v, sizeof v); }
    template <typename T> T get(std::uint32_t off) const {
        T v;
        std::memcpy(&v, &bytes[off], sizeof v);
        return v;
    }
    void putReg(std::uint32_t off, X87Reg r) {
        put(off, r.significand);
        put(off + 8, r.signExponent);
    }
    X87Reg getReg(std::uint32_t off) const { return {get<std::uint64_t>(off), get<std::uint16_t>(off + 8)}; }
};

// An FPU plus bus; run() executes one instruction as the CPU would call it.
struct Fpu {
    X87 fpu;
    FlatBus bus;
    std::uint16_t ax = 0;
    std::uint32_t eflags = 0x2;
    bool protectedMode = true, operand16 = false;
    std::uint32_t eip = 0x1000;

    Fpu() { fpu.init(); }

    X87Outcome run(std::uint8_t opcode, std::uint8_t modrm, std::uint32_t addr = 0) {
        X87Context ctx{opcode, modrm, operand16, protectedMode, eip, 0x08, addr, 0x10};
        eip += 2;
        return fpu.execute(ctx, bus, ax, eflags);
    }
    // Memory form with ModRM.reg = reg.
    X87Outcome mem(std::uint8_t opcode, unsigned reg, std::uint32_t addr) {
        return run(opcode, static_cast<std::uint8_t>((reg << 3) | 4), addr);
    }
    void ok(std::uint8_t opcode, std::uint8_t modrm, std::uint32_t addr = 0) {
        ASSERT_EQ(run(opcode, modrm, addr), X87Outcome::Done);
    }
    void okMem(std::uint8_t opcode, unsigned reg, std::uint32_t addr) {
        ASSERT_EQ(mem(opcode, reg, addr), X87Outcome::Done);
    }
    void pushDouble(double d, std::uint32_t scratch = 0x800) {
        bus.put(scratch, d);
        okMem(0xDD, 0, scratch);  // FLD m64
    }
    void pushReg(X87Reg r, std::uint32_t scratch = 0x800) {
        bus.putReg(scratch, r);
        okMem(0xDB, 5, scratch);  // FLD m80
    }
    double popDouble(std::uint32_t scratch = 0x800) {
        okMem(0xDD, 3, scratch);  // FSTP m64
        return bus.get<double>(scratch);
    }
    std::uint16_t sw() const { return fpu.statusWord(); }
};

inline constexpr X87Reg kIndefinite{0xC000000000000000ull, 0xFFFF};

}  // namespace cxvm::x86::test
