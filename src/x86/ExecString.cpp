// String instructions with REP/REPE/REPNE and segment overrides (SDM Vol. 2 MOVS..OUTS,
// Vol. 1 7.3.9). The source segment is overridable (default DS); the destination is
// always ES:(E)DI. The counter and index registers follow the address size. Each
// iteration commits its register updates, so a fault mid-REP restarts where it stopped.
#include "x86/Exec.h"

namespace cxvm::x86 {

namespace {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;

enum class Str : std::uint8_t { Movs, Cmps, Stos, Lods, Scas, Ins, Outs };

struct Index {
    Cpu& c;
    bool a32;
    [[nodiscard]] u32 get(unsigned r) const { return a32 ? c.regs_[r] : (c.regs_[r] & 0xFFFF); }
    void add(unsigned r, u32 d) const {
        if (a32)
            c.regs_[r] += d;
        else
            c.setReg<u16>(r, u16(c.regs_[r] + d));
    }
    void set(unsigned r, u32 v) const {
        if (a32)
            c.regs_[r] = v;
        else
            c.setReg<u16>(r, u16(v));
    }
};

template <class T, Str K>
void stringOp(Cpu& c, const Insn& in) {
    const Index ix{c, in.a32};
    const u32 delta = (c.eflags_ & fl::DF) ? u32(0 - sizeof(T)) : u32(sizeof(T));
    const u16 port = c.getReg<u16>(EDX);
    if constexpr (K == Str::Ins || K == Str::Outs) c.ioCheck(port, sizeof(T));
    auto once = [&]() {
        if constexpr (K == Str::Movs) {
            const T v = c.read<T>(in.seg, ix.get(ESI));
            c.write<T>(ES, ix.get(EDI), v);
            ix.add(ESI, delta);
            ix.add(EDI, delta);
        } else if constexpr (K == Str::Cmps) {
            const T a = c.read<T>(in.seg, ix.get(ESI));
            const T b = c.read<T>(ES, ix.get(EDI));
            c.setLazy<T>(Cpu::FlagOp::Sub, a, b, T(a - b));
            ix.add(ESI, delta);
            ix.add(EDI, delta);
        } else if constexpr (K == Str::Stos) {
            c.write<T>(ES, ix.get(EDI), c.getReg<T>(EAX));
            ix.add(EDI, delta);
        } else if constexpr (K == Str::Lods) {
            c.setReg<T>(EAX, c.read<T>(in.seg, ix.get(ESI)));
            ix.add(ESI, delta);
        } else if constexpr (K == Str::Scas) {
            const T a = c.getReg<T>(EAX);
            const T b = c.read<T>(ES, ix.get(EDI));
            c.setLazy<T>(Cpu::FlagOp::Sub, a, b, T(a - b));
            ix.add(EDI, delta);
        } else if constexpr (K == Str::Ins) {
            // Check the destination before the (side-effecting) port read.
            (void)c.linear<T>(ES, ix.get(EDI), true);
            const T v = T(c.ioIn(port, sizeof(T)));
            c.write<T>(ES, ix.get(EDI), v);
            ix.add(EDI, delta);
        } else {
            const T v = c.read<T>(in.seg, ix.get(ESI));
            c.ioOut(port, sizeof(T), v);
            ix.add(ESI, delta);
        }
    };
    if (!in.rep) {
        once();
        return;
    }
    constexpr bool conditional = K == Str::Cmps || K == Str::Scas;
    u32 count = ix.get(ECX);
    while (count != 0) {
        once();
        --count;
        ix.set(ECX, count);
        if constexpr (conditional) {
            const bool zf = c.getZF();
            if (in.rep == 0xF3 ? !zf : zf) break;
        }
    }
}

}  // namespace

void registerString(OpTable& t) {
    t.set1(0x6C, &stringOp<u8, Str::Ins>, &stringOp<u8, Str::Ins>, 0);
    t.set1(0x6D, &stringOp<u16, Str::Ins>, &stringOp<u32, Str::Ins>, 0);
    t.set1(0x6E, &stringOp<u8, Str::Outs>, &stringOp<u8, Str::Outs>, 0);
    t.set1(0x6F, &stringOp<u16, Str::Outs>, &stringOp<u32, Str::Outs>, 0);
    t.set1(0xA4, &stringOp<u8, Str::Movs>, &stringOp<u8, Str::Movs>, 0);
    t.set1(0xA5, &stringOp<u16, Str::Movs>, &stringOp<u32, Str::Movs>, 0);
    t.set1(0xA6, &stringOp<u8, Str::Cmps>, &stringOp<u8, Str::Cmps>, 0);
    t.set1(0xA7, &stringOp<u16, Str::Cmps>, &stringOp<u32, Str::Cmps>, 0);
    t.set1(0xAA, &stringOp<u8, Str::Stos>, &stringOp<u8, Str::Stos>, 0);
    t.set1(0xAB, &stringOp<u16, Str::Stos>, &stringOp<u32, Str::Stos>, 0);
    t.set1(0xAC, &stringOp<u8, Str::Lods>, &stringOp<u8, Str::Lods>, 0);
    t.set1(0xAD, &stringOp<u16, Str::Lods>, &stringOp<u32, Str::Lods>, 0);
    t.set1(0xAE, &stringOp<u8, Str::Scas>, &stringOp<u8, Str::Scas>, 0);
    t.set1(0xAF, &stringOp<u16, Str::Scas>, &stringOp<u32, Str::Scas>, 0);
}

}  // namespace cxvm::x86
