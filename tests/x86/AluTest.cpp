// Integer instruction groups with their flags (SDM Vol. 2).
#include "CpuTestSupport.h"

namespace cxvm::x86::test {
namespace {

constexpr std::uint32_t kOSZAPC = fl::kArith;

struct FlagCase {
    const char* code;
    std::uint32_t eax;
    std::uint32_t flags;  // expected OSZAPC
};

class AluFlags : public ::testing::TestWithParam<FlagCase> {};

TEST_P(AluFlags, ResultAndFlags) {
    Machine m;
    const FlagCase& c = GetParam();
    auto r = m.runFlat(std::string(c.code) + "\nhlt");
    ASSERT_EQ(r.reason, StopReason::Halt) << c.code;
    EXPECT_EQ(m.r(EAX), c.eax) << c.code;
    EXPECT_EQ(m.flags() & kOSZAPC, c.flags) << c.code << std::hex << " got " << (m.flags() & kOSZAPC);
}

using namespace fl;
INSTANTIATE_TEST_SUITE_P(
    Groups, AluFlags,
    ::testing::Values(
        FlagCase{"mov eax, 0x7fffffff\nadd eax, 1", 0x80000000u, OF | SF | AF | PF},
        FlagCase{"mov eax, 0xffffffff\nadd eax, 1", 0, CF | ZF | AF | PF},
        FlagCase{"mov al, 0x80\nadd al, 0x80\nmovzx eax, al", 0, CF | OF | ZF | PF},  // movzx keeps flags
        FlagCase{"xor eax, eax\nmov al, 0x80\nadd al, 0x80", 0, CF | OF | ZF | PF},
        FlagCase{"mov eax, 5\nsub eax, 7", 0xFFFFFFFEu, CF | SF | AF},
        FlagCase{"mov eax, 0x80000000\nsub eax, 1", 0x7FFFFFFFu, OF | AF | PF},
        FlagCase{"stc\nmov eax, 1\nadc eax, 0xffffffff", 1, CF | AF},
        FlagCase{"stc\nmov eax, 0\nsbb eax, 0", 0xFFFFFFFFu, CF | SF | AF | PF},
        FlagCase{"stc\nmov eax, 5\nsbb eax, 4", 0, ZF | PF},
        FlagCase{"mov eax, 0xf0\nand eax, 0x0f", 0, ZF | PF},
        FlagCase{"mov eax, 0x7fffffff\ninc eax", 0x80000000u, OF | SF | AF | PF},
        FlagCase{"stc\nmov eax, 0\ndec eax", 0xFFFFFFFFu, CF | SF | AF | PF},
        FlagCase{"mov eax, 0\nneg eax", 0, ZF | PF},
        FlagCase{"mov eax, 1\nneg eax", 0xFFFFFFFFu, CF | SF | AF | PF},
        FlagCase{"mov eax, 0x80000000\nneg eax", 0x80000000u, CF | OF | SF | PF},
        FlagCase{"mov ax, 0x8000\nmov ebx, 0x12340000\nadd eax, ebx\nadd ax, ax", 0x12340000u, CF | OF | ZF | PF},
        FlagCase{"mov eax, 0x40000001\nshl eax, 1", 0x80000002u, OF | SF},
        FlagCase{"mov eax, 0x80000001\nshr eax, 1", 0x40000000u, CF | OF | PF},
        FlagCase{"mov eax, 0x80000001\nsar eax, 1", 0xC0000000u, CF | SF | PF},
        FlagCase{"mov eax, 0x80000001\nrol eax, 1", 3, CF | OF},
        FlagCase{"clc\nmov eax, 0x80000000\nrcl eax, 1", 0, CF | OF},
        FlagCase{"mov eax, 1\nror eax, 1", 0x80000000u, CF | OF},
        FlagCase{"mov eax, 0x10000\nmov ecx, 0x10000\nmul ecx\nmov eax, edx\nadc eax, 0", 2, 0},
        FlagCase{"mov eax, -2\nmov ecx, 3\nimul eax, ecx", 0xFFFFFFFAu, SF | PF},
        FlagCase{"mov eax, 0x40000000\nimul eax, eax, 4", 0, CF | OF | ZF | PF},
        FlagCase{"mov eax, 0x12345678\nbswap eax", 0x78563412u, 0},
        FlagCase{"mov ax, 0x0909\nadd al, 0x08\ndaa\nmovzx eax, al", 0x17, AF | PF},
        FlagCase{"xor eax, eax\nmov al, 0x79\nadd al, 0x35\ndaa", 0x14, CF | AF | PF},
        FlagCase{"mov eax, 0x0f\nbsf eax, eax", 0, 0},
        FlagCase{"mov ecx, 0x80\nbsr eax, ecx", 7, 0},
        FlagCase{"xor ecx,ecx\nmov eax, 5\nbsr eax, ecx", 5, ZF | PF},
        FlagCase{"mov eax, 0xff\nbt eax, 3\nmov eax, 1\nadc eax, 0", 2, 0},
        FlagCase{"mov eax, 0xff\nbtr eax, 7", 0x7F, CF},
        FlagCase{"mov eax, 0x1234\nmov edx, 0xABCD0000\nshld eax, edx, 16", 0x1234ABCDu, 0},
        FlagCase{"mov eax, 0x1234\nmov edx, 0xABCD\nshrd eax, edx, 16\nor eax, eax", 0xABCD0000u, SF | PF},
        FlagCase{"mov eax, 1\nmov ecx, 2\ncmp eax, ecx\nsetb al\nmovzx eax, al", 1, CF | SF | AF | PF},
        FlagCase{"mov eax, 1\nmov ecx, 2\ncmp eax, ecx\nmov eax, 9\nmov edx, 7\ncmovl eax, edx", 7, CF | SF | AF | PF},
        FlagCase{"mov eax, 100\nmov edx, 0\nmov ecx, 7\ndiv ecx\nlea eax, [eax*8+edx]", 14 * 8 + 2, 0}),
    [](const auto& p) { return std::to_string(p.index); });

TEST(Alu, FlagsPreservedAcrossMovAndLea) {
    Machine m;
    m.runFlat("mov eax, 0xffffffff\nadd eax, 1\nlea ebx, [eax+5]\nmov ecx, ebx\nhlt");
    EXPECT_EQ(m.flags() & kOSZAPC, CF | ZF | AF | PF);
    EXPECT_EQ(m.r(ECX), 5u);
}

TEST(Alu, DivideErrorRaisesDE) {
    Machine m;
    m.cpu.setExceptionExit(true);
    auto r = m.runFlat("xor ecx, ecx\nmov eax, 1\ndiv ecx\nhlt");
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, vec::DE);
    EXPECT_EQ(m.cpu.eip(), 0x1000u + 7);  // at the faulting DIV
}

TEST(Alu, IdivOverflowRaisesDE) {
    Machine m;
    m.cpu.setExceptionExit(true);
    auto r = m.runFlat("mov eax, 0x80000000\ncdq\nmov ecx, -1\nidiv ecx\nhlt");
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, vec::DE);
}

TEST(Alu, Cmpxchg8bAndXadd) {
    Machine m;
    auto r = m.runFlat(R"(
        mov dword [0x2000], 1
        mov dword [0x2004], 2
        mov eax, 1
        mov edx, 2
        mov ebx, 0x33
        mov ecx, 0x44
        lock cmpxchg8b [0x2000]
        setz byte [0x2010]
        mov eax, 10
        mov dword [0x2020], 5
        lock xadd [0x2020], eax
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.mem32(0x2000), 0x33u);
    EXPECT_EQ(m.mem32(0x2004), 0x44u);
    EXPECT_EQ(m.mem32(0x2010) & 0xFF, 1u);
    EXPECT_EQ(m.mem32(0x2020), 15u);
    EXPECT_EQ(m.r(EAX), 5u);
}

TEST(Alu, SixteenBitOperandsAndAddressing) {
    Machine m;
    auto r = m.runFlat(R"(
        mov dword [0x2000], 0
        mov ebx, 0x2000
        mov si, 4
        mov word [bx+si], 0x1234     ; 16-bit address size via 0x67
        mov ax, [bx+si]
        add ax, 0xF000
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.mem32(0x2004), 0x1234u);
    EXPECT_EQ(m.r(EAX) & 0xFFFF, 0x0234u);
    EXPECT_EQ(m.flags() & fl::CF, fl::CF);
}

}  // namespace
}  // namespace cxvm::x86::test
