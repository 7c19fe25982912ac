// String instructions with REP/REPE/REPNE and segment overrides (SDM Vol. 2 MOVS..OUTS,
// Vol. 1 7.3.9). The source segment is overridable (default DS); the destination is
// always ES:(E)DI. The counter and index registers follow the address size. Each
// iteration commits its register updates, so a fault mid-REP restarts where it stopped.
#include "x86/Exec.h"

#include <algorithm>
#include <cstring>

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

// Host pointer for `bytes` at seg:off when the segment allows the whole range and the
// TLB already holds the page for this access kind; nullptr otherwise.
template <bool Write>
std::uint8_t* tlbSpan(Cpu& c, unsigned s, u32 off, u32 bytes) {
    const SegCache& sc = c.seg_[s];
    if (!(Write ? sc.writable : sc.readable) || off < sc.lo || std::uint64_t{off} + bytes - 1 > sc.hi)
        return nullptr;
    const u32 lin = sc.base + off;
    if ((lin & 0xFFF) + bytes > 0x1000) return nullptr;
    const Cpu::TlbEntry& e = c.tlb_[(lin >> 12) & (Cpu::kTlbSize - 1)];
    if (e.tag[c.userAcc_ + (Write ? 1 : 0)] != (lin & ~0xFFFu)) return nullptr;
    return e.at(lin);
}

// One bulk run of forward REP MOVS/STOS (32-bit addressing); false if it cannot.
template <class T, bool Movs>
bool bulkChunk(Cpu& c, const Insn& in, u32& count) {
    const u32 di = c.regs_[EDI];
    const u32 si = c.regs_[ESI];
    u32 n = std::min<u32>(count, (0x1000 - ((c.seg_[ES].base + di) & 0xFFF)) / sizeof(T));
    if constexpr (Movs) n = std::min<u32>(n, (0x1000 - ((c.seg_[in.seg].base + si) & 0xFFF)) / sizeof(T));
    if (n == 0) return false;
    const u32 bytes = n * sizeof(T);
    std::uint8_t* dst = tlbSpan<true>(c, ES, di, bytes);
    if (!dst) return false;
    if constexpr (Movs) {
        const std::uint8_t* src = tlbSpan<false>(c, in.seg, si, bytes);
        if (!src) return false;
        // Element-wise forward copy semantics: an overlap with dst ahead of src replicates.
        if (dst > src && dst < src + bytes) return false;
        std::memmove(dst, src, bytes);
        c.regs_[ESI] = si + bytes;
    } else {
        const T v = c.getReg<T>(EAX);
        if constexpr (sizeof(T) == 1) {
            std::memset(dst, v, bytes);
        } else {
            for (u32 i = 0; i < n; ++i) std::memcpy(dst + i * sizeof(T), &v, sizeof(T));
        }
    }
    c.regs_[EDI] = di + bytes;
    count -= n;
    return true;
}

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
    if constexpr (K == Str::Movs || K == Str::Stos) {
        // Bulk path (memset/memcpy/clear_page): whole runs inside one page of each side
        // whose TLB entries already allow the access; anything else takes one element
        // through the checked path (which also fills the TLB) and retries.
        if (in.a32 && !(c.eflags_ & fl::DF)) {
            while (count != 0) {
                if (!bulkChunk<T, K == Str::Movs>(c, in, count)) {
                    once();
                    --count;
                }
                ix.set(ECX, count);
            }
            return;
        }
    }
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
