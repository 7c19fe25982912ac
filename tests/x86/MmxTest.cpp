// MMX (SDM Vol. 1 ch. 9) and the SSE integer additions on MMX registers: aliasing onto
// the x87 register file, EMMS, the exception rules, and each operation family against
// values worked out from the SDM's definitions (saturation, packing order, high-half
// unpacks, shifts beyond the element width, PMADDWD, PSADBW, PSHUFW, PMOVMSKB, ...).
#include "SimdTestSupport.h"

namespace cxvm::x86::test {
namespace {

// a = 7F80FF10_01020304, b = 01800120_FF0000FF at `va`/`vb`; each line "op mm0, mm1",
// result stored at 0x2000.
std::uint64_t mmxBinary(const char* op) {
    SimdMachine m;
    const std::string src = std::string(R"(
        movq mm0, [va]
        movq mm1, [vb]
        )") + op + R"(
        movq [0x2000], mm0
        hlt
    align 8
    va: dq 0x7F80FF1001020304
    vb: dq 0x01800120FF0000FF
    )";
    auto r = m.run(src);
    EXPECT_TRUE(halted(r)) << op << ": vector " << int(r.fault.vector);
    return m.mem64(0x2000);
}

TEST(Mmx, ArithmeticFollowsTheSdmDefinitions) {
    EXPECT_EQ(mmxBinary("paddusb mm0, mm1"), 0x80FFFF30FF0203FFull);  // unsigned saturation
    EXPECT_EQ(mmxBinary("paddsb mm0, mm1"), 0x7F80003000020303ull);   // signed saturation
    EXPECT_EQ(mmxBinary("psubusb mm0, mm1"), 0x7E00FE0000020300ull);
    EXPECT_EQ(mmxBinary("pmulhuw mm0, mm1"), 0x00BF011E01000003ull);
    EXPECT_EQ(mmxBinary("pmulhw mm0, mm1"), 0x00BFFFFEFFFE0003ull);
    EXPECT_EQ(mmxBinary("pmaddwd mm0, mm1"), 0x00BE32000001FEFCull);
    EXPECT_EQ(mmxBinary("pcmpgtb mm0, mm1"), 0xFF000000FFFFFFFFull);
    EXPECT_EQ(mmxBinary("pandn mm0, mm1"), ~0x7F80FF1001020304ull & 0x01800120FF0000FFull);
    // SSE additions on MMX registers
    EXPECT_EQ(mmxBinary("pavgb mm0, mm1"), 0x4080801880010282ull);  // (a + b + 1) >> 1
    EXPECT_EQ(mmxBinary("pminub mm0, mm1"), 0x0180011001000004ull);
    EXPECT_EQ(mmxBinary("pmaxsw mm0, mm1"), 0x7F80012001020304ull);
    EXPECT_EQ(mmxBinary("psadbw mm0, mm1"), 0x38Aull);  // sum of |a - b| in the low word
    // SSE2 on MMX registers
    EXPECT_EQ(mmxBinary("paddq mm0, mm1"), 0x7F80FF1001020304ull + 0x01800120FF0000FFull);
    EXPECT_EQ(mmxBinary("pmuludq mm0, mm1"), 0x01020304ull * 0xFF0000FFull);
}

TEST(Mmx, PackAndHighUnpackUseTheDestinationThenTheSource) {
    // On 64 bits the packed destination elements come first, then the source's.
    EXPECT_EQ(mmxBinary("packsswb mm0, mm1"), 0x7F7F807F7F807F7Full);
    EXPECT_EQ(mmxBinary("packuswb mm0, mm1"), 0xFFFF00FFFF00FFFFull);
    EXPECT_EQ(mmxBinary("packssdw mm0, mm1"), 0x7FFF80007FFF7FFFull);
    // PUNPCKHBW: the high halves interleaved, destination byte first.
    EXPECT_EQ(mmxBinary("punpckhbw mm0, mm1"), 0x017F808001FF2010ull);
    EXPECT_EQ(mmxBinary("punpckhdq mm0, mm1"), 0x018001207F80FF10ull);
    EXPECT_EQ(mmxBinary("punpcklwd mm0, mm1"), 0xFF00010200FF0304ull);
}

TEST(Mmx, ShiftsClearOrSignFillBeyondTheElementWidth) {
    EXPECT_EQ(mmxBinary("psraw mm0, 16"), 0x0000FFFF00000000ull);
    EXPECT_EQ(mmxBinary("psrlw mm0, 4"), 0x07F80FF100100030ull);
    EXPECT_EQ(mmxBinary("psrlq mm0, 64"), 0ull);
    EXPECT_EQ(mmxBinary("psllq mm0, 63"), 0ull);   // bit 0 of a is 0
    EXPECT_EQ(mmxBinary("psllw mm0, mm1"), 0ull);  // count = the whole quadword: huge
    EXPECT_EQ(mmxBinary("psrad mm0, 31"), 0x0000000000000000ull);
    EXPECT_EQ(mmxBinary("pslld mm0, 8"), 0x80FF100002030400ull);
}

TEST(Mmx, ShuffleInsertExtractAndMask) {
    SimdMachine m;
    auto r = m.run(R"(
        movq mm0, [va]
        pshufw mm1, mm0, 0x1B       ; words reversed
        movq [0x2000], mm1
        pmovmskb eax, mm0
        mov [0x2008], eax
        mov ecx, 0xABCD1234
        pinsrw mm0, ecx, 5          ; imm8[1:0] = 1: word 1
        movq [0x2010], mm0
        pextrw edx, mm0, 7          ; word 3, zero-extended
        mov [0x2018], edx
        movd mm2, ecx               ; upper half zeroed
        movq [0x2020], mm2
        movd [0x2028], mm0
        hlt
    align 8
    va: dq 0x7F80FF1001020304
    )");
    ASSERT_TRUE(halted(r));
    EXPECT_EQ(m.mem64(0x2000), 0x03040102FF107F80ull);
    EXPECT_EQ(m.mem32(0x2008), 0x60u);
    EXPECT_EQ(m.mem64(0x2010), 0x7F80FF1012340304ull);
    EXPECT_EQ(m.mem32(0x2018), 0x7F80u);
    EXPECT_EQ(m.mem64(0x2020), 0xABCD1234ull);
    EXPECT_EQ(m.mem32(0x2028), 0x12340304u);
}

TEST(Mmx, RegistersAliasTheX87RegisterFile) {
    SimdMachine m;
    auto r = m.run(R"(
        fninit
        fld1                    ; R7 = 1.0
        fldpi                   ; R6 = pi, TOP = 6
        movq mm0, [q]           ; TOP = 0, every tag valid, R0 = q with exponent FFFF
        movd eax, mm6           ; MM6 is R6's significand: pi's low doubleword
        ud2                     ; (not HLT: the next run goes on from here)
    align 8
    q: dq 0x0123456789ABCDEF
    )");
    ASSERT_TRUE(faulted(r, vec::UD));
    X87& f = m.fpu();
    EXPECT_EQ(f.top(), 0u);
    EXPECT_EQ(f.physical(0).significand, 0x0123456789ABCDEFull);
    EXPECT_EQ(f.physical(0).signExponent, 0xFFFF);
    // R6 and R7 keep their exponents (only the written register's become all ones).
    EXPECT_EQ(f.physical(6).signExponent, 0x4000);
    EXPECT_EQ(f.physical(7).signExponent, 0x3FFF);
    EXPECT_EQ(m.r(EAX), 0x2168C235u);
    EXPECT_EQ(m.cpu.mmx(6), 0xC90FDAA22168C235ull);
    // Every tag valid; FNSTENV's full tag word classifies the contents: R0 (exponent
    // 7FFF) special, R1-R5 (+0.0 since reset) zero, R6 and R7 valid.
    EXPECT_EQ(f.tagWord(), 0x0556);
    for (unsigned i = 0; i < 8; ++i) EXPECT_FALSE(f.isEmpty(i)) << i;

    // EMMS empties every tag and leaves TOP alone; FLD then works on an empty stack.
    auto r2 = m.run(R"(
        emms
        fld1
        fstp dword [0x2000]
        hlt)");
    ASSERT_TRUE(halted(r2));
    EXPECT_EQ(m.mem32(0x2000), 0x3F800000u);
    EXPECT_EQ(m.fpu().tagWord(), 0xFFFF);
    EXPECT_EQ(m.fpu().top(), 0u);
}

TEST(Mmx, ExceptionRules) {
    // CR0.EM: #UD; CR0.TS: #NM (SDM Vol. 3 Table 12-1). CR4.OSFXSR does not matter.
    {
        SimdMachine m;
        EXPECT_TRUE(faulted(m.run("paddb mm0, mm1\nhlt", cr4::OSFXSR, cr0::EM), vec::UD));
    }
    {
        SimdMachine m;
        EXPECT_TRUE(faulted(m.run("paddb mm0, mm1\nhlt", cr4::OSFXSR, cr0::TS), vec::NM));
    }
    {
        SimdMachine m;
        EXPECT_TRUE(faulted(m.run("emms\nhlt", 0, cr0::TS), vec::NM));
    }
    {
        SimdMachine m;
        EXPECT_TRUE(halted(m.run("paddb mm0, mm1\npavgb mm0, mm1\nemms\nhlt", 0)));
    }
    // A pending unmasked x87 exception: #MF (CR0.NE) before the MMX instruction runs,
    // which leaves TOP and the tags alone.
    {
        SimdMachine m;
        auto r = m.run(R"(
            fninit
            mov word [0x2000], 0x037B   ; #Z unmasked
            fldcw [0x2000]
            fld1
            fldz
            fdivp st1, st0              ; unmasked #Z: pending, no pop (TOP = 6)
            paddb mm0, mm1
            hlt)");
        ASSERT_TRUE(faulted(r, vec::MF));
        EXPECT_EQ(m.fpu().top(), 6u);
        // SSE instructions do not look at the x87.
        auto r2 = m.run("addps xmm0, xmm1\nhlt");
        EXPECT_TRUE(halted(r2));
    }
    // A faulting memory operand leaves the x87 state as it was.
    {
        SimdMachine m;
        auto r = m.run(R"(
            fninit
            fld1
            movq mm0, [0xFFFFFFFC]      ; beyond the segment limit? flat: wraps -> #GP
            hlt)");
        ASSERT_EQ(r.reason, StopReason::Exception);
        EXPECT_EQ(m.fpu().top(), 7u);
        EXPECT_TRUE(m.fpu().isEmpty(0));
    }
}

TEST(Mmx, MaskedStoreWritesOnlySelectedBytes) {
    SimdMachine m;
    std::vector<std::uint8_t> fill(16, 0xEE);
    m.mem.write(0x2000, fill);
    auto r = m.run(R"(
        movq mm0, [data]
        movq mm1, [mask]
        mov edi, 0x2000
        maskmovq mm0, mm1
        pxor mm2, mm2
        mov edi, 0xFFFFFFF0         ; a zero mask touches nothing (no fault)
        maskmovq mm0, mm2
        movq [0x2010], mm0
        movntq [0x2018], mm1
        hlt
    align 8
    data: dq 0x8877665544332211
    mask: dq 0x800080FF007F0080     ; bytes 0, 4, 5, 7 selected (bit 7 set)
    )");
    ASSERT_TRUE(halted(r)) << int(r.fault.vector);
    EXPECT_EQ(m.mem64(0x2000), 0x88EE6655EEEEEE11ull);
    EXPECT_EQ(m.mem64(0x2018), 0x800080FF007F0080ull);
}

}  // namespace
}  // namespace cxvm::x86::test
