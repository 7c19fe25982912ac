// SSE and SSE2 (SDM Vol. 1 ch. 10-11, Vol. 3 ch. 13): CPUID, the CR0/CR4 exception
// rules, alignment, mandatory prefixes, MXCSR (rounding, DAZ, FZ, flags, masked and
// unmasked exceptions with the pre-/post-computation rule), MIN/MAX operand order,
// COMISS/UCOMISS flags, conversions, RCP/RSQRT special cases, SSE2 integer forms,
// FXSAVE/FXRSTOR field by field, and compiled blocks running the same instructions.
#include "SimdTestSupport.h"

namespace cxvm::x86::test {
namespace {

constexpr std::uint32_t kOsfxsr = cr4::OSFXSR | cr4::OSXMMEXCPT;

TEST(Sse, CpuidIsAPentiumMWithExactlyTheImplementedFeatures) {
    SimdMachine m;
    auto r = m.run(R"(
        mov eax, 1
        cpuid
        mov [0x2000], eax
        mov [0x2004], ebx
        mov [0x2008], ecx
        mov [0x200C], edx
        mov eax, 0x80000000
        cpuid
        mov [0x2010], eax
        mov edi, 0x2020
        mov esi, 0x80000002
    .brand:
        mov eax, esi
        cpuid
        mov [edi], eax
        mov [edi + 4], ebx
        mov [edi + 8], ecx
        mov [edi + 12], edx
        add edi, 16
        inc esi
        cmp esi, 0x80000005
        jne .brand
        hlt)");
    ASSERT_TRUE(halted(r));
    EXPECT_EQ(m.mem32(0x2000), 0x695u);            // family 6 model 9 stepping 5
    EXPECT_EQ((m.mem32(0x2004) >> 8) & 0xFF, 8u);  // CLFLUSH line: 8 quadwords
    EXPECT_EQ(m.mem32(0x2008), 0x80000000u);       // no SSE3 or later; hypervisor
    // FPU PSE TSC MSR CX8 SEP PGE CMOV CLFSH MMX FXSR SSE SSE2 and nothing else.
    EXPECT_EQ(m.mem32(0x200C), 0x0788A939u);
    EXPECT_EQ(m.mem32(0x2010), 0x80000004u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.mem.span(0x2020, 48).data())),
              "cxvm interp i686 (Pentium M class, SSE2)");
    EXPECT_EQ(m.cpu.mxcsr(), 0x1F80u);  // reset state
}

TEST(Sse, ResetStateAndCr4Bits) {
    SimdMachine m;
    m.cpu.setXmm(3, Cpu::Xmm{{1, 2}});
    m.cpu.setMxcsr(0x3F81);
    m.cpu.reset();
    EXPECT_EQ(m.cpu.mxcsr(), 0x1F80u);
    EXPECT_EQ(m.cpu.xmm(3), Cpu::Xmm{});
    auto r = m.run(R"(
        mov eax, 0x610              ; PSE | OSFXSR | OSXMMEXCPT: accepted
        mov cr4, eax
        mov eax, cr4
        hlt)",
                   0);
    ASSERT_TRUE(halted(r));
    EXPECT_EQ(m.r(EAX), 0x610u);
}

TEST(Sse, ExceptionRulesOfCr0AndCr4) {
    struct Case {
        const char* code;
        std::uint32_t cr4, cr0;
        int vector;  // -1: runs
    };
    const Case cases[] = {
        {"addps xmm0, xmm1", 0, 0, vec::UD},  // CR4.OSFXSR = 0
        {"addps xmm0, xmm1", kOsfxsr, cr0::EM, vec::UD},
        {"addps xmm0, xmm1", kOsfxsr, cr0::TS, vec::NM},
        {"paddq xmm0, xmm1", 0, 0, vec::UD},
        {"ldmxcsr [0x2000]", 0, 0, vec::UD},
        {"stmxcsr [0x2000]", kOsfxsr, cr0::TS, vec::NM},
        {"movd xmm0, eax", kOsfxsr, cr0::EM, vec::UD},
        {"fxsave [0x3000]", kOsfxsr, cr0::EM, vec::NM},  // FXSAVE: #NM for EM too
        {"fxsave [0x3000]", kOsfxsr, cr0::TS, vec::NM},
        {"fxsave [0x3000]", 0, 0, -1},  // needs only CPUID.FXSR
        {"fxrstor [0x3000]", kOsfxsr, cr0::TS, vec::NM},
        {"lfence\nmfence\nsfence", 0, cr0::TS | cr0::EM, -1},
        {"movnti [0x2000], eax", 0, cr0::TS, -1},
        {"clflush [0x2000]\nprefetchnta [0x2000]\nprefetcht0 [0xFFFFFFFF]", 0, cr0::TS, -1},
    };
    for (const Case& c : cases) {
        SimdMachine m;
        auto r = m.run(std::string(c.code) + "\nhlt", c.cr4, c.cr0);
        if (c.vector < 0)
            EXPECT_TRUE(halted(r)) << c.code << ": vector " << int(r.fault.vector);
        else
            EXPECT_TRUE(faulted(r, std::uint8_t(c.vector)))
                << c.code << " cr4 " << c.cr4 << " cr0 " << c.cr0;
    }
}

TEST(Sse, SixteenByteAlignment) {
    const char* gp[] = {"movaps xmm0, [0x2008]", "movdqa [0x2004], xmm0",  "addps xmm0, [0x2008]",
                        "pxor xmm1, [0x2001]",   "movntdq [0x2008], xmm0", "fxsave [0x3008]",
                        "fxrstor [0x3004]",      "cvtpd2ps xmm0, [0x2008]"};
    for (const char* code : gp) {
        SimdMachine m;
        auto r = m.run(std::string(code) + "\nhlt");
        ASSERT_TRUE(faulted(r, vec::GP)) << code;
        EXPECT_EQ(r.fault.code, 0u) << code;
        EXPECT_EQ(m.cpu.eip(), 0x1000u) << code;
    }
    const char* ok[] = {"movups xmm0, [0x2008]", "movdqu [0x2004], xmm0", "addss xmm0, [0x2001]",
                        "movq xmm0, [0x2003]",   "movsd xmm1, [0x2005]",  "cvtps2pd xmm0, [0x2004]",
                        "movaps xmm0, [0x2010]", "movhps xmm2, [0x2007]"};
    for (const char* code : ok) {
        SimdMachine m;
        EXPECT_TRUE(halted(m.run(std::string(code) + "\nhlt"))) << code;
    }
}

TEST(Sse, MandatoryPrefixesSelectTheInstruction) {
    SimdMachine m;
    m.cpu.setXmm(0, Cpu::Xmm{{0x400000003F800000ull, 0x4080000040400000ull}});  // 1 2 3 4
    m.cpu.setXmm(1, Cpu::Xmm{{0x3F8000003F800000ull, 0x3F8000003F800000ull}});  // 1 1 1 1
    auto r = m.run(R"(
        db 0x66, 0xF3, 0x0F, 0x58, 0xC1     ; F3 wins over 66: addss xmm0, xmm1
        hlt)");
    ASSERT_TRUE(halted(r));
    EXPECT_EQ(m.cpu.xmm(0).q[0], 0x4000000040000000ull);  // 2 2
    EXPECT_EQ(m.cpu.xmm(0).q[1], 0x4080000040400000ull);  // 3 4 untouched
    for (const char* ud :
         {"db 0xF2, 0x0F, 0x77", "db 0x66, 0x0F, 0x77", "db 0xF3, 0x0F, 0xFC, 0xC1",
          "db 0xF0, 0x0F, 0x58, 0xC1", "db 0x66, 0x0F, 0x52, 0xC1", "db 0x0F, 0x6C, 0xC1",
          "db 0xF2, 0x0F, 0x12, 0xC1", /* SSE3: absent */
          "db 0x0F, 0xAE, 0x20", /* XSAVE */ "db 0x0F, 0x71, 0x06, 0x01" /* mem */,
          "db 0x0F, 0x73, 0xD8, 0x01" /* PSRLDQ needs 66 */}) {
        SimdMachine u;
        EXPECT_TRUE(faulted(u.run(std::string(ud) + "\nhlt"), vec::UD)) << ud;
    }
}

// Runs `code` with xmm0/xmm1 from the given words and MXCSR `mx`; the result is in the
// machine.
struct FpRun {
    SimdMachine m;
    RunResult r;
    FpRun(const std::string& code, Cpu::Xmm a, Cpu::Xmm b, std::uint32_t mx,
          std::uint32_t cr4 = kOsfxsr) {
        m.cpu.setXmm(0, a);
        m.cpu.setXmm(1, b);
        m.cpu.setMxcsr(mx);
        r = m.run(code + "\nhlt", cr4);
    }
};
Cpu::Xmm ss(std::uint32_t v, std::uint32_t upper = 0xDEADBEEF) {
    return Cpu::Xmm{{v | (std::uint64_t{upper} << 32), 0x1111111122222222ull}};
}

TEST(Sse, RoundingDazFtzAndFlags) {
    // 1 + 2^-24 rounds to 1 (nearest even) or to the next single (up); PE either way.
    FpRun rn("addss xmm0, xmm1", ss(0x3F800000), ss(0x33800000), 0x1F80);
    ASSERT_TRUE(halted(rn.r));
    EXPECT_EQ(rn.m.xmm32(0, 0), 0x3F800000u);
    EXPECT_EQ(rn.m.xmm32(0, 1), 0xDEADBEEFu);  // scalar: the rest is kept
    EXPECT_EQ(rn.m.cpu.mxcsr(), 0x1FA0u);
    FpRun up("addss xmm0, xmm1", ss(0x3F800000), ss(0x33800000), 0x5F80);
    EXPECT_EQ(up.m.xmm32(0, 0), 0x3F800001u);
    // 2^-70 * 2^-70 = 2^-140: an exact denormal (no flag); FZ flushes it to +0 with UE PE.
    FpRun tiny("mulss xmm0, xmm1", ss(0x1C800000), ss(0x1C800000), 0x1F80);
    EXPECT_EQ(tiny.m.xmm32(0, 0), 0x200u);
    EXPECT_EQ(tiny.m.cpu.mxcsr(), 0x1F80u);
    FpRun ftz("mulss xmm0, xmm1", ss(0x1C800000), ss(0x1C800000), 0x9F80);
    EXPECT_EQ(ftz.m.xmm32(0, 0), 0u);
    EXPECT_EQ(ftz.m.cpu.mxcsr(), 0x9F80u | mxcsr::UE | mxcsr::PE);
    // A denormal operand: DE, or read as zero with DAZ (no DE).
    FpRun de("addss xmm0, xmm1", ss(0x200), ss(0), 0x1F80);
    EXPECT_EQ(de.m.xmm32(0, 0), 0x200u);
    EXPECT_EQ(de.m.cpu.mxcsr(), 0x1F80u | mxcsr::DE);
    FpRun daz("addss xmm0, xmm1", ss(0x200), ss(0), 0x1FC0);
    EXPECT_EQ(daz.m.xmm32(0, 0), 0u);
    EXPECT_EQ(daz.m.cpu.mxcsr(), 0x1FC0u);
    // Masked #Z: infinity and ZE.
    FpRun z("divss xmm0, xmm1", ss(0x3F800000), ss(0), 0x1F80);
    EXPECT_EQ(z.m.xmm32(0, 0), 0x7F800000u);
    EXPECT_EQ(z.m.cpu.mxcsr(), 0x1F84u);
}

TEST(Sse, UnmaskedExceptionsRaiseXmOrUdAndWriteNothing) {
    const Cpu::Xmm one = ss(0x3F800000);
    // Unmasked #Z: #XM with OSXMMEXCPT, #UD without; ZE set, destination untouched.
    FpRun xm("divss xmm0, xmm1", one, ss(0), 0x1D80);
    ASSERT_TRUE(faulted(xm.r, vec::XM));
    EXPECT_EQ(xm.m.cpu.xmm(0), one);
    EXPECT_EQ(xm.m.cpu.mxcsr(), 0x1D84u);
    EXPECT_EQ(xm.m.cpu.eip(), 0x1000u);
    FpRun ud("divss xmm0, xmm1", one, ss(0), 0x1D80, cr4::OSFXSR);
    EXPECT_TRUE(faulted(ud.r, vec::UD));
    EXPECT_EQ(ud.m.cpu.mxcsr(), 0x1D84u);
    // Pre-computation first: 1/0 and 1/3 in one DIVPS with ZE and PE unmasked: only ZE
    // is flagged (the post-computation PE is never detected; SDM Vol. 1 11.5.1).
    const Cpu::Xmm ones{{0x3F8000003F800000ull, 0x3F8000003F800000ull}};
    const Cpu::Xmm zeroThree{{0x4040000000000000ull, 0x3F8000003F800000ull}};
    FpRun pre("divps xmm0, xmm1", ones, zeroThree, 0x0D80);
    ASSERT_TRUE(faulted(pre.r, vec::XM));
    EXPECT_EQ(pre.m.cpu.mxcsr(), 0x0D84u);
    EXPECT_EQ(pre.m.cpu.xmm(0), ones);
    // Post-computation: 1/3 with PE unmasked: PE flagged, nothing written.
    FpRun post("divss xmm0, xmm1", one, ss(0x40400000), 0x0F80);
    ASSERT_TRUE(faulted(post.r, vec::XM));
    EXPECT_EQ(post.m.cpu.mxcsr(), 0x0FA0u);
    EXPECT_EQ(post.m.cpu.xmm(0), one);
    // An exact tiny result with UE unmasked is an underflow (SDM Vol. 1 11.5.2.5).
    FpRun uf("mulss xmm0, xmm1", ss(0x1C800000), ss(0x1C800000), 0x1780);
    ASSERT_TRUE(faulted(uf.r, vec::XM));
    EXPECT_EQ(uf.m.cpu.mxcsr(), 0x1780u | mxcsr::UE);
    // LDMXCSR setting a flag whose mask is clear raises nothing by itself.
    SimdMachine m;
    auto r = m.run(R"(
        mov dword [0x2000], 0x1D84
        ldmxcsr [0x2000]
        stmxcsr [0x2004]
        mov dword [0x2008], 0x11F80   ; a reserved bit: #GP(0)
        ldmxcsr [0x2008]
        hlt)");
    ASSERT_TRUE(faulted(r, vec::GP));
    EXPECT_EQ(m.mem32(0x2004), 0x1D84u);
    EXPECT_EQ(m.cpu.mxcsr(), 0x1D84u);
}

TEST(Sse, MinMaxReturnTheSecondOperandForNansAndZeros) {
    const std::uint32_t qnan = 0x7FC00000, one = 0x3F800000;
    FpRun a("minss xmm0, xmm1", ss(qnan), ss(one), 0x1F80);
    EXPECT_EQ(a.m.xmm32(0, 0), one);
    EXPECT_EQ(a.m.cpu.mxcsr(), 0x1F81u);  // IE: a QNaN operand is invalid for MIN/MAX
    FpRun b("minss xmm0, xmm1", ss(one), ss(qnan), 0x1F80);
    EXPECT_EQ(b.m.xmm32(0, 0), qnan);
    FpRun c("minss xmm0, xmm1", ss(0), ss(0x80000000), 0x1F80);
    EXPECT_EQ(c.m.xmm32(0, 0), 0x80000000u);
    FpRun d("maxss xmm0, xmm1", ss(0x80000000), ss(0), 0x1F80);
    EXPECT_EQ(d.m.xmm32(0, 0), 0u);
    EXPECT_EQ(d.m.cpu.mxcsr(), 0x1F80u);
    FpRun e("maxpd xmm0, xmm1", Cpu::Xmm{{0x7FF8000000000000ull, 0x4000000000000000ull}},
            Cpu::Xmm{{0x3FF0000000000000ull, 0x7FF8000000000001ull}}, 0x1F80);
    EXPECT_EQ(e.m.cpu.xmm(0).q[0], 0x3FF0000000000000ull);
    EXPECT_EQ(e.m.cpu.xmm(0).q[1], 0x7FF8000000000001ull);
}

TEST(Sse, ComissAndUcomissFlags) {
    struct Case {
        const char* op;
        std::uint32_t a, b, flags, mx;
    };
    constexpr std::uint32_t C = fl::CF, Z = fl::ZF, P = fl::PF;
    const Case cases[] = {
        {"comiss", 0x3F800000, 0x40000000, C, 0x1F80},  // less
        {"comiss", 0x40000000, 0x3F800000, 0, 0x1F80},  // greater
        {"ucomiss", 0x80000000, 0, Z, 0x1F80},          // -0 == +0
        {"ucomiss", 0x7FC00000, 0, Z | P | C, 0x1F80},  // QNaN: unordered, no IE
        {"comiss", 0x7FC00000, 0, Z | P | C, 0x1F81},   // COMISS: IE for a QNaN
        {"ucomiss", 0x7F800001, 0, Z | P | C, 0x1F81},  // SNaN: IE for both
    };
    for (const Case& c : cases) {
        SimdMachine m;
        m.cpu.setXmm(0, ss(c.a));
        m.cpu.setXmm(1, ss(c.b));
        auto r = m.run(std::string(R"(
            mov eax, 0x8D5
            push eax
            popfd                   ; OF SF AF set beforehand: cleared
            )") + c.op +
                       " xmm0, xmm1\nhlt");
        ASSERT_TRUE(halted(r));
        EXPECT_EQ(m.flags() & fl::kArith, c.flags) << c.op << " " << std::hex << c.a;
        EXPECT_EQ(m.cpu.mxcsr(), c.mx) << c.op << " " << std::hex << c.a;
    }
}

TEST(Sse, ConversionsRoundAndSaturateAsTheSdmSays) {
    auto cvt = [](const char* code, std::uint32_t v, std::uint32_t mx) {
        SimdMachine m;
        m.cpu.setXmm(1, ss(v));
        m.cpu.setMxcsr(mx);
        EXPECT_TRUE(halted(m.run(std::string(code) + "\nhlt")));
        return std::pair{m.r(EAX), m.cpu.mxcsr()};
    };
    const std::uint32_t twoAndAHalf = 0x40200000, minus = 0xC0200000;
    EXPECT_EQ(cvt("cvtss2si eax, xmm1", twoAndAHalf, 0x1F80), std::pair(2u, 0x1FA0u));
    EXPECT_EQ(cvt("cvtss2si eax, xmm1", twoAndAHalf, 0x5F80).first, 3u);            // up
    EXPECT_EQ(cvt("cvtss2si eax, xmm1", minus, 0x3F80).first, std::uint32_t(-3));   // down
    EXPECT_EQ(cvt("cvtss2si eax, xmm1", minus, 0x1F80).first, std::uint32_t(-2));   // even
    EXPECT_EQ(cvt("cvttss2si eax, xmm1", minus, 0x5F80).first, std::uint32_t(-2));  // truncates
    // 1e10 does not fit: the integer indefinite 80000000H and IE.
    EXPECT_EQ(cvt("cvttss2si eax, xmm1", 0x501502F9, 0x1F80), std::pair(0x80000000u, 0x1F81u));
    SimdMachine m;
    m.cpu.setXmm(0, Cpu::Xmm{{0x1111111111111111ull, 0x2222222222222222ull}});
    m.cpu.setXmm(2, Cpu::Xmm{{0x3FF0000000000000ull, 0x4000000000000000ull}});  // 1.0 2.0
    auto r = m.run(R"(
        mov eax, -3
        cvtsi2sd xmm0, eax          ; low quadword -3.0, high kept
        cvtpd2ps xmm3, xmm2         ; 1.0f 2.0f, upper half zeroed
        sqrtsd xmm4, xmm2           ; sqrt(1.0)
        movq xmm5, [two]
        sqrtsd xmm5, xmm5
        cvtdq2pd xmm6, [ints]       ; -1, 7
        cvttpd2dq xmm7, xmm6
        hlt
    align 16
    two: dq 0x4000000000000000
    ints: dd -1, 7
    )");
    ASSERT_TRUE(halted(r));
    EXPECT_EQ(m.cpu.xmm(0).q[0], 0xC008000000000000ull);
    EXPECT_EQ(m.cpu.xmm(0).q[1], 0x2222222222222222ull);
    EXPECT_EQ(m.cpu.xmm(3).q[0], 0x400000003F800000ull);
    EXPECT_EQ(m.cpu.xmm(3).q[1], 0u);
    EXPECT_EQ(m.cpu.xmm(4).q[0], 0x3FF0000000000000ull);
    EXPECT_EQ(m.cpu.xmm(5).q[0], 0x3FF6A09E667F3BCDull);
    EXPECT_EQ(m.cpu.xmm(6).q[0], 0xBFF0000000000000ull);
    EXPECT_EQ(m.cpu.xmm(6).q[1], 0x401C000000000000ull);
    EXPECT_EQ(m.cpu.xmm(7).q[0], 0x00000007FFFFFFFFull);
    EXPECT_EQ(m.cpu.xmm(7).q[1], 0u);
}

TEST(Sse, ReciprocalApproximationsAreCorrectlyRoundedWithTheSdmSpecialCases) {
    SimdMachine m;
    m.cpu.setXmm(1, Cpu::Xmm{{0x4040000040000000ull, 0x8000000000000000ull}});  // 2 3 +0 -0
    m.cpu.setXmm(2, Cpu::Xmm{{0xBF80000040800000ull, 0x7FA0000000000100ull}});  // 4 -1 den SNaN
    m.cpu.setMxcsr(0x7F80);  // RC toward zero: not used by RCP/RSQRT
    auto r = m.run(R"(
        rcpps xmm3, xmm1
        rsqrtps xmm4, xmm2
        rcpss xmm5, xmm2
        hlt)");
    ASSERT_TRUE(halted(r));
    EXPECT_EQ(m.xmm32(3, 0), 0x3F000000u);  // 1/2
    EXPECT_EQ(m.xmm32(3, 1), 0x3EAAAAABu);  // 1/3 rounded to nearest
    EXPECT_EQ(m.xmm32(3, 2), 0x7F800000u);  // 1/+0 = +inf
    EXPECT_EQ(m.xmm32(3, 3), 0xFF800000u);  // 1/-0 = -inf
    EXPECT_EQ(m.xmm32(4, 0), 0x3F000000u);  // 1/sqrt(4)
    EXPECT_EQ(m.xmm32(4, 1), 0xFFC00000u);  // negative: QNaN indefinite
    EXPECT_EQ(m.xmm32(4, 2), 0x7F800000u);  // denormal reads as 0: +inf
    EXPECT_EQ(m.xmm32(4, 3), 0x7FE00000u);  // SNaN quieted
    EXPECT_EQ(m.xmm32(5, 0), 0x3E800000u);  // scalar: 1/4
    EXPECT_EQ(m.cpu.mxcsr(), 0x7F80u);      // no flags
}

TEST(Sse, ComparePredicatesAndLogic) {
    SimdMachine m;
    // xmm0 = 1 2 NaN 4, xmm1 = 2 2 1 3
    m.cpu.setXmm(0, Cpu::Xmm{{0x400000003F800000ull, 0x408000007FC00000ull}});
    m.cpu.setXmm(1, Cpu::Xmm{{0x4000000040000000ull, 0x404000003F800000ull}});
    auto r = m.run(R"(
        movaps xmm2, xmm0
        cmpltps xmm2, xmm1
        movaps xmm3, xmm0
        cmpunordps xmm3, xmm1
        movaps xmm4, xmm0
        cmpps xmm4, xmm1, 0xFC      ; imm8[2:0] = 4: NEQ (bits 7:3 ignored)
        movmskps eax, xmm4
        movaps xmm5, xmm0
        andnps xmm5, xmm1
        shufps xmm6, xmm0, 0x1B     ; xmm6 = 0: 0, 0, xmm0[1], xmm0[0]
        unpckhps xmm1, xmm0         ; 1 NaN 3 4
        hlt)");
    ASSERT_TRUE(halted(r));
    EXPECT_EQ(m.cpu.xmm(2).q[0], 0x00000000FFFFFFFFull);
    EXPECT_EQ(m.cpu.xmm(2).q[1], 0u);
    EXPECT_EQ(m.cpu.xmm(3).q[0], 0u);
    EXPECT_EQ(m.cpu.xmm(3).q[1], 0x00000000FFFFFFFFull);
    EXPECT_EQ(m.r(EAX), 0xDu);  // 1 != 2, NaN != 1, 4 != 3
    EXPECT_EQ(m.cpu.xmm(5).q[0], 0x4000000040000000ull & ~0x400000003F800000ull);
    EXPECT_EQ(m.cpu.xmm(6).q[1], 0x3F80000040000000ull);  // xmm0[1], xmm0[0]
    EXPECT_EQ(m.cpu.xmm(1).q[0], 0x7FC000003F800000ull);
    EXPECT_EQ(m.cpu.xmm(1).q[1], 0x4080000040400000ull);
    EXPECT_EQ(m.cpu.mxcsr(), 0x1F81u);  // CMPLTPS signals on the QNaN; CMPUNORD/NEQ do not
}

TEST(Sse, Sse2IntegerAndMoves) {
    SimdMachine m;
    auto r = m.run(R"(
        movdqa xmm0, [seq]
        pshufd xmm1, xmm0, 0x1B
        movdqa xmm2, xmm0
        pslldq xmm2, 3
        movdqa xmm3, xmm0
        psrldq xmm3, 5
        movdqa xmm4, xmm0
        psrldq xmm4, 16             ; all gone
        movdqa xmm5, [x1]
        pmuludq xmm5, [x2]
        movdqa xmm6, [x1]
        paddq xmm6, [x2]
        pxor xmm7, xmm7             ; strlen's inner step: find the zero byte
        pcmpeqb xmm7, [str]
        pmovmskb eax, xmm7
        bsf ecx, eax
        pshuflw xmm0, xmm0, 0x1B
        pshufhw xmm0, xmm0, 0x1B
        movq2dq xmm1, mm0            ; (x87 transition)
        hlt
    align 16
    seq: db 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    x1: dq 0x80000001FFFFFFFF, 0xFFFFFFFF00000003
    x2: dq 0x7FFFFFFF00000002, 0x0000000200000010
    str: db "cxvm sse", 0, "xxxxxxx"
    )");
    ASSERT_TRUE(halted(r));
    EXPECT_EQ(m.cpu.xmm(1).q[0], 0u);  // MOVQ2DQ of MM0 (+0.0 since reset)
    EXPECT_EQ(m.cpu.xmm(2).q[0], 0x0403020100000000ull);
    EXPECT_EQ(m.cpu.xmm(2).q[1], 0x0C0B0A0908070605ull);
    EXPECT_EQ(m.cpu.xmm(3).q[0], 0x0C0B0A0908070605ull);
    EXPECT_EQ(m.cpu.xmm(3).q[1], 0x0000000000000F0E0Dull & 0xFFFFFFull);
    EXPECT_EQ(m.cpu.xmm(4), Cpu::Xmm{});
    EXPECT_EQ(m.cpu.xmm(5).q[0], 0x00000001FFFFFFFEull);
    EXPECT_EQ(m.cpu.xmm(5).q[1], 0x0000000000000030ull);
    EXPECT_EQ(m.cpu.xmm(6).q[0], 0x0000000100000001ull);
    EXPECT_EQ(m.cpu.xmm(6).q[1], 0x0000000100000013ull);
    EXPECT_EQ(m.r(ECX), 8u);
    EXPECT_EQ(m.cpu.xmm(0).q[0], 0x0100030205040706ull);
    EXPECT_EQ(m.cpu.xmm(0).q[1], 0x09080B0A0D0C0F0Eull);
    EXPECT_EQ(m.fpu().top(), 0u);
}

TEST(Sse, FxsaveImageFieldByField) {
    SimdMachine m;
    auto r = m.run(R"(
        mov edi, 0x4000
        mov ecx, 512
        mov al, 0xAA
        rep stosb
        fninit
        mov word [0x2000], 0x027F   ; double precision
        fldcw [0x2000]
        fld1                        ; R7
        fldz                        ; R6, TOP = 6
        movdqu xmm0, [x0]
        movdqu xmm7, [x7]
        mov dword [0x2004], 0x3F81  ; RC down, IE set
        ldmxcsr [0x2004]
        fxsave [0x4000]
        ud2                         ; (not HLT: the next runs go on)
    x0: dq 0x0011223344556677, 0x8899AABBCCDDEEFF
    x7: dq 0x7777777777777777, 0x1234567812345678
    )");
    ASSERT_TRUE(faulted(r, vec::UD));
    const std::uint32_t a = 0x4000;
    EXPECT_EQ(m.mem16(a + 0), 0x027F);         // FCW
    EXPECT_EQ(m.mem16(a + 2), 0x3000);         // FSW: TOP 6
    EXPECT_EQ(m.mem.span(a + 4, 1)[0], 0xC0);  // abridged FTW: R6 R7
    EXPECT_EQ(m.mem.span(a + 5, 1)[0], 0);
    EXPECT_EQ(m.mem32(a + 24), 0x3F81u);  // MXCSR
    EXPECT_EQ(m.mem32(a + 28), 0xFFFFu);  // MXCSR_MASK: DAZ supported
    EXPECT_EQ(m.mem64(a + 32), 0u);       // ST0 = +0
    EXPECT_EQ(m.mem16(a + 40), 0);
    EXPECT_EQ(m.mem64(a + 48), 0x8000000000000000ull);  // ST1 = 1.0
    EXPECT_EQ(m.mem16(a + 56), 0x3FFF);
    EXPECT_EQ(m.mem16(a + 42), 0xAAAA);                  // reserved bytes: untouched
    EXPECT_EQ(m.mem64(a + 160), 0x0011223344556677ull);  // XMM0
    EXPECT_EQ(m.mem64(a + 168), 0x8899AABBCCDDEEFFull);
    EXPECT_EQ(m.mem64(a + 272), 0x7777777777777777ull);  // XMM7
    EXPECT_EQ(m.mem64(a + 280), 0x1234567812345678ull);
    for (std::uint32_t o = 288; o < 512; o += 8)
        EXPECT_EQ(m.mem64(a + o), 0xAAAAAAAAAAAAAAAAull) << o;

    // FXRSTOR puts everything back.
    auto r2 = m.run(R"(
        fninit
        pxor xmm0, xmm0
        pxor xmm7, xmm7
        mov dword [0x2000], 0x1F80
        ldmxcsr [0x2000]
        fxrstor [0x4000]
        ud2)");
    ASSERT_TRUE(faulted(r2, vec::UD));
    EXPECT_EQ(m.cpu.mxcsr(), 0x3F81u);
    EXPECT_EQ(m.cpu.xmm(0).q[1], 0x8899AABBCCDDEEFFull);
    EXPECT_EQ(m.cpu.xmm(7).q[0], 0x7777777777777777ull);
    EXPECT_EQ(m.fpu().controlWord(), 0x027F);
    EXPECT_EQ(m.fpu().top(), 6u);
    EXPECT_EQ(m.fpu().st(1).signExponent, 0x3FFF);
    EXPECT_TRUE(m.fpu().isEmpty(0));
    EXPECT_FALSE(m.fpu().isEmpty(6));

    // A reserved MXCSR bit in the image: #GP(0), nothing loaded.
    auto r3 = m.run(R"(
        mov dword [0x4000 + 24], 0x10000
        fninit
        fxrstor [0x4000]
        hlt)");
    ASSERT_TRUE(faulted(r3, vec::GP));
    EXPECT_EQ(m.cpu.mxcsr(), 0x3F81u);
    EXPECT_EQ(m.fpu().controlWord(), 0x037F);
}

// The same SSE2 loop interpreted and with every block compiled (compiled code calls the
// handlers for these instructions): identical registers, XMM state and MXCSR.
TEST(Sse, CompiledBlocksAgreeWithTheInterpreter) {
    const std::string src = R"(
        mov ecx, 1100
        movdqa xmm1, [k]
        cvtsi2sd xmm2, ecx
    .loop:
        paddd xmm0, xmm1
        pshufd xmm0, xmm0, 0x39
        cvtsi2ss xmm3, ecx
        mulss xmm3, xmm3
        addsd xmm2, xmm2
        movd eax, xmm0
        add ebx, eax
        dec ecx
        jnz .loop
        hlt
    align 16
    k: dd 1, 3, 5, 7
    )";
    Cpu::Xmm results[2][4];
    std::uint32_t ebx[2], mx[2];
    for (int compiled = 0; compiled < 2; ++compiled) {
        SimdMachine m;
        m.cpu.setCompile(compiled == 1, 0);
        ASSERT_TRUE(halted(m.run(src)));
        for (unsigned i = 0; i < 4; ++i) results[compiled][i] = m.cpu.xmm(i);
        ebx[compiled] = m.r(EBX);
        mx[compiled] = m.cpu.mxcsr();
        if (compiled) {
            EXPECT_GT(m.cpu.blockStats().compiled, 0u);
        }
    }
    for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(results[0][i], results[1][i]) << i;
    EXPECT_EQ(ebx[0], ebx[1]);
    EXPECT_EQ(mx[0], mx[1]);
    EXPECT_EQ(mx[0], 0x1F80u | mxcsr::OE | mxcsr::PE);  // 1100 doublings overflow
}

}  // namespace
}  // namespace cxvm::x86::test
