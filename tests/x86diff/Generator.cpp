#include "Generator.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace cxvm::x86::diff {

namespace {

// EFLAGS bits.
constexpr std::uint32_t CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400,
                        OF = 0x800, ALL = CF | PF | AF | ZF | SF | OF;
enum : unsigned { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };
constexpr std::uint32_t bit(unsigned r) { return 1u << r; }

// Flags each condition code (Jcc/SETcc/CMOVcc low nibble) reads.
constexpr std::uint32_t kCondReads[16] = {OF, OF, CF, CF, ZF, ZF, CF | ZF, CF | ZF,
                                          SF, SF, PF, PF, SF | OF, SF | OF, ZF | SF | OF, ZF | SF | OF};

class Rng {
public:
    explicit Rng(std::uint64_t seed) : s_(seed) { s_ = next() ^ 0x6A09E667F3BCC909ull; }
    std::uint64_t next() {  // splitmix64
        std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::uint32_t u32() { return static_cast<std::uint32_t>(next()); }
    unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }
    bool chance(unsigned num, unsigned den) { return below(den) < num; }
    int range(int lo, int hi) { return lo + static_cast<int>(below(static_cast<unsigned>(hi - lo + 1))); }

    // Values that sit on the boundaries ALU flags care about.
    std::uint32_t edge() {
        static constexpr std::uint32_t kEdges[] = {
            0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF,
            0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE, 0x0F0F0F0F, 0x99, 0x09, 0x0A};
        switch (below(6)) {
            case 0: case 1: return kEdges[below(sizeof kEdges / sizeof kEdges[0])];
            case 2: return below(64);
            case 3: return u32() & (0xFFu << (8 * below(4)));
            default: return u32();
        }
    }

private:
    std::uint64_t s_;
};

// An operand-size class for a form.
enum class W : std::uint8_t { B, V, D, Wd };  // byte, 16/32 by 66h, 32 only, 16 only
enum class Shape : std::uint8_t { RmReg, RegRm, RmDigit, OpReg, None };
enum class Imm : std::uint8_t { None, Ib, Iw, Iz };
enum class Mem : std::uint8_t { Any, RegOnly, MemOnly };
enum class Special : std::uint8_t {
    None, Shift, ShiftCl, Shift1, DoubleShift, DoubleShiftCl, BitTestImm, Div, Aam
};

struct Form {
    std::array<std::uint8_t, 2> op;
    std::uint8_t opLen;
    Shape shape;
    std::uint8_t digit;
    W w;
    Imm imm;
    bool writesRm, writesReg;
    std::uint32_t implicitWrites;  // registers
    std::uint32_t flagsRead, flagsWritten, flagsUndef;
    Mem mem;
    Special special;
    bool lockable = false;
};

Form form(std::initializer_list<int> op, Shape s, std::uint8_t digit, W w, Imm imm, bool wRm,
          bool wReg, std::uint32_t implicit, std::uint32_t fr, std::uint32_t fw, std::uint32_t fu,
          Mem m = Mem::Any, Special sp = Special::None, bool lockable = false) {
    Form f{};
    f.opLen = 0;
    for (int b : op) f.op[f.opLen++] = static_cast<std::uint8_t>(b);
    f.shape = s;
    f.digit = digit;
    f.w = w;
    f.imm = imm;
    f.writesRm = wRm;
    f.writesReg = wReg;
    f.implicitWrites = implicit;
    f.flagsRead = fr;
    f.flagsWritten = fw;
    f.flagsUndef = fu;
    f.mem = m;
    f.special = sp;
    f.lockable = lockable;
    return f;
}

// The integer forms (SDM Vol. 2 opcode map, one-byte and 0F). Undefined flags are the
// union of what Intel's SDM and AMD's APM document as undefined.
std::vector<Form> buildForms() {
    std::vector<Form> t;
    using S = Shape;
    for (unsigned op = 0; op < 8; ++op) {  // ADD OR ADC SBB AND SUB XOR CMP
        const bool cmp = op == 7, logic = op == 1 || op == 4 || op == 6;
        const std::uint32_t fr = (op == 2 || op == 3) ? CF : 0, fu = logic ? AF : 0;
        const int b = static_cast<int>(op * 8);
        t.push_back(form({b + 0}, S::RmReg, 0, W::B, Imm::None, !cmp, false, 0, fr, ALL, fu, Mem::Any, Special::None, !cmp));
        t.push_back(form({b + 1}, S::RmReg, 0, W::V, Imm::None, !cmp, false, 0, fr, ALL, fu, Mem::Any, Special::None, !cmp));
        t.push_back(form({b + 2}, S::RegRm, 0, W::B, Imm::None, false, !cmp, 0, fr, ALL, fu));
        t.push_back(form({b + 3}, S::RegRm, 0, W::V, Imm::None, false, !cmp, 0, fr, ALL, fu));
        t.push_back(form({b + 4}, S::None, 0, W::B, Imm::Ib, false, false, cmp ? 0 : bit(EAX), fr, ALL, fu));
        t.push_back(form({b + 5}, S::None, 0, W::V, Imm::Iz, false, false, cmp ? 0 : bit(EAX), fr, ALL, fu));
        t.push_back(form({0x80}, S::RmDigit, static_cast<std::uint8_t>(op), W::B, Imm::Ib, !cmp, false, 0, fr, ALL, fu, Mem::Any, Special::None, !cmp));
        t.push_back(form({0x81}, S::RmDigit, static_cast<std::uint8_t>(op), W::V, Imm::Iz, !cmp, false, 0, fr, ALL, fu, Mem::Any, Special::None, !cmp));
        t.push_back(form({0x83}, S::RmDigit, static_cast<std::uint8_t>(op), W::V, Imm::Ib, !cmp, false, 0, fr, ALL, fu, Mem::Any, Special::None, !cmp));
    }
    // TEST
    t.push_back(form({0x84}, S::RmReg, 0, W::B, Imm::None, false, false, 0, 0, ALL, AF));
    t.push_back(form({0x85}, S::RmReg, 0, W::V, Imm::None, false, false, 0, 0, ALL, AF));
    t.push_back(form({0xA8}, S::None, 0, W::B, Imm::Ib, false, false, 0, 0, ALL, AF));
    t.push_back(form({0xA9}, S::None, 0, W::V, Imm::Iz, false, false, 0, 0, ALL, AF));
    t.push_back(form({0xF6}, S::RmDigit, 0, W::B, Imm::Ib, false, false, 0, 0, ALL, AF));
    t.push_back(form({0xF7}, S::RmDigit, 0, W::V, Imm::Iz, false, false, 0, 0, ALL, AF));
    // INC DEC NOT NEG
    const std::uint32_t incFlags = ALL & ~CF;
    t.push_back(form({0xFE}, S::RmDigit, 0, W::B, Imm::None, true, false, 0, 0, incFlags, 0, Mem::Any, Special::None, true));
    t.push_back(form({0xFE}, S::RmDigit, 1, W::B, Imm::None, true, false, 0, 0, incFlags, 0, Mem::Any, Special::None, true));
    t.push_back(form({0xFF}, S::RmDigit, 0, W::V, Imm::None, true, false, 0, 0, incFlags, 0, Mem::Any, Special::None, true));
    t.push_back(form({0xFF}, S::RmDigit, 1, W::V, Imm::None, true, false, 0, 0, incFlags, 0, Mem::Any, Special::None, true));
    t.push_back(form({0x40}, S::OpReg, 0, W::V, Imm::None, false, true, 0, 0, incFlags, 0));
    t.push_back(form({0x48}, S::OpReg, 0, W::V, Imm::None, false, true, 0, 0, incFlags, 0));
    t.push_back(form({0xF6}, S::RmDigit, 2, W::B, Imm::None, true, false, 0, 0, 0, 0, Mem::Any, Special::None, true));
    t.push_back(form({0xF7}, S::RmDigit, 2, W::V, Imm::None, true, false, 0, 0, 0, 0, Mem::Any, Special::None, true));
    t.push_back(form({0xF6}, S::RmDigit, 3, W::B, Imm::None, true, false, 0, 0, ALL, 0, Mem::Any, Special::None, true));
    t.push_back(form({0xF7}, S::RmDigit, 3, W::V, Imm::None, true, false, 0, 0, ALL, 0, Mem::Any, Special::None, true));
    // MUL IMUL DIV IDIV
    for (std::uint8_t d = 4; d <= 7; ++d) {
        const bool div = d >= 6;
        const std::uint32_t fu = div ? ALL : (SF | ZF | AF | PF);
        t.push_back(form({0xF6}, S::RmDigit, d, W::B, Imm::None, false, false, bit(EAX), 0, ALL, fu, Mem::Any, div ? Special::Div : Special::None));
        t.push_back(form({0xF7}, S::RmDigit, d, W::V, Imm::None, false, false, bit(EAX) | bit(EDX), 0, ALL, fu, Mem::Any, div ? Special::Div : Special::None));
    }
    const std::uint32_t imulUndef = SF | ZF | AF | PF;
    t.push_back(form({0x0F, 0xAF}, S::RegRm, 0, W::V, Imm::None, false, true, 0, 0, ALL, imulUndef));
    t.push_back(form({0x69}, S::RegRm, 0, W::V, Imm::Iz, false, true, 0, 0, ALL, imulUndef));
    t.push_back(form({0x6B}, S::RegRm, 0, W::V, Imm::Ib, false, true, 0, 0, ALL, imulUndef));
    // Shifts and rotates: flags depend on the count (worked out in emitShift).
    for (std::uint8_t d = 0; d < 8; ++d) {
        const std::uint32_t fr = (d == 2 || d == 3) ? CF : 0;
        t.push_back(form({0xC0}, S::RmDigit, d, W::B, Imm::Ib, true, false, 0, fr, 0, 0, Mem::Any, Special::Shift));
        t.push_back(form({0xC1}, S::RmDigit, d, W::V, Imm::Ib, true, false, 0, fr, 0, 0, Mem::Any, Special::Shift));
        t.push_back(form({0xD0}, S::RmDigit, d, W::B, Imm::None, true, false, 0, fr, 0, 0, Mem::Any, Special::Shift1));
        t.push_back(form({0xD1}, S::RmDigit, d, W::V, Imm::None, true, false, 0, fr, 0, 0, Mem::Any, Special::Shift1));
        t.push_back(form({0xD2}, S::RmDigit, d, W::B, Imm::None, true, false, bit(ECX), fr, 0, 0, Mem::Any, Special::ShiftCl));
        t.push_back(form({0xD3}, S::RmDigit, d, W::V, Imm::None, true, false, bit(ECX), fr, 0, 0, Mem::Any, Special::ShiftCl));
    }
    t.push_back(form({0x0F, 0xA4}, S::RmReg, 0, W::V, Imm::Ib, true, false, 0, 0, 0, 0, Mem::Any, Special::DoubleShift));
    t.push_back(form({0x0F, 0xAC}, S::RmReg, 0, W::V, Imm::Ib, true, false, 0, 0, 0, 0, Mem::Any, Special::DoubleShift));
    t.push_back(form({0x0F, 0xA5}, S::RmReg, 0, W::V, Imm::None, true, false, bit(ECX), 0, 0, 0, Mem::Any, Special::DoubleShiftCl));
    t.push_back(form({0x0F, 0xAD}, S::RmReg, 0, W::V, Imm::None, true, false, bit(ECX), 0, 0, 0, Mem::Any, Special::DoubleShiftCl));
    // Bit tests: the register bit offset may leave the operand, so memory forms use the
    // immediate offset only.
    const std::uint32_t btUndef = OF | SF | ZF | AF | PF;
    for (std::uint8_t d = 4; d <= 7; ++d) {
        const bool writes = d != 4;
        t.push_back(form({0x0F, static_cast<std::uint8_t>(0xA3 + (d - 4) * 8)}, S::RmReg, 0, W::V, Imm::None, writes, false, 0, 0, CF | btUndef, btUndef, Mem::RegOnly));
        t.push_back(form({0x0F, 0xBA}, S::RmDigit, d, W::V, Imm::Ib, writes, false, 0, 0, CF | btUndef, btUndef, Mem::Any, Special::BitTestImm, writes));
    }
    t.push_back(form({0x0F, 0xBC}, S::RegRm, 0, W::V, Imm::None, false, true, 0, 0, ALL, ALL & ~ZF));
    t.push_back(form({0x0F, 0xBD}, S::RegRm, 0, W::V, Imm::None, false, true, 0, 0, ALL, ALL & ~ZF));
    // Moves
    t.push_back(form({0x88}, S::RmReg, 0, W::B, Imm::None, true, false, 0, 0, 0, 0));
    t.push_back(form({0x89}, S::RmReg, 0, W::V, Imm::None, true, false, 0, 0, 0, 0));
    t.push_back(form({0x8A}, S::RegRm, 0, W::B, Imm::None, false, true, 0, 0, 0, 0));
    t.push_back(form({0x8B}, S::RegRm, 0, W::V, Imm::None, false, true, 0, 0, 0, 0));
    t.push_back(form({0xB0}, S::OpReg, 0, W::B, Imm::Ib, false, true, 0, 0, 0, 0));
    t.push_back(form({0xB8}, S::OpReg, 0, W::V, Imm::Iz, false, true, 0, 0, 0, 0));
    t.push_back(form({0xC6}, S::RmDigit, 0, W::B, Imm::Ib, true, false, 0, 0, 0, 0));
    t.push_back(form({0xC7}, S::RmDigit, 0, W::V, Imm::Iz, true, false, 0, 0, 0, 0));
    t.push_back(form({0x0F, 0xB6}, S::RegRm, 0, W::B, Imm::None, false, true, 0, 0, 0, 0));  // movzx r, rm8
    t.push_back(form({0x0F, 0xBE}, S::RegRm, 0, W::B, Imm::None, false, true, 0, 0, 0, 0));  // movsx r, rm8
    t.push_back(form({0x0F, 0xB7}, S::RegRm, 0, W::Wd, Imm::None, false, true, 0, 0, 0, 0));
    t.push_back(form({0x0F, 0xBF}, S::RegRm, 0, W::Wd, Imm::None, false, true, 0, 0, 0, 0));
    t.push_back(form({0x86}, S::RmReg, 0, W::B, Imm::None, true, true, 0, 0, 0, 0, Mem::Any, Special::None, true));
    t.push_back(form({0x87}, S::RmReg, 0, W::V, Imm::None, true, true, 0, 0, 0, 0, Mem::Any, Special::None, true));
    t.push_back(form({0x90}, S::OpReg, 0, W::V, Imm::None, false, true, bit(EAX), 0, 0, 0));  // xchg eAX, r
    t.push_back(form({0x8D}, S::RegRm, 0, W::V, Imm::None, false, true, 0, 0, 0, 0, Mem::MemOnly));  // lea
    for (std::uint8_t cc = 0; cc < 16; ++cc) {
        t.push_back(form({0x0F, static_cast<std::uint8_t>(0x40 + cc)}, S::RegRm, 0, W::V, Imm::None, false, true, 0, kCondReads[cc], 0, 0));
        t.push_back(form({0x0F, static_cast<std::uint8_t>(0x90 + cc)}, S::RmDigit, 0, W::B, Imm::None, true, false, 0, kCondReads[cc], 0, 0));
    }
    t.push_back(form({0x0F, 0xC0}, S::RmReg, 0, W::B, Imm::None, true, true, 0, 0, ALL, 0, Mem::Any, Special::None, true));
    t.push_back(form({0x0F, 0xC1}, S::RmReg, 0, W::V, Imm::None, true, true, 0, 0, ALL, 0, Mem::Any, Special::None, true));
    t.push_back(form({0x0F, 0xB0}, S::RmReg, 0, W::B, Imm::None, true, false, bit(EAX), 0, ALL, 0, Mem::Any, Special::None, true));
    t.push_back(form({0x0F, 0xB1}, S::RmReg, 0, W::V, Imm::None, true, false, bit(EAX), 0, ALL, 0, Mem::Any, Special::None, true));
    t.push_back(form({0x0F, 0xC7}, S::RmDigit, 1, W::D, Imm::None, false, false, bit(EAX) | bit(EDX), 0, ZF, 0, Mem::MemOnly, Special::None, true));
    t.push_back(form({0x0F, 0xC8}, S::OpReg, 0, W::D, Imm::None, false, true, 0, 0, 0, 0));  // bswap
    // Implicit-operand one-byte instructions.
    t.push_back(form({0x98}, S::None, 0, W::V, Imm::None, false, false, bit(EAX), 0, 0, 0));
    t.push_back(form({0x99}, S::None, 0, W::V, Imm::None, false, false, bit(EDX), 0, 0, 0));
    t.push_back(form({0x9F}, S::None, 0, W::D, Imm::None, false, false, bit(EAX), SF | ZF | AF | PF | CF, 0, 0));
    t.push_back(form({0x9E}, S::None, 0, W::D, Imm::None, false, false, 0, 0, SF | ZF | AF | PF | CF, 0));
    t.push_back(form({0xF8}, S::None, 0, W::D, Imm::None, false, false, 0, 0, CF, 0));
    t.push_back(form({0xF9}, S::None, 0, W::D, Imm::None, false, false, 0, 0, CF, 0));
    t.push_back(form({0xF5}, S::None, 0, W::D, Imm::None, false, false, 0, CF, CF, 0));
    t.push_back(form({0xFC}, S::None, 0, W::D, Imm::None, false, false, 0, 0, DF, 0));
    t.push_back(form({0xFD}, S::None, 0, W::D, Imm::None, false, false, 0, 0, DF, 0));
    t.push_back(form({0x27}, S::None, 0, W::D, Imm::None, false, false, bit(EAX), CF | AF, ALL, OF));  // daa
    t.push_back(form({0x2F}, S::None, 0, W::D, Imm::None, false, false, bit(EAX), CF | AF, ALL, OF));  // das
    t.push_back(form({0x37}, S::None, 0, W::D, Imm::None, false, false, bit(EAX), AF, ALL, OF | SF | ZF | PF));  // aaa
    t.push_back(form({0x3F}, S::None, 0, W::D, Imm::None, false, false, bit(EAX), AF, ALL, OF | SF | ZF | PF));  // aas
    t.push_back(form({0xD4}, S::None, 0, W::D, Imm::Ib, false, false, bit(EAX), 0, ALL, OF | AF | CF, Mem::Any, Special::Aam));
    t.push_back(form({0xD5}, S::None, 0, W::D, Imm::Ib, false, false, bit(EAX), 0, ALL, OF | AF | CF));
    t.push_back(form({0x90}, S::None, 0, W::D, Imm::None, false, false, 0, 0, 0, 0));  // nop
    t.push_back(form({0x0F, 0x1F}, S::RmDigit, 0, W::V, Imm::None, false, false, 0, 0, 0, 0, Mem::MemOnly));  // nop m
    return t;
}

const std::vector<Form>& forms() {
    static const std::vector<Form> t = buildForms();
    return t;
}

class CaseBuilder {
public:
    CaseBuilder(const Layout& l, const GeneratorOptions& o, std::uint64_t id, bool simd = false)
        : L(l), opt(o), r(id), simd_(simd) {
        c.id = id;
    }

    DiffCase build();

private:
    // ---- addressing ----
    struct Addr {
        enum Kind : std::uint8_t { Base, BaseIndex, EspBase, Absolute, IndexOnly, A16 } kind = Absolute;
        unsigned base = 0, index = 0, scale = 0, rm16 = 0;
        std::uint32_t regSum = 0;  // base + index*scale with the initial register values
    };
    void chooseAddressing();
    std::uint32_t anchor() const {
        return addr.kind == Addr::EspBase ? c.regs[ESP] + static_cast<std::uint32_t>(espDelta) : addr.regSum;
    }
    // Appends ModRM (with `regField`), SIB and displacement for a memory operand of
    // `size` bytes. espAdjust: ESP change applied before the address is computed
    // (POP m with an ESP base).
    // Returns the operand's linear address.
    // align (SIMD forms): the operand is 16-byte aligned, except now and then (#GP).
    std::uint32_t memModrm(std::vector<std::uint8_t>& out, unsigned regField, unsigned size, int espAdjust = 0,
                           unsigned align = 0);
    void prefixesForMem(std::vector<std::uint8_t>& out, bool write);

    // ---- registers and flags ----
    bool writable(unsigned reg, W w) const {
        const unsigned phys = w == W::B ? (reg & 3) : reg;
        return !(reserved & bit(phys));
    }
    unsigned pickWritable(W w) {
        for (int tries = 0; tries < 64; ++tries) {
            const unsigned reg = r.below(8);
            if (writable(reg, w)) return reg;
        }
        return 8;
    }
    bool canRead(std::uint32_t flags) const { return (undef & flags) == 0; }
    void wroteFlags(std::uint32_t written, std::uint32_t undefined) {
        undef = (undef & ~written) | undefined;
    }

    // ---- instruction emitters; each returns false if it could not fit this case ----
    bool emitForm(std::vector<std::uint8_t>& out, const Form& f);
    bool emitOne(std::vector<std::uint8_t>& out, bool allowStack);
    bool emitString(std::vector<std::uint8_t>& out);
    bool emitStack(std::vector<std::uint8_t>& out);
    void emitStack16(std::vector<std::uint8_t>& out);
    bool loadSs(std::vector<std::uint8_t>& out, std::uint16_t sel);
    bool emitOn16(std::vector<std::uint8_t>& out);
    bool emitBranch(std::vector<std::uint8_t>& out);
    bool emitFpu(std::vector<std::uint8_t>& out);
    void randomFpuState();
    bool emitSimd(std::vector<std::uint8_t>& out);
    bool emitSimdState(std::vector<std::uint8_t>& out);
    void randomSseState();
    std::uint32_t randomMxcsr();

    static void imm(std::vector<std::uint8_t>& out, std::uint32_t v, unsigned bytes) {
        for (unsigned i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void movImm32(std::vector<std::uint8_t>& out, unsigned reg, std::uint32_t v) {
        out.push_back(static_cast<std::uint8_t>(0xB8 + reg));
        imm(out, v, 4);
    }

    const Layout& L;
    const GeneratorOptions& opt;
    Rng r;
    DiffCase c;
    Addr addr;
    std::uint32_t reserved = bit(ESP);
    std::uint32_t undef = 0;
    int espDelta = 0;
    bool simd_ = false;
    bool mxcsrChanged_ = false;  // an LDMXCSR or FXRSTOR earlier in the case
    bool mmxWritten_ = false;    // TCG: an MMX register written earlier in the case
    std::uint32_t junk16_ = 0;   // what a 16-bit stack section added to ESP[31:16]
};

void CaseBuilder::chooseAddressing() {
    const std::uint32_t lo = L.data + Layout::kOperandLo + 0x200, hi = L.data + Layout::kOperandHi - 0x200;
    const std::uint32_t target = lo + r.below(hi - lo);
    const bool allow16 = opt.addr16 && L.addr16Reachable();
    unsigned kind = r.below(allow16 ? 6 : 5);
    static constexpr unsigned kBases[] = {EAX, ECX, EDX, EBX, EBP, ESI, EDI};
    switch (kind) {
        case 0:
            addr.kind = Addr::Base;
            addr.base = kBases[r.below(7)];
            c.regs[addr.base] = target;
            reserved |= bit(addr.base);
            break;
        case 1: {
            addr.kind = Addr::BaseIndex;
            addr.base = kBases[r.below(7)];
            do addr.index = kBases[r.below(7)]; while (addr.index == addr.base && r.chance(3, 4));
            addr.scale = r.below(4);
            // index values from small to wrap-around: the sum is taken modulo 2^32
            const std::uint32_t iv = r.chance(1, 2) ? static_cast<std::uint32_t>(r.range(-64, 64)) : r.u32();
            if (addr.index == addr.base) {
                // [r + r*s]: r * (1 + 2^s) must hit the target; pick an r that does
                // modulo 2^32 when possible, else fall back to plain base.
                const std::uint32_t m = 1u + (1u << addr.scale);
                std::uint32_t v = target / m;
                c.regs[addr.base] = v;
                addr.regSum = v * m;
                reserved |= bit(addr.base);
                return;
            }
            c.regs[addr.index] = iv;
            c.regs[addr.base] = target - (iv << addr.scale);
            reserved |= bit(addr.base) | bit(addr.index);
            break;
        }
        case 2: addr.kind = Addr::EspBase; return;
        case 3: addr.kind = Addr::Absolute; addr.regSum = target; return;
        case 4: {
            addr.kind = Addr::IndexOnly;
            addr.index = kBases[r.below(7)];
            addr.scale = r.below(4);
            c.regs[addr.index] = r.u32();
            reserved |= bit(addr.index);
            addr.regSum = c.regs[addr.index] << addr.scale;
            return;
        }
        default: {
            // 16-bit forms: [bx+si] [bx+di] [bp+si] [bp+di] [si] [di] [bp] [bx]
            addr.kind = Addr::A16;
            addr.rm16 = r.below(8);
            static constexpr int kB[8] = {EBX, EBX, EBP, EBP, -1, -1, EBP, EBX};
            static constexpr int kI[8] = {ESI, EDI, ESI, EDI, ESI, EDI, -1, -1};
            const int b = kB[addr.rm16], i = kI[addr.rm16];
            std::uint32_t sum = 0;
            if (i >= 0) {
                c.regs[i] = r.u32();  // upper half ignored by 16-bit addressing
                sum += c.regs[i];
                reserved |= bit(static_cast<unsigned>(i));
            }
            if (b >= 0) {
                c.regs[b] = (r.u32() & 0xFFFF0000u) | ((target - sum) & 0xFFFF);
                sum += c.regs[b];
                reserved |= bit(static_cast<unsigned>(b));
            }
            addr.regSum = sum & 0xFFFF;
            if (b < 0) {  // [si]/[di]: the register itself is the anchor
                c.regs[i] = (c.regs[i] & 0xFFFF0000u) | (target & 0xFFFF);
                addr.regSum = target & 0xFFFF;
            }
            return;
        }
    }
    addr.regSum = target;
}

void CaseBuilder::prefixesForMem(std::vector<std::uint8_t>& out, bool write) {
    if (addr.kind == Addr::A16) out.push_back(0x67);
    if (r.chance(1, 6)) {
        // Flat on both sides; a write through CS must fault (#GP) on both.
        static constexpr std::uint8_t kSeg[] = {0x26, 0x36, 0x3E, 0x2E};
        // (the draws as they always were, so case ids replay unchanged on CPUs)
        const bool csWrite = write && r.chance(1, 10) && opt.oracle == Oracle::Cpu;
        const std::uint8_t p = kSeg[r.below(write ? (csWrite ? 4 : 3) : 4)];
        out.push_back(p);
    }
}

std::uint32_t CaseBuilder::memModrm(std::vector<std::uint8_t>& out, unsigned regField, unsigned size,
                                    int espAdjust, unsigned align) {
    const std::uint32_t a = anchor() + static_cast<std::uint32_t>(espAdjust);
    const std::uint32_t winLo = L.data, winHi = L.data + Layout::kDataBytes - size;
    std::uint32_t t = a + static_cast<std::uint32_t>(r.range(-120, 120));
    if (addr.kind == Addr::Absolute || addr.kind == Addr::IndexOnly || r.chance(1, 4))
        t = L.data + Layout::kOperandLo + r.below(Layout::kOperandHi - Layout::kOperandLo - size);
    if (addr.kind == Addr::EspBase) t = std::clamp(t, a > 0x100 ? a - 0x100 : a, a + 0x100);
    t = std::clamp(t, winLo, winHi);
    if (align) {
        // TCG does not check the alignment of 16-byte SSE operands (docs/x86-diff.md).
        if (!r.chance(1, 24) || opt.oracle == Oracle::QemuTcg) t &= ~(align - 1);
    } else if (r.chance(1, 2)) {
        t &= ~(std::min(size, 4u) - 1);  // often aligned
    }
    const unsigned reg = (regField & 7) << 3;
    const std::uint32_t disp = t - a;
    const bool fits8 = static_cast<std::int32_t>(disp) >= -128 && static_cast<std::int32_t>(disp) <= 127;
    switch (addr.kind) {
        case Addr::Absolute:
            if (r.chance(1, 2)) {
                out.push_back(static_cast<std::uint8_t>(reg | 5));
            } else {  // SIB with no base and no index
                out.push_back(static_cast<std::uint8_t>(reg | 4));
                out.push_back(static_cast<std::uint8_t>((r.below(4) << 6) | (4 << 3) | 5));
            }
            imm(out, t, 4);
            return t;
        case Addr::IndexOnly:
            out.push_back(static_cast<std::uint8_t>(reg | 4));
            out.push_back(static_cast<std::uint8_t>((addr.scale << 6) | (addr.index << 3) | 5));
            imm(out, disp, 4);
            return t;
        case Addr::A16: {
            const std::uint32_t d16 = (t - addr.regSum) & 0xFFFF;
            const bool f8 = d16 < 0x80 || d16 >= 0xFF80;
            if (r.chance(1, 8)) {  // [disp16]
                out.push_back(static_cast<std::uint8_t>(reg | 6));
                imm(out, t & 0xFFFF, 2);
            } else if (d16 == 0 && addr.rm16 != 6 && r.chance(1, 2)) {
                out.push_back(static_cast<std::uint8_t>(reg | addr.rm16));
            } else if (f8 && r.chance(2, 3)) {
                out.push_back(static_cast<std::uint8_t>(0x40 | reg | addr.rm16));
                out.push_back(static_cast<std::uint8_t>(d16));
            } else {
                out.push_back(static_cast<std::uint8_t>(0x80 | reg | addr.rm16));
                imm(out, d16, 2);
            }
            return t;
        }
        default: break;
    }
    // Base, BaseIndex, EspBase
    const unsigned base = addr.kind == Addr::EspBase ? ESP : addr.base;
    const bool needSib = addr.kind != Addr::Base || base == ESP || r.chance(1, 5);
    unsigned mod;
    if (disp == 0 && base != EBP && r.chance(1, 2)) mod = 0;
    else if (fits8 && r.chance(3, 4)) mod = 1;
    else mod = 2;
    if (needSib) {
        out.push_back(static_cast<std::uint8_t>((mod << 6) | reg | 4));
        const unsigned index = addr.kind == Addr::BaseIndex ? addr.index : 4;
        const unsigned scale = addr.kind == Addr::BaseIndex ? addr.scale : r.below(4);
        out.push_back(static_cast<std::uint8_t>((scale << 6) | (index << 3) | base));
    } else {
        out.push_back(static_cast<std::uint8_t>((mod << 6) | reg | base));
    }
    if (mod == 1) out.push_back(static_cast<std::uint8_t>(disp));
    if (mod == 2) imm(out, disp, 4);
    return t;
}

bool CaseBuilder::emitForm(std::vector<std::uint8_t>& out, const Form& f) {
    if (!canRead(f.flagsRead)) return false;
    // CMPXCHG8B under TCG: the flags it must keep come out corrupted (DF included), and
    // through CS it does not fault (docs/x86-diff.md): real CPUs only.
    if (opt.oracle == Oracle::QemuTcg && f.op[0] == 0x0F && f.op[1] == 0xC7) return false;
    if (f.implicitWrites & reserved) return false;
    const bool o16 = f.w == W::Wd ? false : (f.w == W::V && r.chance(1, 3));
    const unsigned width = f.w == W::B ? 8 : (o16 ? 16 : 32);
    const unsigned bytes = width / 8;
    // Memory or register?
    bool mem = false;
    if (f.shape == Shape::RmReg || f.shape == Shape::RegRm || f.shape == Shape::RmDigit)
        mem = f.mem == Mem::MemOnly || (f.mem == Mem::Any && r.chance(1, 2));
    unsigned regField = f.digit, rmReg = 0;
    const W regW = f.w == W::Wd ? W::D : (o16 ? W::Wd : f.w);
    if (f.shape == Shape::RmReg || f.shape == Shape::RegRm) {
        // movzx/movsx: the register operand is full width, the r/m is narrow
        const bool narrowRm = f.op[0] == 0x0F && (f.op[1] == 0xB6 || f.op[1] == 0xBE || f.op[1] == 0xB7 || f.op[1] == 0xBF);
        const W rw = narrowRm ? (r.chance(1, 4) ? W::Wd : W::D) : regW;
        if (f.writesReg) {
            regField = pickWritable(rw);
            if (regField == 8) return false;
        } else {
            regField = r.below(8);
        }
        if (narrowRm && rw == W::Wd) out.push_back(0x66);
    }
    if (!mem && (f.shape == Shape::RmReg || f.shape == Shape::RegRm || f.shape == Shape::RmDigit)) {
        const W rmW = f.w == W::Wd ? W::Wd : (f.w == W::B ? W::B : regW);
        if (f.writesRm) {
            rmReg = pickWritable(rmW);
            if (rmReg == 8) return false;
        } else {
            rmReg = r.below(8);
        }
        // xchg/xadd/cmpxchg write both
        if (f.writesRm && f.writesReg && !writable(regField, regW)) return false;
    }
    if ((f.shape == Shape::RmReg) && f.writesReg && !writable(regField, regW)) return false;

    std::uint32_t count = 0;  // shift count
    const bool shiftLike = f.special == Special::Shift || f.special == Special::ShiftCl ||
                           f.special == Special::Shift1 || f.special == Special::DoubleShift ||
                           f.special == Special::DoubleShiftCl;
    if (shiftLike) {
        static constexpr std::uint32_t kCounts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 255};
        count = f.special == Special::Shift1 ? 1 : (r.chance(1, 2) ? kCounts[r.below(14)] : r.below(256));
        if (f.special == Special::DoubleShift || f.special == Special::DoubleShiftCl) {
            // counts beyond the operand size give an undefined result: keep within it
            if (width == 16 && (count & 31) > 16) count = r.below(17);
        }
        if (f.special == Special::ShiftCl || f.special == Special::DoubleShiftCl) {
            if (reserved & bit(ECX)) return false;
            out.push_back(0xB1);  // mov cl, count
            out.push_back(static_cast<std::uint8_t>(count));
        }
    }
    std::uint32_t immValue = r.edge();
    if (f.special == Special::Aam && r.chance(9, 10) && (immValue & 0xFF) == 0) immValue = 10;
    if (shiftLike && f.imm == Imm::Ib) immValue = count;

    // prefixes
    // LOCK on a memory RMW form; rarely on a register form or a non-RMW form (#UD)
    const bool lock = (mem && f.lockable && r.chance(1, 4)) || (r.chance(1, 500) && opt.oracle == Oracle::Cpu);
    if (lock) out.push_back(0xF0);
    if (o16) out.push_back(0x66);
    if (mem) prefixesForMem(out, f.writesRm);
    for (unsigned i = 0; i < f.opLen; ++i) {
        std::uint8_t b = f.op[i];
        if (f.shape == Shape::OpReg && i + 1 == f.opLen) {
            unsigned reg = pickWritable(regW);
            if (f.op[i] == 0x90 && f.implicitWrites == bit(EAX) && reg == 8) return false;
            if (reg == 8) return false;
            if (f.writesReg && !writable(reg, regW)) return false;
            b = static_cast<std::uint8_t>(b + reg);
        }
        out.push_back(b);
    }
    if (f.shape == Shape::RmReg || f.shape == Shape::RegRm || f.shape == Shape::RmDigit) {
        if (mem) {
            unsigned size = bytes;
            if (f.op[0] == 0x0F && f.op[1] == 0xC7) size = 8;
            memModrm(out, regField, size);
        } else {
            out.push_back(static_cast<std::uint8_t>(0xC0 | ((regField & 7) << 3) | rmReg));
        }
    }
    switch (f.imm) {
        case Imm::None: break;
        case Imm::Ib: imm(out, immValue, 1); break;
        case Imm::Iw: imm(out, immValue, 2); break;
        case Imm::Iz: imm(out, immValue, o16 ? 2 : 4); break;
    }

    // flags
    if (shiftLike) {
        const unsigned kind = f.digit;
        const unsigned masked = count & 31;
        if (f.special == Special::DoubleShift || f.special == Special::DoubleShiftCl) {
            if (masked != 0) wroteFlags(ALL, AF | (masked != 1 ? OF : 0));
        } else if (kind <= 1) {  // ROL ROR
            if (masked != 0) wroteFlags(CF | OF, masked != 1 ? OF : 0);
        } else if (kind <= 3) {  // RCL RCR
            if (masked != 0) wroteFlags(CF | OF, masked != 1 ? OF : 0);
        } else {  // SHL SHR SAL SAR
            if (masked != 0) {
                std::uint32_t u = AF | (masked != 1 ? OF : 0);
                if (kind != 7 && masked >= width) u |= CF;
                wroteFlags(ALL, u);
            }
        }
    } else {
        wroteFlags(f.flagsWritten, f.flagsUndef);
    }
    return true;
}

bool CaseBuilder::emitString(std::vector<std::uint8_t>& out) {
    if (reserved & (bit(ESI) | bit(EDI) | bit(ECX))) return false;
    // MOVS CMPS STOS LODS SCAS, byte or word/dword
    static constexpr std::uint8_t kOps[] = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};
    const std::uint8_t op = static_cast<std::uint8_t>(kOps[r.below(5)] + r.below(2));
    const bool compares = op == 0xA6 || op == 0xA7 || op == 0xAE || op == 0xAF;
    if ((op == 0xAC || op == 0xAD) && (reserved & bit(EAX))) return false;  // lods writes eAX
    const std::uint32_t mid = L.data + (Layout::kOperandLo + Layout::kOperandHi) / 2;
    // 16-bit address size (67h): SI, DI and CX count, the upper halves stay untouched.
    const bool a16 = opt.addr16 && L.addr16Reachable() && r.chance(1, 5);
    const std::uint32_t upper = a16 ? (r.u32() & 0xFFFF0000u) : 0;
    const std::uint32_t esi = mid - 0x600 + r.below(0x400);
    movImm32(out, ESI, upper | esi);
    // usually apart, sometimes overlapping source and destination
    movImm32(out, EDI, (a16 ? r.u32() & 0xFFFF0000u : 0) |
                           (r.chance(1, 6) ? esi + r.below(16) : mid + 0x200 + r.below(0x400)));
    const std::uint32_t count = r.chance(1, 8) ? 0 : r.below(24);
    movImm32(out, ECX, (a16 ? r.u32() & 0xFFFF0000u : 0) | count);
    if (r.chance(1, 3)) out.push_back(r.chance(1, 2) ? 0xFC : 0xFD);  // cld / std
    const bool rep = r.chance(2, 3);
    if (rep) out.push_back(r.chance(1, 2) ? 0xF3 : 0xF2);
    if (a16) out.push_back(0x67);
    if (r.chance(1, 4)) out.push_back(0x66);
    if (r.chance(1, 4) && op != 0xAA && op != 0xAB && op != 0xAE && op != 0xAF) {
        static constexpr std::uint8_t kSeg[] = {0x26, 0x2E, 0x36, 0x3E};
        out.push_back(kSeg[r.below(4)]);  // overrides the DS:ESI source
    }
    out.push_back(op);
    if (compares && (!rep || count != 0)) wroteFlags(ALL, 0);  // REP with ECX=0: none
    return true;
}

bool CaseBuilder::emitStack(std::vector<std::uint8_t>& out) {
    if (espDelta < -0x300 || espDelta > 0x300) return false;
    switch (r.below(10)) {
        case 0: {  // push r / pop r, 32 or 16 bits
            const bool o16 = r.chance(1, 4);
            if (o16) out.push_back(0x66);
            if (r.chance(1, 2)) {
                out.push_back(static_cast<std::uint8_t>(0x50 + r.below(8)));
                espDelta -= o16 ? 2 : 4;
            } else {
                const unsigned reg = pickWritable(W::D);
                if (reg == 8) return false;
                out.push_back(static_cast<std::uint8_t>(0x58 + reg));
                espDelta += o16 ? 2 : 4;
            }
            return true;
        }
        case 1:  // push imm8 / imm32 (sometimes 16-bit)
            if (r.chance(1, 4)) {
                out.push_back(0x66);
                out.push_back(0x68);
                imm(out, r.edge(), 2);
                espDelta -= 2;
            } else if (r.chance(1, 2)) {
                out.push_back(0x6A);
                imm(out, r.edge(), 1);
                espDelta -= 4;
            } else {
                out.push_back(0x68);
                imm(out, r.edge(), 4);
                espDelta -= 4;
            }
            return true;
        case 2:  // push m / pop m
            if (r.chance(1, 2)) {
                prefixesForMem(out, false);
                out.push_back(0xFF);
                memModrm(out, 6, 4);
                espDelta -= 4;
            } else {
                prefixesForMem(out, true);
                out.push_back(0x8F);
                memModrm(out, 0, 4, 4);  // the address uses ESP after the pop
                espDelta += 4;
            }
            return true;
        case 3: {  // pushf (stores every flag: none may be undefined) / pushad, 32 or 16 bits
            const bool o16 = r.chance(1, 4);
            if (o16) out.push_back(0x66);
            const bool flags = canRead(ALL) && r.chance(1, 2);
            out.push_back(flags ? 0x9C : 0x60);
            espDelta -= (flags ? 4 : 32) / (o16 ? 2 : 1);
            return true;
        }
        case 4: {  // popad / popaw: every register but ESP
            if (reserved & ~bit(ESP)) return false;
            if (espDelta > 0x300 - 32) return false;
            const bool o16 = r.chance(1, 4);
            if (o16) out.push_back(0x66);
            out.push_back(0x61);
            espDelta += o16 ? 16 : 32;
            return true;
        }
        case 5: {  // push imm32 ; popfd: IF and IOPL requests are ignored at CPL 3
            out.push_back(0x68);
            const std::uint32_t v = (r.u32() & (ALL | DF | 0x200 | 0x3000)) | 0x2;
            imm(out, v, 4);
            out.push_back(0x9D);
            wroteFlags(ALL | DF, 0);
            return true;
        }
        case 6: {  // mov ebp, frame ; [o16] enter size, level ; [insn] ; leave
            if (reserved & bit(EBP)) return false;
            const std::uint32_t frame = L.data + Layout::kOperandLo + 0x800 + r.below(0x800);
            movImm32(out, EBP, frame);
            const unsigned size = r.chance(1, 3) ? 0 : r.below(0x100);
            const unsigned level = r.chance(1, 2) ? 0 : r.below(6);
            // o16 ENTER on this 32-bit stack (SDM Vol. 2A ENTER): word pushes, the nested
            // frame pointers read as words at EBP-2, EBP-4, ..., and only BP written, so
            // EBP keeps the frame's upper half while FrameTemp is the full ESP.
            const bool o16 = r.chance(1, 3);
            const unsigned word = o16 ? 2 : 4;
            const unsigned frameBytes = word + word * level + size;
            if (o16) out.push_back(0x66);
            out.push_back(0xC8);
            imm(out, size, 2);
            out.push_back(static_cast<std::uint8_t>(level));
            reserved |= bit(EBP);
            const std::uint32_t saved = reserved;
            if (r.chance(1, 2)) {
                const int before = espDelta;
                espDelta -= static_cast<int>(frameBytes);
                emitOne(out, false);
                espDelta = before;
            }
            reserved = saved & ~bit(EBP);
            if (o16) {
                // LEAVE would load ESP from EBP, whose upper half is the frame's and not
                // the stack's: drop the frame with LEA (no flags) and keep EBP as the
                // result to compare.
                out.insert(out.end(), {0x8D, 0xA4, 0x24});  // lea esp, [esp + disp32]
                imm(out, frameBytes, 4);
            } else {
                out.push_back(0xC9);
            }
            return true;
        }
        case 7:  // call +2 ; jmp +1 ; ret   (and ret imm16)
            if (r.chance(1, 2)) {
                out.insert(out.end(), {0xE8, 2, 0, 0, 0, 0xEB, 1, 0xC3});
            } else {
                const unsigned n = r.below(9) * 4;
                out.insert(out.end(), {0xE8, 2, 0, 0, 0, 0xEB, 3, 0xC2});
                imm(out, n, 2);
                espDelta += static_cast<int>(n);
            }
            return true;
        case 8: {  // xlat with ebx at a table
            if (reserved & (bit(EBX) | bit(EAX))) return false;
            movImm32(out, EBX, L.data + Layout::kOperandLo + r.below(0x1000));
            out.push_back(0xD7);
            return true;
        }
        default: {
            if (r.chance(1, 3) && canRead(OF)) {  // into: #OF (a trap) when OF is set
                out.push_back(0xCE);
                return true;
            }
            if (r.chance(1, 2)) {  // bt* [m], r with a small known bit offset
                const unsigned reg = pickWritable(W::D);
                if (reg == 8) return false;
                movImm32(out, reg, static_cast<std::uint32_t>(r.range(-200, 200)));
                static constexpr std::uint8_t kBt[] = {0xA3, 0xAB, 0xB3, 0xBB};
                const bool lock = r.chance(1, 4);  // lock (bt itself: #UD)
                const std::size_t lockAt = out.size();
                prefixesForMem(out, true);
                const std::uint8_t op = kBt[r.below(4)];
                if (lock && (op != 0xA3 || opt.oracle == Oracle::Cpu))
                    out.insert(out.begin() + static_cast<std::ptrdiff_t>(lockAt), 0xF0);
                out.insert(out.end(), {0x0F, op});
                memModrm(out, reg, 4);
                wroteFlags(ALL, OF | SF | ZF | AF | PF);
                return true;
            }
            // bound r32, m64 (may raise #BR)
            prefixesForMem(out, false);
            out.push_back(0x62);
            memModrm(out, r.below(8), 8);
            return true;
        }
    }
}

// ---- 16-bit stacks (SS.B = 0) ----
//
// A section on the LDT's 16-bit data segment (Layout::kStack16Selector, base
// Layout::stack16Base(), limit 0xFFFF): SS switched by POP SS, MOV SS, r or MOV SS, m;
// sometimes ESP[31:16] set to junk there (a 16-bit stack must ignore and keep them);
// 1-4 stack instructions on SS:SP; SS switched back to the flat 0x2B (POP SS increments
// SP by the old, 16-bit, stack size); ESP[31:16] put back. Now and then the switch loads
// a selector that must fault (#GP: null, RPL != CPL, a code or DPL-0 segment, beyond
// the LDT's limit), and the case ends there. Its instructions draw from the section's
// own random stream (build()), so cases without one are unchanged.

// mov ss with `sel`: push imm8 + pop ss (o32 or o16), mov ss, r16 (junk in the upper
// half), or mov ss, m16 through DS (SS:SP reads the pushed value on a 16-bit stack too).
bool CaseBuilder::loadSs(std::vector<std::uint8_t>& out, std::uint16_t sel) {
    switch (r.below(5)) {
        case 0: case 1:  // push imm8 (4 bytes) ; pop ss (4 bytes)
            out.insert(out.end(), {0x6A, static_cast<std::uint8_t>(sel), 0x17});
            return true;
        case 2:  // o16: push word ; pop ss (2 bytes each)
            out.insert(out.end(), {0x66, 0x6A, static_cast<std::uint8_t>(sel), 0x66, 0x17});
            return true;
        case 3: {  // mov r32, junk:sel ; [66] mov ss, r16
            const unsigned reg = pickWritable(W::D);
            if (reg == 8) {
                out.insert(out.end(), {0x6A, static_cast<std::uint8_t>(sel), 0x17});
                return true;
            }
            movImm32(out, reg, (r.u32() & 0xFFFF0000u) | sel);
            c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
            if (r.chance(1, 3)) out.push_back(0x66);
            out.insert(out.end(), {0x8E, static_cast<std::uint8_t>(0xD0 | reg)});
            return true;
        }
        default: {  // mov dword [abs], junk:sel ; mov ss, [abs]
            const std::uint32_t at = L.data + Layout::kOperandLo + r.below(Layout::kOperandHi - Layout::kOperandLo - 4);
            out.insert(out.end(), {0xC7, 0x05});
            imm(out, at, 4);
            imm(out, (r.u32() & 0xFFFF0000u) | sel, 4);
            c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
            out.insert(out.end(), {0x8E, 0x15});
            imm(out, at, 4);
            return true;
        }
    }
}

void CaseBuilder::emitStack16(std::vector<std::uint8_t>& out) {
    if (!L.stack16Fits() || espDelta < -0x300 || espDelta > 0x300) return;
    const auto mark = [&] { c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef); };
    c.stack16 = true;
    mark();
    if (r.chance(1, 12)) {
        // Selectors POP/MOV SS must refuse at CPL 3 (#GP): null (RPL 0 and 3), the LDT
        // entry with RPL != CPL, LDT index 1 (beyond the one-entry LDT), the kernel data
        // segment, the 32- and 64-bit user code segments, user data with RPL 2.
        static constexpr std::uint16_t kBad[] = {0x00, 0x03, 0x04, 0x06, 0x0F, 0x1B, 0x23, 0x2A, 0x33};
        loadSs(out, kBad[r.below(sizeof kBad / sizeof kBad[0])]);
        return;  // the case ends in #GP here
    }
    loadSs(out, Layout::kStack16Selector);
    std::uint32_t junk = 0;  // added to ESP[31:16] while on the 16-bit stack
    if (r.chance(1, 3)) {
        junk = (1 + r.below(0xFFFF)) << 16;
        mark();
        out.insert(out.end(), {0x8D, 0xA4, 0x24});  // lea esp, [esp + junk]
        imm(out, junk, 4);
    }
    junk16_ = junk;
    const unsigned n = 1 + r.below(4);
    for (unsigned i = 0; i < n; ++i) {
        if (espDelta < -0x300 || espDelta > 0x300) break;
        for (int tries = 0; tries < 8; ++tries) {
            const std::size_t size = out.size();
            const auto entries = c.undefinedBefore.size();
            const std::uint32_t undefBefore = undef, reservedBefore = reserved;
            const int espBefore = espDelta;
            mark();
            if (emitOn16(out)) break;
            out.resize(size);
            c.undefinedBefore.resize(entries);
            undef = undefBefore;
            reserved = reservedBefore;
            espDelta = espBefore;
        }
    }
    mark();
    loadSs(out, Layout::kUserDs);
    if (junk) {
        mark();
        out.insert(out.end(), {0x8D, 0xA4, 0x24});  // lea esp, [esp - junk]
        imm(out, 0u - junk, 4);
    }
    junk16_ = 0;
}

// One instruction (or a pair) on the 16-bit stack; espDelta follows SP.
bool CaseBuilder::emitOn16(std::vector<std::uint8_t>& out) {
    const std::uint32_t here = L.snippet() + static_cast<std::uint32_t>(out.size());
    const bool code16 = L.code16Reachable();
    switch (r.below(12)) {
        case 0: {  // push r16/r32, ESP and SP included (ESP[31:16] as they are)
            const bool o16 = r.chance(1, 3);
            if (o16) out.push_back(0x66);
            out.push_back(static_cast<std::uint8_t>(0x50 + r.below(8)));
            espDelta -= o16 ? 2 : 4;
            return true;
        }
        case 1: {  // pop r16/r32 (not ESP)
            const unsigned reg = pickWritable(W::D);
            if (reg == 8) return false;
            const bool o16 = r.chance(1, 3);
            if (o16) out.push_back(0x66);
            out.push_back(static_cast<std::uint8_t>(0x58 + reg));
            espDelta += o16 ? 2 : 4;
            return true;
        }
        case 2:  // push imm8 / imm16 / imm32
            switch (r.below(4)) {
                case 0: out.push_back(0x6A); imm(out, r.edge(), 1); espDelta -= 4; break;
                case 1: out.insert(out.end(), {0x66, 0x6A}); imm(out, r.edge(), 1); espDelta -= 2; break;
                case 2: out.push_back(0x68); imm(out, r.edge(), 4); espDelta -= 4; break;
                default: out.insert(out.end(), {0x66, 0x68}); imm(out, r.edge(), 2); espDelta -= 2; break;
            }
            return true;
        case 3: {  // pushf (every flag defined) / push imm ; popf, 32 or 16 bits
            const bool o16 = r.chance(1, 3);
            if (canRead(ALL) && r.chance(1, 2)) {
                if (o16) out.push_back(0x66);
                out.push_back(0x9C);
                espDelta -= o16 ? 2 : 4;
                return true;
            }
            // IF and IOPL requests are ignored at CPL 3; no TF, NT, AC, ID
            const std::uint32_t v = (r.u32() & (ALL | DF | 0x200 | 0x3000)) | 0x2;
            if (o16) out.push_back(0x66);
            out.push_back(0x68);
            imm(out, v, o16 ? 2 : 4);
            c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
            if (o16) out.push_back(0x66);
            out.push_back(0x9D);
            wroteFlags(ALL | DF, 0);
            return true;
        }
        case 4: {  // pusha / popa / pusha ; popa (the pair restores every register)
            const bool o16 = r.chance(1, 3);
            const unsigned bytes = o16 ? 16 : 32;
            const unsigned kind = r.below(3);
            if (kind == 1 && (reserved & ~bit(ESP))) return false;
            if (kind != 1) {
                if (o16) out.push_back(0x66);
                out.push_back(0x60);
                espDelta -= static_cast<int>(bytes);
            }
            if (kind != 0) {
                if (kind == 2) c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
                if (o16) out.push_back(0x66);
                out.push_back(0x61);
                espDelta += static_cast<int>(bytes);
            }
            return true;
        }
        case 5: {  // call +n ; jmp over ; ret [imm16], o32 or (code below 64 KiB) o16
            const bool o16 = code16 && r.chance(1, 2);
            const bool withImm = r.chance(1, 2);
            const unsigned n = withImm ? r.below(9) * (o16 ? 2 : 4) : 0;
            const std::uint8_t retLen = static_cast<std::uint8_t>((o16 ? 1 : 0) + (withImm ? 3 : 1));
            if (o16) out.insert(out.end(), {0x66, 0xE8, 2, 0});
            else out.insert(out.end(), {0xE8, 2, 0, 0, 0});
            out.insert(out.end(), {0xEB, retLen});
            if (o16) out.push_back(0x66);
            if (withImm) {
                out.push_back(0xC2);
                imm(out, n, 2);
            } else {
                out.push_back(0xC3);
            }
            espDelta += static_cast<int>(n);
            return true;
        }
        case 6: {  // far call 0x23:target ; jmp over ; retf [imm16]
            // QEMU 7.2's TCG makes the stack accesses of far CALL/RET (seg_helper.c
            // PUSHL_RA/POPL_RA: cpu_st*_kernel) as supervisor accesses even at CPL 3: with
            // SMAP the push faults in the kernel's eyes and L1's kernel oopses
            // (docs/x86-diff.md). Real CPUs only.
            if (opt.oracle == Oracle::QemuTcg) return false;
            const bool o16 = code16 && r.chance(1, 3);
            const bool withImm = r.chance(1, 2);
            const unsigned n = withImm ? r.below(5) * (o16 ? 2 : 4) : 0;
            const std::uint8_t retLen = static_cast<std::uint8_t>((o16 ? 1 : 0) + (withImm ? 3 : 1));
            const unsigned callLen = o16 ? 6 : 7;
            // An o32 far CALL pushes CS as a doubleword "padded with 16 high-order bits"
            // (SDM Vol. 2A CALL): what CPUs write there is not pinned down (for PUSH Sreg
            // some write 2 bytes only), so those two bytes are not compared.
            if (!o16)
                c.ignoredMemory.emplace_back(c.regs[ESP] + static_cast<std::uint32_t>(espDelta) - 2 - L.data, 2);
            if (o16) out.push_back(0x66);
            out.push_back(0x9A);
            imm(out, here + callLen + 2, o16 ? 2 : 4);
            imm(out, Layout::kUserCs, 2);
            out.insert(out.end(), {0xEB, retLen});
            if (o16) out.push_back(0x66);
            if (withImm) {
                out.push_back(0xCA);
                imm(out, n, 2);
            } else {
                out.push_back(0xCB);
            }
            espDelta += static_cast<int>(n);
            return true;
        }
        case 7: {  // mov ebp, junk:frame ; [66] enter size, level ; [push] ; [66] leave
            if (reserved & bit(EBP)) return false;
            // On a 16-bit stack (SDM Vol. 2A ENTER/LEAVE): nested frame pointers are read at
            // SS:BP-2/-4..., o16 ENTER writes BP only and o32 ENTER all of EBP :=
            // ESP[31:16]:SP (finding 6), LEAVE sets SP <- BP and keeps ESP[31:16].
            // EBP[31:16] are junk.
            const std::uint32_t frame = L.data + Layout::kOperandLo + 0x800 + r.below(0x800);
            const std::uint32_t upper = r.chance(1, 2) ? (r.u32() & 0xFFFF0000u) : (frame & 0xFFFF0000u);
            const unsigned size = r.chance(1, 3) ? 0 : r.below(0x100);
            const unsigned level = r.chance(1, 2) ? 0 : r.below(6);
            const bool enter16 = r.chance(1, 3);
            const bool leave16 = r.chance(3, 4) ? enter16 : !enter16;
            movImm32(out, EBP, upper | (frame & 0xFFFF));
            c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
            if (enter16) out.push_back(0x66);
            out.push_back(0xC8);
            imm(out, size, 2);
            out.push_back(static_cast<std::uint8_t>(level));
            if (r.chance(1, 2)) {  // something pushed in the frame (LEAVE drops it)
                c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
                if (r.chance(1, 2)) out.push_back(0x66);
                out.push_back(static_cast<std::uint8_t>(0x50 + r.below(8)));
            }
            c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
            if (leave16) out.push_back(0x66);
            out.push_back(0xC9);
            espDelta += (leave16 ? 2 : 4) - (enter16 ? 2 : 4);
            return true;
        }
        case 8: {  // push m / pop m, 32 or 16 bits, at an absolute address (DS)
            const bool o16 = r.chance(1, 3);
            const std::uint32_t at = L.data + Layout::kOperandLo + r.below(Layout::kOperandHi - Layout::kOperandLo - 4);
            if (o16) out.push_back(0x66);
            if (r.chance(1, 2)) {
                out.insert(out.end(), {0xFF, 0x35});
                espDelta -= o16 ? 2 : 4;
            } else {
                out.insert(out.end(), {0x8F, 0x05});
                espDelta += o16 ? 2 : 4;
            }
            imm(out, at, 4);
            return true;
        }
        case 9: {  // o16 push ss/ds/es (the 16-bit stack's selector too), sometimes popped
            // into SS (the same selector again) or ES (0x2B again). (A 32-bit push of a
            // segment register writes 2 or 4 bytes by implementation: not generated.)
            static constexpr std::uint8_t kPush[] = {0x16, 0x1E, 0x06};
            const std::uint8_t p = kPush[r.below(3)];
            out.insert(out.end(), {0x66, p});
            espDelta -= 2;
            if (r.chance(1, 2)) {
                c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
                out.insert(out.end(), {0x66, static_cast<std::uint8_t>(p == 0x16 ? 0x17 : 0x07)});
                espDelta += 2;
            }
            return true;
        }
        case 10: {  // push sp/esp ; pop sp/esp: SP (and ESP[31:16]) come back as they were
            static constexpr std::uint8_t kPairs[][4] = {
                {0x66, 0x54, 0x66, 0x5C}, {0x54, 0x5C, 0, 0}, {0x54, 0x66, 0x5C, 0}};
            const auto& p = kPairs[r.below(3)];
            for (unsigned i = 0; i < 4 && p[i]; ++i) out.push_back(p[i]);
            return true;
        }
        default: {  // pushf ; popf as a pair (flags written back as they are)
            if (!canRead(ALL)) return false;
            const bool o16 = r.chance(1, 3);
            if (o16) out.push_back(0x66);
            out.push_back(0x9C);
            c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(out.size()), undef);
            if (o16) out.push_back(0x66);
            out.push_back(0x9D);
            return true;
        }
    }
}

bool CaseBuilder::emitBranch(std::vector<std::uint8_t>& out) {
    // jcc / jecxz / loop over one instruction, whose effects become conditional.
    std::vector<std::uint8_t> inner;
    const std::uint32_t undefBefore = undef, reservedBefore = reserved;
    const int espBefore = espDelta;
    const unsigned kind = r.below(4);
    std::uint32_t reads = 0;
    unsigned cc = r.below(16);
    if (kind <= 1) reads = kCondReads[cc];
    if (!canRead(reads)) return false;
    if (kind == 3 && (reserved & bit(ECX))) return false;
    if (!emitOne(inner, false) || espDelta != espBefore) {
        undef = undefBefore;
        reserved = reservedBefore;
        espDelta = espBefore;
        return false;
    }
    undef |= undefBefore;  // conditional: what was undefined may still be
    if (inner.size() > 127) return false;
    switch (kind) {
        case 0: out.push_back(static_cast<std::uint8_t>(0x70 + cc)); out.push_back(static_cast<std::uint8_t>(inner.size())); break;
        case 1: out.insert(out.end(), {0x0F, static_cast<std::uint8_t>(0x80 + cc)}); imm(out, static_cast<std::uint32_t>(inner.size()), 4); break;
        // jecxz / loop; with 67h they test and count CX only
        case 2:
            if (opt.addr16 && r.chance(1, 3)) out.push_back(0x67);
            out.push_back(0xE3);
            out.push_back(static_cast<std::uint8_t>(inner.size()));
            break;
        default:
            if (opt.addr16 && r.chance(1, 3)) out.push_back(0x67);
            out.push_back(0xE2);
            out.push_back(static_cast<std::uint8_t>(inner.size()));
            break;
    }
    out.insert(out.end(), inner.begin(), inner.end());
    return true;
}

bool CaseBuilder::emitFpu(std::vector<std::uint8_t>& out) {
    c.usesFpu = true;
    switch (r.below(12)) {
        case 0: case 1: {  // loads and arithmetic with memory operands
            static constexpr std::uint8_t kOps[][3] = {
                {0xD9, 0, 4}, {0xDD, 0, 8}, {0xDB, 5, 10}, {0xDF, 0, 2}, {0xDB, 0, 4}, {0xDF, 5, 8},
                {0xDF, 4, 10}, {0xD8, 0xFF, 4}, {0xDC, 0xFF, 8}, {0xDA, 0xFF, 4}, {0xDE, 0xFF, 2}};
            const auto& o = kOps[r.below(11)];
            const unsigned reg = o[1] == 0xFF ? r.below(8) : o[1];
            prefixesForMem(out, false);
            out.push_back(o[0]);
            memModrm(out, reg, o[2]);
            return true;
        }
        case 2: {  // stores
            static constexpr std::uint8_t kOps[][3] = {
                {0xD9, 2, 4}, {0xD9, 3, 4}, {0xDD, 2, 8}, {0xDD, 3, 8}, {0xDB, 7, 10}, {0xDF, 2, 2},
                {0xDF, 3, 2}, {0xDB, 2, 4}, {0xDB, 3, 4}, {0xDF, 7, 8}, {0xDF, 6, 10}, {0xD9, 7, 2},
                {0xDD, 7, 2}};
            const auto& o = kOps[r.below(13)];
            prefixesForMem(out, true);
            out.push_back(o[0]);
            memModrm(out, o[1], o[2]);
            return true;
        }
        case 3: case 4: case 5: {  // register arithmetic and stack ops
            static constexpr std::uint8_t kOps[] = {0xD8, 0xDC, 0xDE, 0xD9, 0xDD};
            const std::uint8_t op = kOps[r.below(5)];
            std::uint8_t modrm = static_cast<std::uint8_t>(0xC0 + r.below(64));
            if (op == 0xD9) {
                static constexpr std::uint8_t kD9[] = {0xC0, 0xC8, 0xD0, 0xE0, 0xE1, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA,
                                                       0xEB, 0xEC, 0xED, 0xEE, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5,
                                                       0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF};
                modrm = kD9[r.below(sizeof kD9)];
                if (modrm == 0xC0 || modrm == 0xC8) modrm = static_cast<std::uint8_t>(modrm + r.below(8));
            } else if (op == 0xDD) {
                modrm = static_cast<std::uint8_t>(0xC0 + r.below(48));
            } else if (op == 0xDE && (modrm & 0xF8) == 0xD8) {
                modrm = 0xD9;  // FCOMPP
            }
            out.push_back(op);
            out.push_back(modrm);
            return true;
        }
        case 6: {  // FCOMI family: ZF PF CF written, OF SF AF cleared
            out.push_back(r.chance(1, 2) ? 0xDB : 0xDF);
            out.push_back(static_cast<std::uint8_t>((r.chance(1, 2) ? 0xE8 : 0xF0) + r.below(8)));
            wroteFlags(ALL, opt.oracle == Oracle::QemuTcg ? OF | SF | AF : 0);
            return true;
        }
        case 7: {  // FCMOVcc
            if (!canRead(CF | ZF | PF)) return false;
            out.push_back(r.chance(1, 2) ? 0xDA : 0xDB);
            out.push_back(static_cast<std::uint8_t>(0xC0 + r.below(32)));
            return true;
        }
        case 8: {  // FNSTSW AX, then often SAHF to reach the flags
            if (reserved & bit(EAX)) return false;
            out.insert(out.end(), {0xDF, 0xE0});
            if (r.chance(1, 2)) {
                out.push_back(0x9E);
                wroteFlags(SF | ZF | AF | PF | CF, 0);
            }
            return true;
        }
        case 9: {  // FLDCW from a word the snippet writes; sometimes unmasks exceptions
            std::uint16_t cw = static_cast<std::uint16_t>((r.u32() & 0x0F00) | 0x3F);
            // TCG: the reserved bit 6 as CPUs read it, and no unmasking (TCG neither sets
            // ES/B for a pending exception FLDCW unmasks nor masks all after FNSTENV).
            if (r.chance(1, 5) && opt.oracle == Oracle::Cpu) cw = static_cast<std::uint16_t>(cw & ~(1u << r.below(6)));
            if (opt.oracle == Oracle::QemuTcg) cw |= 0x40;
            std::vector<std::uint8_t> pre, address;
            prefixesForMem(pre, true);
            memModrm(address, 0, 2);
            out.insert(out.end(), pre.begin(), pre.end());
            out.insert(out.end(), {0x66, 0xC7});  // mov word [m], cw
            out.insert(out.end(), address.begin(), address.end());
            imm(out, cw, 2);
            out.insert(out.end(), pre.begin(), pre.end());
            out.push_back(0xD9);  // fldcw [m]
            address[0] = static_cast<std::uint8_t>(address[0] | (5 << 3));
            out.insert(out.end(), address.begin(), address.end());
            return true;
        }
        case 10:
            if (r.chance(1, 3)) {
                // FNSTENV / FNSAVE (32- or 16-bit layout). The code and data selectors
                // in them differ by environment (0x23/0x2B natively), so those two
                // fields are left out of the memory comparison.
                const bool o16 = r.chance(1, 3) || opt.oracle == Oracle::QemuTcg, save = r.chance(1, 2);
                const unsigned env = o16 ? 14 : 28;
                prefixesForMem(out, true);
                if (o16) out.push_back(0x66);
                out.push_back(save ? 0xDD : 0xD9);
                const std::uint32_t at = memModrm(out, 6, env + (save ? 80 : 0));
                const std::uint32_t w = at - L.data;
                c.ignoredMemory.emplace_back(w + (o16 ? 8 : 16), 2);   // FCS
                c.ignoredMemory.emplace_back(w + (o16 ? 12 : 24), 2);  // FDS
                // TCG also moves FIP on control instructions (FNSTSW, FLDCW, ...).
                if (opt.oracle == Oracle::QemuTcg) c.ignoredMemory.emplace_back(w + (o16 ? 6 : 12), o16 ? 2 : 4);
                return true;
            }
            out.push_back(0x9B);  // FWAIT
            return true;
        default:
            out.insert(out.end(), {0xDB, static_cast<std::uint8_t>(r.chance(1, 2) ? 0xE2 : 0xE3)});  // FNCLEX/FNINIT
            return true;
    }
}

// ---- MMX / SSE / SSE2 (SDM Vol. 2 opcode map Table A-3) ----

enum class RC : std::uint8_t { None, Mm, Xmm, Gpr };
struct SimdForm {
    std::uint8_t prefix;  // 0, 66, F3, F2
    std::uint8_t op;      // after 0F
    RC reg, rm;           // register classes of ModRM.reg and of a register ModRM.rm
    std::uint8_t mem;     // memory operand bytes; 0: register form only
    bool aligned;         // the memory operand must be 16-byte aligned
    bool regForm;         // the register form exists
    std::uint8_t imm;     // 0 none, 1 imm8, 2 shift count, 3 compare predicate
    std::uint8_t digit;   // ModRM.reg is this /digit (reg == None)
    bool writesReg, writesRm, writesMem, flags;
};

std::vector<SimdForm> buildSimdForms() {
    std::vector<SimdForm> t;
    auto add = [&](std::uint8_t p, std::uint8_t op, RC reg, RC rm, std::uint8_t mem, bool al, bool regForm,
                   std::uint8_t imm = 0, bool writesReg = false, bool writesRm = false, bool writesMem = false,
                   bool flags = false, std::uint8_t digit = 0) {
        t.push_back(SimdForm{p, op, reg, rm, mem, al, regForm, imm, digit, writesReg, writesRm, writesMem, flags});
    };
    // Integer forms: MMX without a prefix, SSE2 on XMM with 66.
    for (unsigned op = 0x60; op <= 0xFE; ++op) {
        const bool binary = (op <= 0x6B) || (op >= 0x74 && op <= 0x76) || (op >= 0xD1 && op <= 0xD5) ||
                            (op >= 0xD8 && op <= 0xE5) || (op >= 0xE8 && op <= 0xEF) ||
                            (op >= 0xF1 && op <= 0xF6) || (op >= 0xF8);
        if (!binary) continue;
        const auto o = static_cast<std::uint8_t>(op);
        add(0, o, RC::Mm, RC::Mm, 8, false, true);
        add(0x66, o, RC::Xmm, RC::Xmm, 16, true, true);
    }
    add(0x66, 0x6C, RC::Xmm, RC::Xmm, 16, true, true);
    add(0x66, 0x6D, RC::Xmm, RC::Xmm, 16, true, true);
    for (std::uint8_t d : {2, 4, 6}) {
        add(0, 0x71, RC::None, RC::Mm, 0, false, true, 2, false, true, false, false, d);
        add(0x66, 0x71, RC::None, RC::Xmm, 0, false, true, 2, false, true, false, false, d);
        add(0, 0x72, RC::None, RC::Mm, 0, false, true, 2, false, true, false, false, d);
        add(0x66, 0x72, RC::None, RC::Xmm, 0, false, true, 2, false, true, false, false, d);
    }
    for (std::uint8_t d : {2, 6}) add(0, 0x73, RC::None, RC::Mm, 0, false, true, 2, false, true, false, false, d);
    for (std::uint8_t d : {2, 3, 6, 7}) add(0x66, 0x73, RC::None, RC::Xmm, 0, false, true, 2, false, true, false, false, d);
    add(0, 0x70, RC::Mm, RC::Mm, 8, false, true, 1);
    for (std::uint8_t p : {0x66, 0xF3, 0xF2}) add(p, 0x70, RC::Xmm, RC::Xmm, 16, true, true, 1);
    add(0, 0xC4, RC::Mm, RC::Gpr, 2, false, true, 1);
    add(0x66, 0xC4, RC::Xmm, RC::Gpr, 2, false, true, 1);
    add(0, 0xC5, RC::Gpr, RC::Mm, 0, false, true, 1, true);
    add(0x66, 0xC5, RC::Gpr, RC::Xmm, 0, false, true, 1, true);
    add(0, 0xD7, RC::Gpr, RC::Mm, 0, false, true, 0, true);
    add(0x66, 0xD7, RC::Gpr, RC::Xmm, 0, false, true, 0, true);
    // Moves
    add(0, 0x6E, RC::Mm, RC::Gpr, 4, false, true);
    add(0x66, 0x6E, RC::Xmm, RC::Gpr, 4, false, true);
    add(0, 0x7E, RC::Mm, RC::Gpr, 4, false, true, 0, false, true, true);
    add(0x66, 0x7E, RC::Xmm, RC::Gpr, 4, false, true, 0, false, true, true);
    add(0xF3, 0x7E, RC::Xmm, RC::Xmm, 8, false, true);
    add(0, 0x6F, RC::Mm, RC::Mm, 8, false, true);
    add(0x66, 0x6F, RC::Xmm, RC::Xmm, 16, true, true);
    add(0xF3, 0x6F, RC::Xmm, RC::Xmm, 16, false, true);
    add(0, 0x7F, RC::Mm, RC::Mm, 8, false, true, 0, false, false, true);
    add(0x66, 0x7F, RC::Xmm, RC::Xmm, 16, true, true, 0, false, false, true);
    add(0xF3, 0x7F, RC::Xmm, RC::Xmm, 16, false, true, 0, false, false, true);
    add(0x66, 0xD6, RC::Xmm, RC::Xmm, 8, false, true, 0, false, false, true);
    add(0xF3, 0xD6, RC::Xmm, RC::Mm, 0, false, true);
    add(0xF2, 0xD6, RC::Mm, RC::Xmm, 0, false, true);
    add(0, 0xE7, RC::Mm, RC::None, 8, false, false, 0, false, false, true);
    add(0x66, 0xE7, RC::Xmm, RC::None, 16, true, false, 0, false, false, true);
    add(0, 0xC3, RC::Gpr, RC::None, 4, false, false, 0, false, false, true);
    for (std::uint8_t p : {0, 0x66}) {
        add(p, 0x10, RC::Xmm, RC::Xmm, 16, false, true);
        add(p, 0x11, RC::Xmm, RC::Xmm, 16, false, true, 0, false, false, true);
        add(p, 0x13, RC::Xmm, RC::None, 8, false, false, 0, false, false, true);
        add(p, 0x14, RC::Xmm, RC::Xmm, 16, true, true);
        add(p, 0x15, RC::Xmm, RC::Xmm, 16, true, true);
        add(p, 0x17, RC::Xmm, RC::None, 8, false, false, 0, false, false, true);
        add(p, 0x28, RC::Xmm, RC::Xmm, 16, true, true);
        add(p, 0x29, RC::Xmm, RC::Xmm, 16, true, true, 0, false, false, true);
        add(p, 0x2B, RC::Xmm, RC::None, 16, true, false, 0, false, false, true);
        add(p, 0x50, RC::Gpr, RC::Xmm, 0, false, true, 0, true);
        for (std::uint8_t op : {0x54, 0x55, 0x56, 0x57}) add(p, op, RC::Xmm, RC::Xmm, 16, true, true);
        add(p, 0xC6, RC::Xmm, RC::Xmm, 16, true, true, 1);
    }
    add(0, 0x12, RC::Xmm, RC::Xmm, 8, false, true);
    add(0x66, 0x12, RC::Xmm, RC::None, 8, false, false);
    add(0, 0x16, RC::Xmm, RC::Xmm, 8, false, true);
    add(0x66, 0x16, RC::Xmm, RC::None, 8, false, false);
    add(0xF3, 0x10, RC::Xmm, RC::Xmm, 4, false, true);
    add(0xF2, 0x10, RC::Xmm, RC::Xmm, 8, false, true);
    add(0xF3, 0x11, RC::Xmm, RC::Xmm, 4, false, true, 0, false, false, true);
    add(0xF2, 0x11, RC::Xmm, RC::Xmm, 8, false, true, 0, false, false, true);
    // Floating point
    for (std::uint8_t op : {0x51, 0x58, 0x59, 0x5C, 0x5D, 0x5E, 0x5F}) {
        add(0, op, RC::Xmm, RC::Xmm, 16, true, true);
        add(0x66, op, RC::Xmm, RC::Xmm, 16, true, true);
        add(0xF3, op, RC::Xmm, RC::Xmm, 4, false, true);
        add(0xF2, op, RC::Xmm, RC::Xmm, 8, false, true);
    }
    for (std::uint8_t op : {0x52, 0x53}) {
        add(0, op, RC::Xmm, RC::Xmm, 16, true, true);
        add(0xF3, op, RC::Xmm, RC::Xmm, 4, false, true);
    }
    add(0, 0xC2, RC::Xmm, RC::Xmm, 16, true, true, 3);
    add(0x66, 0xC2, RC::Xmm, RC::Xmm, 16, true, true, 3);
    add(0xF3, 0xC2, RC::Xmm, RC::Xmm, 4, false, true, 3);
    add(0xF2, 0xC2, RC::Xmm, RC::Xmm, 8, false, true, 3);
    add(0, 0x5A, RC::Xmm, RC::Xmm, 8, false, true);
    add(0x66, 0x5A, RC::Xmm, RC::Xmm, 16, true, true);
    add(0xF3, 0x5A, RC::Xmm, RC::Xmm, 4, false, true);
    add(0xF2, 0x5A, RC::Xmm, RC::Xmm, 8, false, true);
    for (std::uint8_t p : {0, 0x66, 0xF3}) add(p, 0x5B, RC::Xmm, RC::Xmm, 16, true, true);
    add(0x66, 0xE6, RC::Xmm, RC::Xmm, 16, true, true);
    add(0xF3, 0xE6, RC::Xmm, RC::Xmm, 8, false, true);
    add(0xF2, 0xE6, RC::Xmm, RC::Xmm, 16, true, true);
    add(0, 0x2A, RC::Xmm, RC::Mm, 8, false, true);
    add(0x66, 0x2A, RC::Xmm, RC::Mm, 8, false, true);
    add(0xF3, 0x2A, RC::Xmm, RC::Gpr, 4, false, true);
    add(0xF2, 0x2A, RC::Xmm, RC::Gpr, 4, false, true);
    for (std::uint8_t op : {0x2C, 0x2D}) {
        add(0, op, RC::Mm, RC::Xmm, 8, false, true);
        add(0x66, op, RC::Mm, RC::Xmm, 16, true, true);
        add(0xF3, op, RC::Gpr, RC::Xmm, 4, false, true, 0, true);
        add(0xF2, op, RC::Gpr, RC::Xmm, 8, false, true, 0, true);
    }
    for (std::uint8_t op : {0x2E, 0x2F}) {
        add(0, op, RC::Xmm, RC::Xmm, 4, false, true, 0, false, false, false, true);
        add(0x66, op, RC::Xmm, RC::Xmm, 8, false, true, 0, false, false, false, true);
    }
    return t;
}

const std::vector<SimdForm>& simdForms() {
    static const std::vector<SimdForm> t = buildSimdForms();
    return t;
}

// Floats and doubles that matter: zeros, ones, halves (rounding), infinities, QNaN and
// SNaN, denormals, the largest and smallest normals, integers near the conversion
// limits, and random normals of moderate exponent.
std::uint32_t edgeFloat(Rng& r) {
    static constexpr std::uint32_t k[] = {0, 0x80000000, 0x3F800000, 0xBF800000, 0x3FC00000, 0x40200000,
                                          0xC0200000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
                                          0x7FA00000, 0x7F7FFFFF, 0x00800000, 0x80800000, 0x4EFFFFFF,
                                          0x4F000000, 0xCF000000, 0xCF000001, 0x33800000, 0x1C800000};
    switch (r.below(5)) {
        case 0: case 1: return k[r.below(sizeof k / sizeof k[0])];
        case 2: return (r.u32() & 0x807FFFFF) | (r.chance(1, 3) ? 0 : 0x7F800000 & (r.u32() | 0x00800000));
        default: return (r.u32() & 0x807FFFFF) | (static_cast<std::uint32_t>(127 + r.range(-40, 40)) << 23);
    }
}
std::uint64_t edgeDouble(Rng& r) {
    static constexpr std::uint64_t k[] = {0, 0x8000000000000000ull, 0x3FF0000000000000ull, 0xBFF8000000000000ull,
                                          0x4004000000000000ull, 0x7FF0000000000000ull, 0xFFF0000000000000ull,
                                          0x7FF8000000000000ull, 0x7FF4000000000000ull, 0x7FEFFFFFFFFFFFFFull,
                                          0x0010000000000000ull, 0x0000000000000001ull, 0x41DFFFFFFFC00000ull,
                                          0xC1E0000000000000ull, 0x41E0000000000000ull, 0x3FD5555555555555ull,
                                          0x47EFFFFFE0000000ull, 0x3810000000000000ull};
    switch (r.below(5)) {
        case 0: case 1: return k[r.below(sizeof k / sizeof k[0])];
        case 2: return r.next() & 0x800FFFFFFFFFFFFFull;  // zero or denormal
        default:
            return (r.next() & 0x800FFFFFFFFFFFFFull) |
                   (static_cast<std::uint64_t>(1023 + r.range(-200, 200)) << 52);
    }
}

std::uint32_t CaseBuilder::randomMxcsr() {
    std::uint32_t m = 0x1F80 | (r.below(4) << 13);
    if (r.chance(1, 4)) m |= 0x8000;  // FZ
    if (r.chance(1, 4)) m |= 0x40;    // DAZ
    if (r.chance(1, 4)) m |= r.u32() & 0x3F;  // sticky flags already set
    // QEMU's TCG raises no #XM (docs/x86-diff.md): masked only there.
    if (opt.oracle == Oracle::Cpu && r.chance(1, 8)) m &= ~((r.u32() & 0x3F) << 7);
    return m;
}

void CaseBuilder::randomSseState() {
    c.usesSse = true;
    c.mmxSignificandsOnly = opt.oracle == Oracle::QemuTcg;
    c.usesFpu = true;  // MMX registers are the x87's
    for (auto& x : c.xmm) {
        for (auto& q : x) {
            switch (r.below(4)) {
                case 0: q = r.next(); break;
                case 1: q = edgeDouble(r); break;
                default: q = edgeFloat(r) | (std::uint64_t{edgeFloat(r)} << 32); break;
            }
        }
    }
    c.mxcsr = randomMxcsr();
}

bool CaseBuilder::emitSimd(std::vector<std::uint8_t>& out) {
    if (r.chance(1, 12)) return emitSimdState(out);
    const SimdForm& f = simdForms()[r.below(static_cast<unsigned>(simdForms().size()))];
    const bool mem = f.mem && (!f.regForm || r.chance(1, 2));
    if (opt.oracle == Oracle::QemuTcg) {
        // CVTPI2PS/CVTPI2PD xmm, m64 make no MMX transition (SDM Vol. 2 CVTPI2PS); TCG
        // makes one.
        if (mem && f.op == 0x2A && (f.prefix == 0 || f.prefix == 0x66)) return false;
        // RCP/RSQRT: TCG divides in the guest's rounding mode with DAZ/FZ, and returns
        // finite results for denormal sources and unflushed tiny ones (the SDM: a
        // denormal source is 0.0, tiny results are 0.0; MXCSR plays no part): compared in
        // the default mode, on normal floats from memory (set below) only.
        if ((f.op == 0x52 || f.op == 0x53) && (!mem || mxcsrChanged_ || (c.mxcsr & 0xE040) != 0)) return false;
        // FXSAVE after an MMX write would store the exponents TCG leaves alone.
        if (f.reg == RC::Mm || f.rm == RC::Mm) mmxWritten_ = true;
    }
    unsigned regField = f.reg == RC::None ? f.digit : r.below(8);
    if (f.reg == RC::Gpr && f.writesReg) {
        regField = pickWritable(W::D);
        if (regField == 8) return false;
    }
    unsigned rmReg = r.below(8);
    if (!mem && f.rm == RC::Gpr && f.writesRm) {
        rmReg = pickWritable(W::D);
        if (rmReg == 8) return false;
    }
    std::vector<std::uint8_t> pre;
    if (mem) prefixesForMem(pre, f.writesMem);
    // The mandatory prefix goes right before 0F; a segment override or 67h may precede it.
    out.insert(out.end(), pre.begin(), pre.end());
    if (f.prefix) out.push_back(f.prefix);
    out.push_back(0x0F);
    out.push_back(f.op);
    if (mem) {
        const std::uint32_t at = memModrm(out, regField, f.mem, 0, f.aligned ? 16 : 0);
        if ((f.op == 0x52 || f.op == 0x53) && opt.oracle == Oracle::QemuTcg) {
            for (unsigned i = 0; i < f.mem; i += 4) {  // normal floats, far from the limits
                const std::uint32_t v = (r.u32() & 0x807FFFFF) | (static_cast<std::uint32_t>(127 + r.range(-60, 60)) << 23);
                std::memcpy(&c.memory[at - L.data + i], &v, 4);
            }
        }
    } else {
        out.push_back(static_cast<std::uint8_t>(0xC0 | (regField << 3) | rmReg));
    }
    switch (f.imm) {
        case 1: out.push_back(static_cast<std::uint8_t>(r.u32())); break;
        case 2: {
            static constexpr std::uint8_t kCounts[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 255};
            out.push_back(r.chance(1, 2) ? kCounts[r.below(sizeof kCounts)] : static_cast<std::uint8_t>(r.u32()));
            break;
        }
        case 3: out.push_back(static_cast<std::uint8_t>(r.chance(3, 4) ? r.below(8) : r.u32())); break;
        default: break;
    }
    if (f.flags) wroteFlags(ALL, 0);
    return true;
}

// MXCSR loads and stores, FXSAVE (and FXRSTOR of the image just saved), EMMS, MASKMOVQ/
// MASKMOVDQU at EDI, fences, CLFLUSH, PREFETCHh.
bool CaseBuilder::emitSimdState(std::vector<std::uint8_t>& out) {
    switch (r.below(8)) {
        case 0: {  // mov dword [m], mxcsr ; ldmxcsr [m]
            std::vector<std::uint8_t> pre, address;
            prefixesForMem(pre, true);
            memModrm(address, 0, 4);
            std::uint32_t v = randomMxcsr();
            mxcsrChanged_ = true;
            if (opt.oracle == Oracle::Cpu && r.chance(1, 16)) v |= 1u << (16 + r.below(16));  // #GP
            out.insert(out.end(), pre.begin(), pre.end());
            out.push_back(0xC7);
            out.insert(out.end(), address.begin(), address.end());
            imm(out, v, 4);
            out.insert(out.end(), pre.begin(), pre.end());
            out.insert(out.end(), {0x0F, 0xAE});
            address[0] = static_cast<std::uint8_t>(address[0] | (2 << 3));
            out.insert(out.end(), address.begin(), address.end());
            return true;
        }
        case 1:  // stmxcsr [m]
            prefixesForMem(out, true);
            out.insert(out.end(), {0x0F, 0xAE});
            memModrm(out, 3, 4);
            return true;
        case 2: {  // fxsave [m] (sometimes fxrstor [m] after another instruction)
            if (mmxWritten_) return false;  // (TCG only, see emitSimd)
            std::vector<std::uint8_t> pre, address;
            prefixesForMem(pre, true);
            const std::uint32_t at = memModrm(address, 0, 512, 0, 16);
            out.insert(out.end(), pre.begin(), pre.end());
            out.insert(out.end(), {0x0F, 0xAE});
            out.insert(out.end(), address.begin(), address.end());
            // FOP, FIP, FCS, FDP, FDS (bytes 6-23) follow their own rules (docs/x87.md;
            // TCG's differ, and natively FCS/FDS are this process's selectors): they are
            // overwritten with constants at once, so that later reads of the image and
            // FXRSTOR compare. Left out of the comparison: the reserved bytes after each
            // x87 register and bytes 288-511 (the SDM does not say what FXSAVE does there).
            if ((at & 15) == 0) {
                out.insert(out.end(), {0x66, 0xC7, 0x05});
                imm(out, at + 6, 4);
                imm(out, r.u32() & 0x7FF, 2);
                for (unsigned o = 8; o < 24; o += 4) {
                    out.insert(out.end(), {0xC7, 0x05});
                    imm(out, at + o, 4);
                    imm(out, r.u32(), 4);
                }
            }
            const std::uint32_t w = at - L.data;
            for (unsigned i = 0; i < 8; ++i) c.ignoredMemory.emplace_back(w + 42 + 16 * i, 6);
            if (c.mmxSignificandsOnly)  // the x87 exponents (see DiffCase::mmxSignificandsOnly)
                for (unsigned i = 0; i < 8; ++i) c.ignoredMemory.emplace_back(w + 40 + 16 * i, 2);
            c.ignoredMemory.emplace_back(w + 288, 224);
            if ((at & 15) == 0 && r.chance(1, 2)) {
                const SimdForm& f = simdForms()[r.below(static_cast<unsigned>(simdForms().size()))];
                if (f.mem == 0 || f.regForm) {  // a register form in between
                    unsigned regField = f.reg == RC::None ? f.digit : r.below(8);
                    if (f.reg == RC::Gpr && f.writesReg) return true;
                    if (f.rm == RC::Gpr && f.writesRm) return true;
                    if (f.prefix) out.push_back(f.prefix);
                    out.insert(out.end(), {0x0F, f.op, static_cast<std::uint8_t>(0xC0 | (regField << 3) | r.below(8))});
                    if (f.imm) out.push_back(static_cast<std::uint8_t>(f.imm == 3 ? r.below(8) : r.u32()));
                    if (f.flags) wroteFlags(ALL, 0);
                }
                mxcsrChanged_ = true;
                out.insert(out.end(), pre.begin(), pre.end());
                out.insert(out.end(), {0x0F, 0xAE});
                address[0] = static_cast<std::uint8_t>(address[0] | (1 << 3));
                out.insert(out.end(), address.begin(), address.end());
            }
            return true;
        }
        case 3:
            out.insert(out.end(), {0x0F, 0x77});  // emms
            return true;
        case 4: {  // mov edi, target ; maskmovq / maskmovdqu
            if (reserved & bit(EDI)) return false;
            movImm32(out, EDI, L.data + Layout::kOperandLo + r.below(Layout::kOperandHi - Layout::kOperandLo - 16));
            if (r.chance(1, 4)) {
                static constexpr std::uint8_t kSeg[] = {0x26, 0x36, 0x3E};
                out.push_back(kSeg[r.below(3)]);
            }
            if (r.chance(1, 2)) out.push_back(0x66);
            out.insert(out.end(), {0x0F, 0xF7, static_cast<std::uint8_t>(0xC0 | r.below(64))});
            return true;
        }
        case 5:  // lfence / mfence / sfence
            out.insert(out.end(), {0x0F, 0xAE, static_cast<std::uint8_t>(0xE8 + 8 * r.below(3))});
            return true;
        case 6:  // clflush [m]
            prefixesForMem(out, false);
            out.insert(out.end(), {0x0F, 0xAE});
            memModrm(out, 7, 1);
            return true;
        default:  // prefetchnta / t0 / t1 / t2 [m]
            prefixesForMem(out, false);
            out.insert(out.end(), {0x0F, 0x18});
            memModrm(out, r.below(4), 1);
            return true;
    }
}

bool CaseBuilder::emitOne(std::vector<std::uint8_t>& out, bool allowStack) {
    for (int tries = 0; tries < 32; ++tries) {
        std::vector<std::uint8_t> ins;
        const std::uint32_t undefBefore = undef, reservedBefore = reserved;
        const int espBefore = espDelta;
        const unsigned pick = r.below(100);
        bool ok;
        if (simd_ && pick < 75) ok = emitSimd(ins);
        else if (simd_ && pick >= 86 && opt.oracle == Oracle::QemuTcg) ok = false;  // see mmxSignificandsOnly
        else if (pick < 62) ok = emitForm(ins, forms()[r.below(static_cast<unsigned>(forms().size()))]);
        else if (pick < 70) ok = emitString(ins);
        else if (pick < 80) ok = allowStack && emitStack(ins);
        else if (pick < 86) ok = allowStack && emitBranch(ins);
        else ok = opt.fpu && emitFpu(ins);
        if (ok) {
            out.insert(out.end(), ins.begin(), ins.end());
            return true;
        }
        undef = undefBefore;
        reserved = reservedBefore;
        espDelta = espBefore;
    }
    return false;
}

void CaseBuilder::randomFpuState() {
    X87HostImage& f = c.fpu;
    f = {};
    f.cw = 0xFFFF0000u | 0x7F | (r.below(4) << 10) | ((r.chance(3, 4) ? 3u : r.below(4)) << 8);
    if ((f.cw & 0x300) == 0x100) f.cw |= 0x200;  // reserved precision setting
    const unsigned top = r.below(8);
    f.sw = 0xFFFF0000u | (top << 11) | (r.u32() & 0x4700);  // TOP and C0-C3, no flags
    std::uint32_t tw = 0;
    for (unsigned reg = 0; reg < 8; ++reg) tw |= (r.chance(1, 2) ? 3u : 0u) << (2 * reg);
    f.tw = 0xFFFF0000u | tw;
    for (auto& st : f.st) {
        std::uint64_t sig = r.next();
        std::uint16_t exp = static_cast<std::uint16_t>(0x3FFF + r.range(-70, 70));
        switch (r.below(8)) {
            case 0: sig = 0; exp = 0; break;
            case 1: sig = 1ull << 63; exp = 0x7FFF; break;
            case 2: sig |= 3ull << 62; exp = 0x7FFF; break;
            case 3: sig >>= 1 + r.below(62); exp = 0; break;
            default: sig |= 1ull << 63;
        }
        if (r.chance(1, 2)) exp |= 0x8000;
        std::memcpy(st.data(), &sig, 8);
        std::memcpy(st.data() + 8, &exp, 2);
    }
}

DiffCase CaseBuilder::build() {
    for (auto& v : c.regs) v = r.edge();
    c.regs[ESP] = L.data + Layout::kStackLo + (r.below(Layout::kStackHi - Layout::kStackLo) & ~3u);
    c.eflags = 0x202 | (r.u32() & ALL) | (r.chance(1, 4) ? DF : 0);
    c.memory.resize(Layout::kDataBytes);
    for (std::size_t i = 0; i < c.memory.size(); i += 8) {
        const std::uint64_t v = r.chance(1, 4) ? r.edge() * 0x0101010101010101ull : r.next();
        std::memcpy(&c.memory[i], &v, 8);
    }
    randomFpuState();
    if (simd_) randomSseState();
    chooseAddressing();
    const unsigned n = 1 + r.below(opt.maxInstructions);
    // A 16-bit stack section, at a random place among the instructions: its own random
    // stream, so the rest of the case (and every case without one) is as before.
    Rng s16(c.id ^ 0x5EC7105516B17ull);
    bool pending16 = opt.stack16 && !simd_ && L.stack16Fits() && s16.chance(1, 5);
    const unsigned at16 = s16.below(n + 1);
    const auto section16 = [&] {
        std::swap(r, s16);
        emitStack16(c.code);
        std::swap(r, s16);
        pending16 = false;
    };
    for (unsigned i = 0; i < n; ++i) {
        if (pending16 && i == at16) section16();
        c.undefinedBefore.emplace_back(static_cast<std::uint32_t>(c.code.size()), undef);
        if (!emitOne(c.code, true)) break;
    }
    if (pending16) section16();
    if (c.code.empty()) c.code.push_back(0x90);
    c.undefinedFlags = undef;
    return std::move(c);
}

}  // namespace

GeneratorOptions GeneratorOptions::fromEnvironment() {
    GeneratorOptions o;
    const char* v = std::getenv("CXVM_DIFF_ORACLE");
    if (v && std::string_view(v) == "qemu-tcg") o.oracle = Oracle::QemuTcg;
    if (const char* s = std::getenv("CXVM_DIFF_STACK16"); s && std::string_view(s) == "0") o.stack16 = false;
    return o;
}

const char* oracleName() {
    return GeneratorOptions::fromEnvironment().oracle == Oracle::QemuTcg
               ? "QEMU TCG (-cpu EPYC, nested L1)"
               : "host CPU";
}

DiffCase Generator::make(std::uint64_t id) const {
    CaseBuilder b(layout_, options_, id);
    return b.build();
}

DiffCase Generator::makeSimd(std::uint64_t id) const {
    CaseBuilder b(layout_, options_, id, true);
    return b.build();
}

}  // namespace cxvm::x86::diff
