// Hand-checked x87 behaviour: values and flags worked out from the SDM, not from the host.
#include "X87TestSupport.h"

#include "x86/X87Opcodes.h"

using namespace cxvm::x86;
using namespace cxvm::x86::test;
namespace sw = cxvm::x86::x87sw;

TEST(X87, ResetAndInitStates) {
    X87 f;
    f.reset();
    EXPECT_EQ(f.controlWord(), 0x0040);
    EXPECT_EQ(f.statusWord(), 0);
    EXPECT_EQ(f.tagWord(), 0x5555);
    f.init();
    EXPECT_EQ(f.controlWord(), 0x037F);
    EXPECT_EQ(f.tagWord(), 0xFFFF);
    EXPECT_FALSE(f.hasPendingUnmaskedException());
}

TEST(X87, LoadAddStoreDouble) {
    Fpu f;
    f.pushDouble(1.5);
    f.pushDouble(2.25);
    EXPECT_EQ(f.fpu.top(), 6u);
    f.ok(0xDE, 0xC1);  // FADDP ST(1), ST
    EXPECT_EQ(f.fpu.top(), 7u);
    EXPECT_EQ(f.popDouble(), 3.75);
    EXPECT_EQ(f.fpu.tagWord(), 0xFFFF);
    EXPECT_EQ(f.sw() & 0x3F, 0);
}

TEST(X87, RoundingAndPrecisionControl) {
    struct Case { std::uint16_t cw; std::uint64_t bits; };
    // 1/3 at 53-bit precision under each rounding mode, stored as m64.
    const Case cases[] = {{0x027F, 0x3FD5555555555555ull}, {0x067F, 0x3FD5555555555555ull},
                          {0x0A7F, 0x3FD5555555555556ull}, {0x0E7F, 0x3FD5555555555555ull}};
    for (const Case& c : cases) {
        Fpu f;
        f.bus.put<std::uint16_t>(0x10, c.cw);
        f.okMem(0xD9, 5, 0x10);  // FLDCW
        f.pushDouble(1.0);
        f.bus.put(0x20, 3.0);
        f.okMem(0xDC, 6, 0x20);  // FDIV m64
        EXPECT_TRUE(f.sw() & sw::PE);
        f.okMem(0xDD, 3, 0x30);
        EXPECT_EQ(f.bus.get<std::uint64_t>(0x30), c.bits) << std::hex << c.cw;
    }
    // 24-bit precision: the register itself holds the float-rounded value.
    Fpu f;
    f.bus.put<std::uint16_t>(0x10, 0x007F);
    f.okMem(0xD9, 5, 0x10);
    f.pushDouble(1.0);
    f.bus.put(0x20, 3.0);
    f.okMem(0xDC, 6, 0x20);
    EXPECT_EQ(f.fpu.st(0).significand, 0xAAAAAB0000000000ull);
}

TEST(X87, ConstantsFollowRoundingControl) {
    Fpu f;
    f.ok(0xD9, 0xEB);  // FLDPI, round to nearest
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0xC90FDAA22168C235ull, 0x4000}));
    f.bus.put<std::uint16_t>(0x10, 0x077F);  // round down
    f.okMem(0xD9, 5, 0x10);
    f.ok(0xD9, 0xEB);
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0xC90FDAA22168C234ull, 0x4000}));
    f.ok(0xD9, 0xEE);  // FLDZ
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0, 0}));
    f.ok(0xD9, 0xE8);  // FLD1
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0x8000000000000000ull, 0x3FFF}));
}

TEST(X87, MaskedZeroDivideGivesInfinity) {
    Fpu f;
    f.pushDouble(-1.0);
    f.ok(0xD9, 0xEE);  // FLDZ
    f.ok(0xDE, 0xF9);  // FDIVP ST(1), ST: -1/0
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0x8000000000000000ull, 0xFFFF}));
    EXPECT_EQ(f.sw() & 0x3F, sw::ZE);
    EXPECT_FALSE(f.fpu.hasPendingUnmaskedException());
}

TEST(X87, UnmaskedExceptionIsPendingUntilCleared) {
    Fpu f;
    f.bus.put<std::uint16_t>(0x10, 0x037B);  // unmask ZE
    f.okMem(0xD9, 5, 0x10);
    f.pushDouble(1.0);
    f.ok(0xD9, 0xEE);
    const X87Reg before1 = f.fpu.st(1);
    f.ok(0xDE, 0xF9);  // FDIVP: unmasked #Z, destination and TOP unchanged
    EXPECT_EQ(f.fpu.top(), 6u);
    EXPECT_EQ(f.fpu.st(1), before1);
    EXPECT_TRUE(f.fpu.hasPendingUnmaskedException());
    EXPECT_EQ(f.sw() & (sw::ES | sw::B | sw::ZE), sw::ES | sw::B | sw::ZE);
    const std::uint32_t fip = f.fpu.fip();
    EXPECT_EQ(f.fpu.fop(), 0x6F9);
    // Waiting instructions report it without executing; FLDCW is one of them.
    EXPECT_EQ(f.run(0xD9, 0xE8), X87Outcome::PendingException);
    EXPECT_EQ(f.mem(0xD9, 5, 0x10), X87Outcome::PendingException);
    EXPECT_EQ(f.fpu.top(), 6u);
    EXPECT_EQ(f.fpu.fip(), fip);
    // Non-waiting ones run.
    f.ok(0xDF, 0xE0);  // FNSTSW AX
    EXPECT_EQ(f.ax, f.sw());
    f.okMem(0xD9, 7, 0x40);  // FNSTCW
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x40), 0x037B);
    f.ok(0xDB, 0xE2);  // FNCLEX
    EXPECT_FALSE(f.fpu.hasPendingUnmaskedException());
    EXPECT_EQ(f.sw() & 0x80FF, 0);
    f.ok(0xD9, 0xE8);
}

TEST(X87, FldcwUnmaskingASetFlagMakesItPending) {
    Fpu f;
    f.pushDouble(1.0);
    f.ok(0xD9, 0xEE);
    f.ok(0xDE, 0xF9);  // masked #Z
    EXPECT_FALSE(f.fpu.hasPendingUnmaskedException());
    f.bus.put<std::uint16_t>(0x10, 0x037B);
    f.okMem(0xD9, 5, 0x10);
    EXPECT_TRUE(f.fpu.hasPendingUnmaskedException());
    EXPECT_TRUE(f.sw() & sw::ES);
}

TEST(X87, StackOverflowAndUnderflow) {
    Fpu f;
    for (int i = 0; i < 8; ++i) f.ok(0xD9, 0xE8);
    f.ok(0xD9, 0xE8);  // ninth push
    EXPECT_EQ(f.sw() & (sw::IE | sw::SF | sw::C1), sw::IE | sw::SF | sw::C1);
    EXPECT_EQ(f.fpu.st(0), kIndefinite);

    Fpu g;
    g.ok(0xD8, 0xC1);  // FADD ST, ST(1) on an empty stack
    EXPECT_EQ(g.sw() & (sw::IE | sw::SF | sw::C1), sw::IE | sw::SF);
    EXPECT_EQ(g.fpu.st(0), kIndefinite);
}

TEST(X87, InvalidOperationsGiveIndefinite) {
    Fpu f;
    f.pushDouble(-4.0);
    f.ok(0xD9, 0xFA);  // FSQRT
    EXPECT_EQ(f.fpu.st(0), kIndefinite);
    EXPECT_EQ(f.sw() & (sw::IE | sw::SF), sw::IE);
    // FIST of an out-of-range value writes the integer indefinite.
    f.pushDouble(40000.0);
    f.okMem(0xDF, 3, 0x40);  // FISTP m16
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x40), 0x8000);
}

TEST(X87, DenormalOperandMaskedAndUnmasked) {
    Fpu f;
    f.bus.put<std::uint64_t>(0x20, 1);  // smallest double denormal
    f.okMem(0xDD, 0, 0x20);
    EXPECT_TRUE(f.sw() & sw::DE);
    EXPECT_EQ(f.fpu.top(), 7u);
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0x8000000000000000ull, 0x3FFF - 1074}));

    Fpu g;
    g.bus.put<std::uint16_t>(0x10, 0x037D);  // unmask DE
    g.okMem(0xD9, 5, 0x10);
    g.bus.put<std::uint64_t>(0x20, 1);
    g.okMem(0xDD, 0, 0x20);
    // Whether the load still completes is the host's answer (AMD EPYC: it does); the
    // oracle test compares it with a direct run. The exception is pending either way.
    EXPECT_TRUE(g.sw() & sw::DE);
    EXPECT_TRUE(g.fpu.hasPendingUnmaskedException());
}

TEST(X87, UnmaskedOverflowDeliversBiasedResult) {
    Fpu f;
    f.bus.put<std::uint16_t>(0x10, 0x0377);  // unmask OE
    f.okMem(0xD9, 5, 0x10);
    f.pushReg({0x8000000000000000ull, 0x3FFF + 16000});
    f.ok(0xD8, 0xC8);  // FMUL ST, ST: 2^32000 overflows
    // SDM Vol. 1 8.5.4: the exponent is reduced by the bias adjustment 24576.
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0x8000000000000000ull, 0x3FFF + 32000 - 24576}));
    EXPECT_TRUE(f.sw() & sw::OE);
    EXPECT_TRUE(f.fpu.hasPendingUnmaskedException());

    // To memory: the destination and TOP stay as they were.
    Fpu g;
    g.bus.put<std::uint16_t>(0x10, 0x0377);
    g.okMem(0xD9, 5, 0x10);
    g.pushReg({0x8000000000000000ull, 0x3FFF + 200});
    g.bus.put<std::uint32_t>(0x40, 0xDEADBEEF);
    g.okMem(0xD9, 3, 0x40);  // FSTP m32
    EXPECT_EQ(g.bus.get<std::uint32_t>(0x40), 0xDEADBEEFu);
    EXPECT_EQ(g.fpu.top(), 7u);
    EXPECT_TRUE(g.sw() & sw::OE);
}

TEST(X87, UnmaskedPrecisionStillStores) {
    Fpu f;
    f.bus.put<std::uint16_t>(0x10, 0x035F);  // unmask PE
    f.okMem(0xD9, 5, 0x10);
    f.pushDouble(0.1);
    f.okMem(0xD9, 3, 0x40);  // FSTP m32 is inexact
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x40), 0x3DCCCCCDu);
    EXPECT_TRUE(f.fpu.hasPendingUnmaskedException());
    EXPECT_EQ(f.fpu.top(), 0u);
}

TEST(X87, BcdLoadAndStore) {
    Fpu f;
    const std::uint8_t bcd[10] = {0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0x80};
    std::memcpy(&f.bus.bytes[0x50], bcd, 10);
    f.okMem(0xDF, 4, 0x50);  // FBLD: -123456789
    EXPECT_EQ(f.popDouble(), -123456789.0);
    f.pushDouble(987654321.5);  // rounds to even: 987654322
    f.okMem(0xDF, 6, 0x60);     // FBSTP
    const std::uint8_t want[10] = {0x22, 0x43, 0x65, 0x87, 0x09, 0, 0, 0, 0, 0};
    EXPECT_EQ(std::memcmp(&f.bus.bytes[0x60], want, 10), 0);
    EXPECT_EQ(f.fpu.top(), 0u);
}

TEST(X87, IntegerStoreRounding) {
    Fpu f;
    const double in[] = {2.5, 3.5, -2.5};
    const std::int32_t nearest[] = {2, 4, -2};
    for (int i = 0; i < 3; ++i) {
        f.pushDouble(in[i]);
        f.okMem(0xDB, 3, 0x40);  // FISTP m32
        EXPECT_EQ(f.bus.get<std::int32_t>(0x40), nearest[i]);
    }
    f.bus.put<std::uint16_t>(0x10, 0x077F);  // round down
    f.okMem(0xD9, 5, 0x10);
    f.pushDouble(-2.5);
    f.okMem(0xDF, 7, 0x40);  // FISTP m64
    EXPECT_EQ(f.bus.get<std::int64_t>(0x40), -3);
}

TEST(X87, FcomiSetsEflagsAndFcmovReadsThem) {
    constexpr std::uint32_t CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    Fpu f;
    f.pushDouble(2.0);
    f.pushDouble(1.0);  // ST0 = 1, ST1 = 2
    f.eflags = 0x2 | OF | SF | AF | ZF;
    f.ok(0xDB, 0xF1);  // FCOMI ST, ST(1): 1 < 2
    EXPECT_EQ(f.eflags, 0x2u | CF);
    f.ok(0xDA, 0xC1);  // FCMOVB ST, ST(1): CF set -> moves
    EXPECT_EQ(f.fpu.st(0), f.fpu.st(1));
    f.ok(0xDB, 0xE9);  // FUCOMI: equal
    EXPECT_EQ(f.eflags, 0x2u | ZF);
    f.ok(0xD9, 0xE8);  // FLD1
    f.ok(0xDA, 0xC2);  // FCMOVB ST, ST(2): CF clear -> no move
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0x8000000000000000ull, 0x3FFF}));
    f.pushReg({0xC000000000000000ull, 0x7FFF});  // QNaN
    f.ok(0xDF, 0xE9);  // FUCOMIP: unordered, no #I for a QNaN
    EXPECT_EQ(f.eflags, 0x2u | ZF | PF | CF);
    EXPECT_EQ(f.sw() & sw::IE, 0);
}

TEST(X87, FxamClasses) {
    struct Case { X87Reg v; std::uint16_t c3c2c1c0; };
    const Case cases[] = {
        {{0, 0}, sw::C3},
        {{0, 0x8000}, sw::C3 | sw::C1},
        {{0x8000000000000000ull, 0x7FFF}, sw::C2 | sw::C0},
        {{0xC000000000000000ull, 0x7FFF}, sw::C0},
        {{0x8000000000000000ull, 0x3FFF}, sw::C2},
        {{1, 0}, sw::C3 | sw::C2},
        {{0x4000000000000000ull, 0x3FFF}, 0},  // unnormal: unsupported
    };
    constexpr std::uint16_t kCond = sw::C0 | sw::C1 | sw::C2 | sw::C3;
    for (const Case& c : cases) {
        Fpu f;
        f.pushReg(c.v);
        f.ok(0xD9, 0xE5);
        EXPECT_EQ(f.sw() & kCond, c.c3c2c1c0) << std::hex << c.v.signExponent;
    }
    Fpu e;
    e.ok(0xD9, 0xE5);  // empty
    EXPECT_EQ(e.sw() & kCond, sw::C3 | sw::C0);
}

TEST(X87, PartialRemainderAndTrigRange) {
    Fpu f;
    f.pushDouble(3.0);
    f.pushDouble(10.0);
    f.ok(0xD9, 0xF8);  // FPREM: 10 = 3*3 + 1; quotient 3 -> C1=q0=1, C3=q1=1, C0=q2=0
    EXPECT_EQ(f.fpu.st(0), (X87Reg{0x8000000000000000ull, 0x3FFF}));
    EXPECT_EQ(f.sw() & (sw::C0 | sw::C1 | sw::C2 | sw::C3), sw::C1 | sw::C3);

    Fpu g;
    g.pushReg({0x8000000000000000ull, 0x3FFF + 63});  // 2^63 is outside FSIN's range
    g.ok(0xD9, 0xFE);
    EXPECT_TRUE(g.sw() & sw::C2);
    EXPECT_EQ(g.fpu.st(0), (X87Reg{0x8000000000000000ull, 0x3FFF + 63}));
}

TEST(X87, EnvironmentLayouts) {
    Fpu f;
    f.ok(0xD9, 0xE8);  // FLD1 at eip 0x1000 -> FIP
    f.bus.put<double>(0x300, 2.0);
    f.okMem(0xDC, 1, 0x300);  // FMUL m64 at 0x1002 -> FDP 0x300, FOP 0x40C
    f.okMem(0xD9, 6, 0x100);  // FNSTENV, 32-bit protected
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x100), 0xFFFF037Fu);
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x104), 0xFFFF3800u);  // TOP 7
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x108), 0xFFFF3FFFu);  // R7 valid
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x10C), 0x1002u);
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x110), (0x40Cu << 16) | 0x08);
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x114), 0x300u);
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x118), 0xFFFF0010u);
    EXPECT_EQ(f.fpu.controlWord(), 0x037F);  // exceptions masked (they were)
    EXPECT_EQ(f.fpu.fip(), 0x1002u);  // FNSTENV is a control instruction

    f.operand16 = true;
    f.okMem(0xD9, 6, 0x200);  // 16-bit protected
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x206), 0x1002);
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x208), 0x08);
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x20A), 0x300);
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x20C), 0x10);

    f.protectedMode = false;  // real mode: 20-bit linear pointers, FOP with FIP[19:16]
    f.okMem(0xD9, 6, 0x220);
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x226), 0x1082);  // 0x08*16 + 0x1002
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x228), 0x040C);
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x22A), 0x0400);  // 0x10*16 + 0x300
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x22C), 0x0000);

    f.operand16 = false;
    f.okMem(0xD9, 6, 0x240);  // 32-bit real
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x24C), 0xFFFF1082u);
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x250), 0x040Cu);
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x254), 0xFFFF0400u);

    // FLDENV of the real-mode image restores the linear pointers.
    Fpu g;
    g.protectedMode = false;
    g.bus.bytes = f.bus.bytes;
    g.okMem(0xD9, 4, 0x240);
    EXPECT_EQ(g.fpu.fip(), 0x1082u);
    EXPECT_EQ(g.fpu.fdp(), 0x400u);
    EXPECT_EQ(g.fpu.fop(), 0x40C);
    EXPECT_EQ(g.fpu.top(), 7u);
    EXPECT_FALSE(g.fpu.isEmpty(7));
}

TEST(X87, FnstenvMasksExceptionsAndFldenvRestoresThem) {
    Fpu f;
    f.bus.put<std::uint16_t>(0x10, 0x0360);
    f.okMem(0xD9, 5, 0x10);
    f.okMem(0xD9, 6, 0x100);
    EXPECT_EQ(f.fpu.controlWord(), 0x037F);
    f.okMem(0xD9, 4, 0x100);
    EXPECT_EQ(f.fpu.controlWord(), 0x0360);
}

TEST(X87, SaveRestoreRoundTrip) {
    Fpu f;
    f.pushDouble(1.0);
    f.pushDouble(-2.0);
    f.ok(0xD9, 0xEE);  // FLDZ
    f.bus.put<std::uint16_t>(0x10, 0x0B72);
    f.okMem(0xD9, 5, 0x10);
    const std::uint16_t cw = f.fpu.controlWord(), status = f.sw(), tags = f.fpu.tagWord();
    X87Reg regs[8];
    for (unsigned i = 0; i < 8; ++i) regs[i] = f.fpu.st(i);
    f.okMem(0xDD, 6, 0x400);  // FNSAVE, then reinitialise
    EXPECT_EQ(f.fpu.controlWord(), 0x037F);
    EXPECT_EQ(f.fpu.tagWord(), 0xFFFF);
    EXPECT_EQ(f.bus.get<std::uint16_t>(0x408), tags);
    EXPECT_EQ(f.bus.getReg(0x400 + 28), regs[0]);
    EXPECT_EQ(f.bus.getReg(0x400 + 28 + 20), regs[2]);
    f.okMem(0xDD, 4, 0x400);  // FRSTOR
    EXPECT_EQ(f.fpu.controlWord(), cw);
    EXPECT_EQ(f.sw(), status);
    EXPECT_EQ(f.fpu.tagWord(), tags);
    for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(f.fpu.st(i), regs[i]);
    EXPECT_EQ(f.popDouble(), 0.0);

    // 16-bit layout: 94 bytes.
    f.operand16 = true;
    f.bus.put<std::uint32_t>(0x600 + 94, 0xA5A5A5A5);
    f.okMem(0xDD, 6, 0x600);
    EXPECT_EQ(f.bus.get<std::uint32_t>(0x600 + 94), 0xA5A5A5A5u);
    f.okMem(0xDD, 4, 0x600);
    EXPECT_EQ(f.fpu.st(0), regs[1]);
}

TEST(X87, FaultingMemoryLeavesStateUnchanged) {
    Fpu f;
    f.pushDouble(5.0);
    f.pushDouble(6.0);
    const X87Reg st0 = f.fpu.st(0);
    const std::uint16_t status = f.sw(), tags = f.fpu.tagWord();
    const std::uint32_t fip = f.fpu.fip();
    f.bus.faultWrites = true;
    EXPECT_THROW(f.mem(0xDD, 3, 0x40), BusFault);  // FSTP m64
    EXPECT_THROW(f.mem(0xDD, 6, 0x40), BusFault);  // FNSAVE must not reinitialise
    EXPECT_THROW(f.mem(0xD9, 6, 0x40), BusFault);  // FNSTENV must not mask
    f.bus.faultWrites = false;
    f.bus.faultReads = true;
    EXPECT_THROW(f.mem(0xDC, 0, 0x40), BusFault);  // FADD m64
    EXPECT_THROW(f.mem(0xDD, 4, 0x40), BusFault);  // FRSTOR
    EXPECT_EQ(f.fpu.st(0), st0);
    EXPECT_EQ(f.sw(), status);
    EXPECT_EQ(f.fpu.tagWord(), tags);
    EXPECT_EQ(f.fpu.fip(), fip);
    EXPECT_EQ(f.fpu.controlWord(), 0x037F);
}

TEST(X87, InvalidEncodingsAreUndefinedOpcodes) {
    Fpu f;
    const std::uint8_t regForms[][2] = {{0xD9, 0xD1}, {0xD9, 0xE2}, {0xD9, 0xEF}, {0xDA, 0xE8},
                                        {0xDB, 0xE5}, {0xDB, 0xF8}, {0xDD, 0xF0}, {0xDE, 0xD8},
                                        {0xDF, 0xE1}, {0xDF, 0xF8}};
    for (auto& e : regForms) EXPECT_EQ(f.run(e[0], e[1]), X87Outcome::Invalid) << std::hex << +e[1];
    EXPECT_EQ(f.mem(0xD9, 1, 0), X87Outcome::Invalid);
    EXPECT_EQ(f.mem(0xDB, 1, 0), X87Outcome::Invalid);  // FISTTP is SSE3
    EXPECT_EQ(f.mem(0xDD, 5, 0), X87Outcome::Invalid);
    EXPECT_EQ(f.fpu.fip(), 0u);
}

TEST(X87, EveryValidEncodingExecutesOnTheHost) {
    // Runs each register form once on a populated stack: a table entry the host CPU
    // rejected would raise SIGILL here rather than in a guest.
    unsigned valid = 0;
    for (unsigned op = 0xD8; op <= 0xDF; ++op) {
        for (unsigned m = 0xC0; m <= 0xFF; ++m) {
            Fpu f;
            for (int i = 0; i < 4; ++i) f.pushDouble(1.0 + i);
            const bool isValid =
                x87OpInfo(static_cast<std::uint8_t>(op), static_cast<std::uint8_t>(m)).kind !=
                X87Kind::Invalid;
            const X87Outcome o = f.run(static_cast<std::uint8_t>(op), static_cast<std::uint8_t>(m));
            EXPECT_EQ(o == X87Outcome::Done, isValid) << std::hex << op << " " << m;
            valid += isValid;
        }
    }
    EXPECT_EQ(valid, 64u + 52u + 33u + 53u + 64u + 48u + 57u + 49u);
}

TEST(X87, PointersTrackNonControlInstructions) {
    Fpu f;
    f.eip = 0x5000;
    f.bus.put(0x80, 1.0f);
    f.okMem(0xD8, 0, 0x80);  // FADD m32 (stack empty: #IS, still records pointers)
    EXPECT_EQ(f.fpu.fip(), 0x5000u);
    EXPECT_EQ(f.fpu.fdp(), 0x80u);
    EXPECT_EQ(f.fpu.fop(), (0 << 8) | 0x04);
    f.ok(0xD9, 0xE8);  // register form keeps FDP
    EXPECT_EQ(f.fpu.fip(), 0x5002u);
    EXPECT_EQ(f.fpu.fdp(), 0x80u);
    f.okMem(0xD9, 7, 0x90);  // FNSTCW: control, no update
    EXPECT_EQ(f.fpu.fip(), 0x5002u);
    EXPECT_EQ(f.fpu.fdp(), 0x80u);
}

TEST(X87, TopChangesKeepPhysicalRegisters) {
    // FNINIT, FLDENV and FNSAVE set TOP without moving R0..R7; FXAM of an empty register
    // still reports the sign of what the register holds (C1).
    Fpu f;
    f.pushDouble(-3.0);  // R7
    f.pushDouble(5.0);   // R6
    const X87Reg r7 = f.fpu.physical(7), r6 = f.fpu.physical(6);
    f.ok(0xDB, 0xE3);  // FNINIT: TOP 0
    EXPECT_EQ(f.fpu.physical(7), r7);
    EXPECT_EQ(f.fpu.physical(6), r6);
    EXPECT_EQ(f.fpu.st(7), r7);
    f.ok(0xD9, 0xF6);  // FDECSTP: TOP 7, ST0 = R7 (empty, negative)
    f.ok(0xD9, 0xE5);  // FXAM
    EXPECT_EQ(f.sw() & (sw::C3 | sw::C2 | sw::C1 | sw::C0), sw::C3 | sw::C1 | sw::C0);

    // FLDENV with another TOP
    f.bus.put<std::uint32_t>(0x104, 0xFFFF0000u | (2u << 11));  // SW: TOP 2
    f.bus.put<std::uint32_t>(0x100, 0xFFFF037Fu);
    f.bus.put<std::uint32_t>(0x108, 0xFFFFFFFFu);
    f.okMem(0xD9, 4, 0x100);
    EXPECT_EQ(f.fpu.top(), 2u);
    EXPECT_EQ(f.fpu.physical(7), r7);
    EXPECT_EQ(f.fpu.st(5), r7);
}

TEST(X87, HostFpuStateIsLeftAsFound) {
    // The caller's x87 control word is callee-saved (SysV ABI); a guest's pending
    // unmasked exception must not reach the host's next x87 instruction.
    std::uint16_t hostCw = 0x027F, after = 0;
    asm volatile("fldcw %0" ::"m"(hostCw));
    Fpu f;
    f.bus.put<std::uint16_t>(0x10, 0x0372);  // guest: #Z and #I unmasked
    f.okMem(0xD9, 5, 0x10);
    f.ok(0xD9, 0xE8);
    f.ok(0xD9, 0xEE);
    f.ok(0xDE, 0xF9);  // 1/0: unmasked #Z pending in the guest
    EXPECT_TRUE(f.fpu.hasPendingUnmaskedException());
    long double x = 1.0L;
    asm volatile("fnstcw %0\n\tfldt %1\n\tfld1\n\tfaddp\n\tfstpt %1" : "=m"(after), "+m"(x));
    EXPECT_EQ(after, hostCw);
    EXPECT_EQ(x, 2.0L);
    std::uint16_t def = 0x037F;
    asm volatile("fldcw %0" ::"m"(def));
}
