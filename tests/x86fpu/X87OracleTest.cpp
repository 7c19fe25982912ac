// Every host-executed x87 encoding against a direct run on the host FPU: the oracle builds
// its stack with FNINIT/FLDCW/FLD m80 and runs the instruction bytes inline, the emulator
// goes through X87::execute for all of it. Random and edge operands, rounding and
// precision modes, masked and unmasked exceptions.
#include "X87TestSupport.h"

#include "x86/X87Opcodes.h"

#include <array>
#include <cstdlib>
#include <random>
#include <utility>

using namespace cxvm::x86;
using namespace cxvm::x86::test;

namespace {

struct OracleIn {
    std::uint16_t cw;
    std::array<std::array<std::uint8_t, 10>, 3> push;  // pushed in order: push[2] ends in ST0
    std::uint64_t eflags;
};

using OracleFn = void (*)(const OracleIn&, X87HostImage&, std::uint64_t&, void*);

template <std::uint8_t OP, std::uint8_t MODRM>
void oracle(const OracleIn& in, X87HostImage& out, std::uint64_t& flags, void* operand) {
    std::uint16_t hostCw = 0;
    flags = in.eflags;
    asm volatile(
        "fnstcw %[hcw]\n\t"
        "fninit\n\t"
        "fldcw %[cw]\n\t"
        "fldt %[p0]\n\t"
        "fldt %[p1]\n\t"
        "fldt %[p2]\n\t"
        "sub $128, %%rsp\n\t"  // skip the red zone: push/pop below
        "push %[fl]\n\t"
        "popfq\n\t"
        ".byte %c[op], %c[modrm]\n\t"
        "pushfq\n\t"
        "pop %[fl]\n\t"
        "add $128, %%rsp\n\t"
        "fnsave %[img]\n\t"
        "fldcw %[hcw]\n\t"
        : [img] "=m"(out), [hcw] "+m"(hostCw), [fl] "+r"(flags)
        : [cw] "m"(in.cw), [p0] "m"(in.push[0]), [p1] "m"(in.push[1]), [p2] "m"(in.push[2]),
          "D"(operand), [op] "i"(OP), [modrm] "i"(MODRM)
        : "memory", "cc");
}

template <std::size_t I>
constexpr std::uint8_t modrmOf() {
    constexpr std::size_t r = I % 72;
    return static_cast<std::uint8_t>(r < 8 ? (r << 3) | 7 : 0xC0 + (r - 8));
}

template <std::size_t... I>
constexpr std::array<OracleFn, sizeof...(I)> makeOracles(std::index_sequence<I...>) {
    return {&oracle<static_cast<std::uint8_t>(0xD8 + I / 72), modrmOf<I>()>...};
}

constexpr auto kOracles = makeOracles(std::make_index_sequence<8 * 72>());

// Operands: edge classes and random values of every width, so each format meets zeros,
// infinities, QNaN/SNaN, denormals, unsupported encodings and ordinary numbers.
class OperandGen {
public:
    explicit OperandGen(unsigned seed) : rng_(seed) {}

    std::array<std::uint8_t, 10> reg80() {
        std::uint64_t sig = rng_();
        std::uint16_t exp;
        switch (pick(12)) {
            case 0: sig = 0; exp = 0; break;
            case 1: sig = 1ull << 63; exp = 0x7FFF; break;                   // infinity
            case 2: sig = (3ull << 62) | (rng_() >> 20); exp = 0x7FFF; break;  // QNaN
            case 3: sig = (1ull << 63) | (rng_() >> 4) | 1; exp = 0x7FFF; break;  // SNaN
            case 4: sig >>= 1 + pick(62); exp = 0; break;                     // denormal
            case 5: sig |= 1ull << 63; exp = 0; break;                        // pseudo-denormal
            case 6: sig &= ~(1ull << 63); exp = static_cast<std::uint16_t>(1 + pick(0x7FFE)); break;
            case 7: sig |= 1ull << 63; exp = static_cast<std::uint16_t>(1 + pick(0x7FFE)); break;
            case 8: sig = 1ull << 63; exp = static_cast<std::uint16_t>(0x3FFF + pick(80) - 40); break;
            default:  // moderate magnitudes, where the transcendentals live
                sig |= 1ull << 63;
                exp = static_cast<std::uint16_t>(0x3FFF + pick(140) - 70);
        }
        if (pick(2)) exp |= 0x8000;
        std::array<std::uint8_t, 10> r{};
        std::memcpy(r.data(), &sig, 8);
        std::memcpy(r.data() + 8, &exp, 2);
        return r;
    }

    void memory(std::uint8_t* p, unsigned bytes) {
        for (unsigned i = 0; i < 16; ++i) p[i] = static_cast<std::uint8_t>(rng_());
        if (bytes == 10 && pick(2)) {
            const auto r = reg80();
            std::memcpy(p, r.data(), 10);
        } else if (pick(3) == 0) {
            // edge patterns: exponent all ones / all zeros, sign-only integers
            const std::uint8_t fill = pick(2) ? 0xFF : 0x00;
            for (unsigned i = 0; i < bytes; ++i) p[i] = pick(2) ? fill : p[i];
        }
    }

    std::uint16_t controlWord() {
        static constexpr std::uint16_t kPc[] = {0x000, 0x200, 0x300};
        const std::uint16_t masks =
            pick(3) == 0 ? static_cast<std::uint16_t>(rng_() & 0x3F) : std::uint16_t{0x3F};
        return static_cast<std::uint16_t>(masks | kPc[pick(3)] | (pick(4) << 10) | 0x40);
    }

    std::uint64_t eflags() { return 0x2 | (rng_() & 0x45); }  // CF PF ZF for FCMOVcc

    unsigned pick(unsigned n) { return static_cast<unsigned>(rng_() % n); }

private:
    std::mt19937_64 rng_;
};

unsigned casesPerEncoding() {
    const char* full = std::getenv("CXVM_TEST_FULL");
    return full && *full && *full != '0' ? 5000 : 200;
}

}  // namespace

TEST(X87Oracle, EveryHostEncodingMatchesTheHostFpu) {
    OperandGen gen(20261124);
    unsigned compared = 0;
    for (unsigned index = 0; index < 8 * 72; ++index) {
        const std::uint8_t opcode = static_cast<std::uint8_t>(0xD8 + index / 72);
        const std::uint8_t modrm = [&] {
            const unsigned r = index % 72;
            return static_cast<std::uint8_t>(r < 8 ? (r << 3) | 7 : 0xC0 + (r - 8));
        }();
        const X87OpInfo& info = x87OpInfo(opcode, modrm);
        if (info.kind != X87Kind::Host) continue;
        for (unsigned n = 0; n < casesPerEncoding(); ++n) {
            OracleIn in{gen.controlWord(), {gen.reg80(), gen.reg80(), gen.reg80()}, gen.eflags()};
            alignas(16) std::uint8_t operand[16];
            gen.memory(operand, info.memBytes);
            alignas(16) std::uint8_t hostOperand[16];
            std::memcpy(hostOperand, operand, 16);
            X87HostImage want{};
            std::uint64_t wantFlags = 0;
            kOracles[index](in, want, wantFlags, hostOperand);

            Fpu f;
            f.eflags = static_cast<std::uint32_t>(in.eflags);
            f.bus.put<std::uint16_t>(0x10, in.cw);
            f.okMem(0xD9, 5, 0x10);
            for (unsigned i = 0; i < 3; ++i) {
                std::memcpy(&f.bus.bytes[0x20], in.push[i].data(), 10);
                f.okMem(0xDB, 5, 0x20);
            }
            std::memcpy(&f.bus.bytes[0x100], operand, 16);
            // An unmasked exception from the pushes cannot happen (FLD m80 raises none).
            ASSERT_EQ(f.run(opcode, modrm, 0x100), X87Outcome::Done);

            const auto where = [&] {
                return ::testing::Message() << std::hex << "op " << +opcode << " " << +modrm
                                            << " cw " << in.cw << " case " << std::dec << n;
            };
            ASSERT_EQ(f.fpu.controlWord(), want.cw & 0xFFFF) << where();
            ASSERT_EQ(f.fpu.statusWord(), want.sw & 0xFFFF) << where();
            ASSERT_EQ(f.fpu.tagWord(), want.tw & 0xFFFF) << where();
            for (unsigned i = 0; i < 8; ++i) {
                if (f.fpu.isEmpty((f.fpu.top() + i) & 7)) continue;
                X87Reg w;
                std::memcpy(&w.significand, want.st[i].data(), 8);
                std::memcpy(&w.signExponent, want.st[i].data() + 8, 2);
                ASSERT_EQ(f.fpu.st(i), w) << where() << " ST" << i;
            }
            if (info.writesEflags) {
                ASSERT_EQ(f.eflags & 0x8D5, wantFlags & 0x8D5) << where();
            }
            if (info.store) {
                ASSERT_EQ(std::memcmp(&f.bus.bytes[0x100], hostOperand, info.memBytes), 0) << where();
            }
            ++compared;
        }
    }
    EXPECT_GT(compared, 400u * casesPerEncoding());
}
