// MMX and SSE/SSE2 integer instructions (SDM Vol. 1 ch. 9, 10.4.4, 11.4.3; opcode map
// Table A-3): one definition per operation on 128-bit vectors with the host's SSE2
// integer instructions (exact by construction: integer SIMD has no modes), used by the
// MMX form (no prefix: mm, mm/m64, the low 64 bits) and the SSE2 form (66: xmm,
// xmm/m128, 16-byte aligned). Operations whose lanes cross the 64-bit boundary (PACK*,
// PUNPCKH*) have their own MMX form.
#if defined(__x86_64__)
#include "x86/Simd.h"

namespace cxvm::x86::simd {

namespace {

// ---- the operations ----
// x(a, b): the 128-bit form (a = destination, b = source). m(a, b): the 64-bit form;
// by default the low half of x on zero-extended operands (lane-local operations).
template <class Self>
struct Lanes {
    static u64 m(u64 a, u64 b) { return low64(Self::x(toV(a), toV(b))); }
};
#define CXVM_SIMD_OP(Name, expr)                                \
    struct Name : Lanes<Name> {                                 \
        static __m128i x(__m128i a, __m128i b) { return expr; } \
    };
CXVM_SIMD_OP(Punpcklbw, _mm_unpacklo_epi8(a, b))
CXVM_SIMD_OP(Punpcklwd, _mm_unpacklo_epi16(a, b))
CXVM_SIMD_OP(Punpckldq, _mm_unpacklo_epi32(a, b))
CXVM_SIMD_OP(Punpcklqdq, _mm_unpacklo_epi64(a, b))
CXVM_SIMD_OP(Punpckhqdq, _mm_unpackhi_epi64(a, b))
CXVM_SIMD_OP(Pcmpgtb, _mm_cmpgt_epi8(a, b))
CXVM_SIMD_OP(Pcmpgtw, _mm_cmpgt_epi16(a, b))
CXVM_SIMD_OP(Pcmpgtd, _mm_cmpgt_epi32(a, b))
CXVM_SIMD_OP(Pcmpeqb, _mm_cmpeq_epi8(a, b))
CXVM_SIMD_OP(Pcmpeqw, _mm_cmpeq_epi16(a, b))
CXVM_SIMD_OP(Pcmpeqd, _mm_cmpeq_epi32(a, b))
// Shifts by a register/memory count: the count is the whole low quadword of the source
// (SDM PSLLW etc.: counts above the element width clear, or sign-fill for PSRA).
CXVM_SIMD_OP(Psrlw, _mm_srl_epi16(a, b))
CXVM_SIMD_OP(Psrld, _mm_srl_epi32(a, b))
CXVM_SIMD_OP(Psrlq, _mm_srl_epi64(a, b))
CXVM_SIMD_OP(Psraw, _mm_sra_epi16(a, b))
CXVM_SIMD_OP(Psrad, _mm_sra_epi32(a, b))
CXVM_SIMD_OP(Psllw, _mm_sll_epi16(a, b))
CXVM_SIMD_OP(Pslld, _mm_sll_epi32(a, b))
CXVM_SIMD_OP(Psllq, _mm_sll_epi64(a, b))
CXVM_SIMD_OP(Paddb, _mm_add_epi8(a, b))
CXVM_SIMD_OP(Paddw, _mm_add_epi16(a, b))
CXVM_SIMD_OP(Paddd, _mm_add_epi32(a, b))
CXVM_SIMD_OP(Paddq, _mm_add_epi64(a, b))
CXVM_SIMD_OP(Paddsb, _mm_adds_epi8(a, b))
CXVM_SIMD_OP(Paddsw, _mm_adds_epi16(a, b))
CXVM_SIMD_OP(Paddusb, _mm_adds_epu8(a, b))
CXVM_SIMD_OP(Paddusw, _mm_adds_epu16(a, b))
CXVM_SIMD_OP(Psubb, _mm_sub_epi8(a, b))
CXVM_SIMD_OP(Psubw, _mm_sub_epi16(a, b))
CXVM_SIMD_OP(Psubd, _mm_sub_epi32(a, b))
CXVM_SIMD_OP(Psubq, _mm_sub_epi64(a, b))
CXVM_SIMD_OP(Psubsb, _mm_subs_epi8(a, b))
CXVM_SIMD_OP(Psubsw, _mm_subs_epi16(a, b))
CXVM_SIMD_OP(Psubusb, _mm_subs_epu8(a, b))
CXVM_SIMD_OP(Psubusw, _mm_subs_epu16(a, b))
CXVM_SIMD_OP(Pmullw, _mm_mullo_epi16(a, b))
CXVM_SIMD_OP(Pmulhw, _mm_mulhi_epi16(a, b))
CXVM_SIMD_OP(Pmulhuw, _mm_mulhi_epu16(a, b))
CXVM_SIMD_OP(Pmuludq, _mm_mul_epu32(a, b))
CXVM_SIMD_OP(Pmaddwd, _mm_madd_epi16(a, b))
CXVM_SIMD_OP(Pand, _mm_and_si128(a, b))
CXVM_SIMD_OP(Pandn, _mm_andnot_si128(a, b))
CXVM_SIMD_OP(Por, _mm_or_si128(a, b))
CXVM_SIMD_OP(Pxor, _mm_xor_si128(a, b))
CXVM_SIMD_OP(Pminub, _mm_min_epu8(a, b))
CXVM_SIMD_OP(Pmaxub, _mm_max_epu8(a, b))
CXVM_SIMD_OP(Pminsw, _mm_min_epi16(a, b))
CXVM_SIMD_OP(Pmaxsw, _mm_max_epi16(a, b))
CXVM_SIMD_OP(Pavgb, _mm_avg_epu8(a, b))
CXVM_SIMD_OP(Pavgw, _mm_avg_epu16(a, b))
CXVM_SIMD_OP(Psadbw, _mm_sad_epu8(a, b))
#undef CXVM_SIMD_OP

// PUNPCKH* on 64 bits: the high halves of the two operands interleaved.
#define CXVM_SIMD_UNPACKH(Name, lo, hi)                                                     \
    struct Name {                                                                           \
        static __m128i x(__m128i a, __m128i b) { return hi(a, b); }                         \
        static u64 m(u64 a, u64 b) { return low64(_mm_srli_si128(lo(toV(a), toV(b)), 8)); } \
    };
CXVM_SIMD_UNPACKH(Punpckhbw, _mm_unpacklo_epi8, _mm_unpackhi_epi8)
CXVM_SIMD_UNPACKH(Punpckhwd, _mm_unpacklo_epi16, _mm_unpackhi_epi16)
CXVM_SIMD_UNPACKH(Punpckhdq, _mm_unpacklo_epi32, _mm_unpackhi_epi32)
#undef CXVM_SIMD_UNPACKH

// PACK* on 64 bits: the destination's elements, then the source's.
#define CXVM_SIMD_PACK(Name, op)                                    \
    struct Name {                                                   \
        static __m128i x(__m128i a, __m128i b) { return op(a, b); } \
        static u64 m(u64 a, u64 b) {                                \
            const __m128i ab = _mm_unpacklo_epi64(toV(a), toV(b));  \
            return low64(op(ab, ab));                               \
        }                                                           \
    };
CXVM_SIMD_PACK(Packsswb, _mm_packs_epi16)
CXVM_SIMD_PACK(Packuswb, _mm_packus_epi16)
CXVM_SIMD_PACK(Packssdw, _mm_packs_epi32)
#undef CXVM_SIMD_PACK

// ---- the forms ----

// MMX: mm, mm/m64 (SDM Vol. 1 9.5: the source is read first, so a fault leaves the x87
// state as it was; then TOP = 0, all tags valid, the destination's exponent all ones).
template <class Op>
void mmxForm(Cpu& c, const Insn& in) {
    mmxCheck(c);
    const u64 b = mmSrc(c, in);
    X87& f = *c.x87_;
    const u64 a = f.mmx(in.reg);
    f.enterMmx();
    f.setMmx(in.reg, Op::m(a, b));
}

// SSE2: xmm, xmm/m128 (aligned).
template <class Op>
void xmmForm(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm b = xmmSrc<true>(c, in);
    c.xmm_[in.reg] = fromV(Op::x(toV(c.xmm_[in.reg]), toV(b)));
}

// 0F 71/72/73 ib: shifts by an immediate of the register in ModRM.rm; /3 and /7 of 73
// are the SSE2-only byte shifts PSRLDQ/PSLLDQ. Memory forms are #UD.
using ShiftFn = __m128i (*)(__m128i, __m128i);
__m128i byteShiftRight(__m128i a, __m128i count) {
    const u64 n = low64(count);
    alignas(16) u8 buf[32] = {};
    _mm_store_si128(reinterpret_cast<__m128i*>(buf), a);
    if (n > 15) return _mm_setzero_si128();
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + n));
}
__m128i byteShiftLeft(__m128i a, __m128i count) {
    const u64 n = low64(count);
    alignas(16) u8 buf[32] = {};
    _mm_store_si128(reinterpret_cast<__m128i*>(buf + 16), a);
    if (n > 15) return _mm_setzero_si128();
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 16 - n));
}
struct ShiftGroup {
    ShiftFn fn[8];
};
constexpr ShiftGroup kShift71{
    {nullptr, nullptr, Psrlw::x, nullptr, Psraw::x, nullptr, Psllw::x, nullptr}};
constexpr ShiftGroup kShift72{
    {nullptr, nullptr, Psrld::x, nullptr, Psrad::x, nullptr, Pslld::x, nullptr}};
constexpr ShiftGroup kShift73Mmx{
    {nullptr, nullptr, Psrlq::x, nullptr, nullptr, nullptr, Psllq::x, nullptr}};
constexpr ShiftGroup kShift73Xmm{
    {nullptr, nullptr, Psrlq::x, byteShiftRight, nullptr, nullptr, Psllq::x, byteShiftLeft}};

template <const ShiftGroup& G>
void shiftImmMmx(Cpu& c, const Insn& in) {
    const ShiftFn fn = G.fn[in.reg];
    if (!fn || in.mod != 3) c.invalidOpcode();
    mmxCheck(c);
    X87& f = *c.x87_;
    const u64 a = f.mmx(in.rm);
    f.enterMmx();
    f.setMmx(in.rm, low64(fn(toV(a), _mm_cvtsi32_si128(int(in.imm & 0xFF)))));
}
template <const ShiftGroup& G>
void shiftImmXmm(Cpu& c, const Insn& in) {
    const ShiftFn fn = G.fn[in.reg];
    if (!fn || in.mod != 3) c.invalidOpcode();
    sseCheck(c);
    c.xmm_[in.rm] = fromV(fn(toV(c.xmm_[in.rm]), _mm_cvtsi32_si128(int(in.imm & 0xFF))));
}

// ---- shuffles and word insert/extract ----

u64 shuffleWords(u64 v, unsigned imm) {
    u64 r = 0;
    for (unsigned i = 0; i < 4; ++i)
        r |= ((v >> (16 * ((imm >> (2 * i)) & 3))) & 0xFFFF) << (16 * i);
    return r;
}
// 0F 70: PSHUFW mm, mm/m64, ib (SSE)
void pshufw(Cpu& c, const Insn& in) {
    mmxCheck(c);
    const u64 b = mmSrc(c, in);
    c.x87_->enterMmx();
    c.x87_->setMmx(in.reg, shuffleWords(b, in.imm));
}
// 66 0F 70: PSHUFD; F3: PSHUFHW; F2: PSHUFLW (SSE2)
void pshufd(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm b = xmmSrc<true>(c, in);
    u32 d[4], s[4];
    std::memcpy(s, b.q, 16);
    for (unsigned i = 0; i < 4; ++i) d[i] = s[(in.imm >> (2 * i)) & 3];
    std::memcpy(c.xmm_[in.reg].q, d, 16);
}
void pshufhw(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm b = xmmSrc<true>(c, in);
    c.xmm_[in.reg] = Xmm{{b.q[0], shuffleWords(b.q[1], in.imm)}};
}
void pshuflw(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm b = xmmSrc<true>(c, in);
    c.xmm_[in.reg] = Xmm{{shuffleWords(b.q[0], in.imm), b.q[1]}};
}

// 0F C4: PINSRW mm, r32/m16, ib (SSE; imm8[1:0]) / 66: xmm (SSE2; imm8[2:0])
void pinsrwMmx(Cpu& c, const Insn& in) {
    mmxCheck(c);
    const u16 w = in.mod == 3 ? u16(c.regs_[in.rm]) : readMem<u16>(c, in);
    X87& f = *c.x87_;
    const unsigned sh = 16 * (in.imm & 3);
    const u64 a = f.mmx(in.reg);
    f.enterMmx();
    f.setMmx(in.reg, (a & ~(u64{0xFFFF} << sh)) | (u64{w} << sh));
}
void pinsrwXmm(Cpu& c, const Insn& in) {
    sseCheck(c);
    const u16 w = in.mod == 3 ? u16(c.regs_[in.rm]) : readMem<u16>(c, in);
    u16 v[8];
    std::memcpy(v, c.xmm_[in.reg].q, 16);
    v[in.imm & 7] = w;
    std::memcpy(c.xmm_[in.reg].q, v, 16);
}
// 0F C5: PEXTRW r32, mm, ib / 66: r32, xmm, ib; zero-extended; register sources only
void pextrwMmx(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    mmxCheck(c);
    const u64 a = c.x87_->mmx(in.rm);
    c.x87_->enterMmx();
    c.regs_[in.reg] = u32((a >> (16 * (in.imm & 3))) & 0xFFFF);
}
void pextrwXmm(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    sseCheck(c);
    u16 v[8];
    std::memcpy(v, c.xmm_[in.rm].q, 16);
    c.regs_[in.reg] = v[in.imm & 7];
}
// 0F D7: PMOVMSKB r32, mm / 66: r32, xmm (register sources only)
void pmovmskbMmx(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    mmxCheck(c);
    const u64 a = c.x87_->mmx(in.rm);
    c.x87_->enterMmx();
    c.regs_[in.reg] = u32(_mm_movemask_epi8(toV(a))) & 0xFF;
}
void pmovmskbXmm(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    sseCheck(c);
    c.regs_[in.reg] = u32(_mm_movemask_epi8(toV(c.xmm_[in.rm])));
}

// 0F F7: MASKMOVQ mm1, mm2 / 66: MASKMOVDQU xmm1, xmm2 -- the bytes of the first operand
// whose mask byte (second operand) has bit 7 set are stored at DS:(E)DI (segment
// overridable; SDM Vol. 2 MASKMOVQ). Every page written is checked before any byte is
// stored; a zero mask stores nothing and raises nothing.
template <unsigned N>
void maskedStore(Cpu& c, const Insn& in, const u8* data, const u8* mask) {
    const u32 off = in.a32 ? c.regs_[EDI] : (c.regs_[EDI] & 0xFFFF);
    unsigned first = N, last = 0;
    for (unsigned i = 0; i < N; ++i)
        if (mask[i] & 0x80) {
            if (first == N) first = i;
            last = i;
        }
    if (first == N) return;
    const u32 lo = c.linear<u8>(in.seg, in.a32 ? off + first : ((off + first) & 0xFFFF), true);
    const u32 hi = c.linear<u8>(in.seg, in.a32 ? off + last : ((off + last) & 0xFFFF), true);
    u32 phys;
    c.translate(lo, c.userAcc_ | 1, true, phys);
    if ((lo ^ hi) & ~0xFFFu) c.translate(hi, c.userAcc_ | 1, true, phys);
    for (unsigned i = first; i <= last; ++i)
        if (mask[i] & 0x80) c.write<u8>(in.seg, in.a32 ? off + i : ((off + i) & 0xFFFF), data[i]);
}
void maskmovq(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    mmxCheck(c);
    const u64 d = c.x87_->mmx(in.reg), m = c.x87_->mmx(in.rm);
    u8 db[8], mb[8];
    std::memcpy(db, &d, 8);
    std::memcpy(mb, &m, 8);
    maskedStore<8>(c, in, db, mb);
    c.x87_->enterMmx();
}
void maskmovdqu(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    sseCheck(c);
    u8 db[16], mb[16];
    std::memcpy(db, c.xmm_[in.reg].q, 16);
    std::memcpy(mb, c.xmm_[in.rm].q, 16);
    maskedStore<16>(c, in, db, mb);
}

template <class Op>
void both(OpTable& t, unsigned op) {
    setSimd(t, op, OpTable::kPfxNone, mmxForm<Op>);
    setSimd(t, op, OpTable::kPfx66, xmmForm<Op>);
}

}  // namespace

void registerSimdInt(OpTable& t) {
    using T = OpTable;
    both<Punpcklbw>(t, 0x60);
    both<Punpcklwd>(t, 0x61);
    both<Punpckldq>(t, 0x62);
    both<Packsswb>(t, 0x63);
    both<Pcmpgtb>(t, 0x64);
    both<Pcmpgtw>(t, 0x65);
    both<Pcmpgtd>(t, 0x66);
    both<Packuswb>(t, 0x67);
    both<Punpckhbw>(t, 0x68);
    both<Punpckhwd>(t, 0x69);
    both<Punpckhdq>(t, 0x6A);
    both<Packssdw>(t, 0x6B);
    setSimd(t, 0x6C, T::kPfx66, xmmForm<Punpcklqdq>);
    setSimd(t, 0x6D, T::kPfx66, xmmForm<Punpckhqdq>);
    setSimd(t, 0x70, T::kPfxNone, pshufw, opf::ModRM | opf::Ib);
    setSimd(t, 0x70, T::kPfx66, pshufd, opf::ModRM | opf::Ib);
    setSimd(t, 0x70, T::kPfxF3, pshufhw, opf::ModRM | opf::Ib);
    setSimd(t, 0x70, T::kPfxF2, pshuflw, opf::ModRM | opf::Ib);
    setSimd(t, 0x71, T::kPfxNone, shiftImmMmx<kShift71>, opf::ModRM | opf::Ib);
    setSimd(t, 0x71, T::kPfx66, shiftImmXmm<kShift71>, opf::ModRM | opf::Ib);
    setSimd(t, 0x72, T::kPfxNone, shiftImmMmx<kShift72>, opf::ModRM | opf::Ib);
    setSimd(t, 0x72, T::kPfx66, shiftImmXmm<kShift72>, opf::ModRM | opf::Ib);
    setSimd(t, 0x73, T::kPfxNone, shiftImmMmx<kShift73Mmx>, opf::ModRM | opf::Ib);
    setSimd(t, 0x73, T::kPfx66, shiftImmXmm<kShift73Xmm>, opf::ModRM | opf::Ib);
    both<Pcmpeqb>(t, 0x74);
    both<Pcmpeqw>(t, 0x75);
    both<Pcmpeqd>(t, 0x76);
    setSimd(t, 0xC4, T::kPfxNone, pinsrwMmx, opf::ModRM | opf::Ib);
    setSimd(t, 0xC4, T::kPfx66, pinsrwXmm, opf::ModRM | opf::Ib);
    setSimd(t, 0xC5, T::kPfxNone, pextrwMmx, opf::ModRM | opf::Ib);
    setSimd(t, 0xC5, T::kPfx66, pextrwXmm, opf::ModRM | opf::Ib);
    both<Psrlw>(t, 0xD1);
    both<Psrld>(t, 0xD2);
    both<Psrlq>(t, 0xD3);
    both<Paddq>(t, 0xD4);
    both<Pmullw>(t, 0xD5);
    setSimd(t, 0xD7, T::kPfxNone, pmovmskbMmx);
    setSimd(t, 0xD7, T::kPfx66, pmovmskbXmm);
    both<Psubusb>(t, 0xD8);
    both<Psubusw>(t, 0xD9);
    both<Pminub>(t, 0xDA);
    both<Pand>(t, 0xDB);
    both<Paddusb>(t, 0xDC);
    both<Paddusw>(t, 0xDD);
    both<Pmaxub>(t, 0xDE);
    both<Pandn>(t, 0xDF);
    both<Pavgb>(t, 0xE0);
    both<Psraw>(t, 0xE1);
    both<Psrad>(t, 0xE2);
    both<Pavgw>(t, 0xE3);
    both<Pmulhuw>(t, 0xE4);
    both<Pmulhw>(t, 0xE5);
    both<Psubsb>(t, 0xE8);
    both<Psubsw>(t, 0xE9);
    both<Pminsw>(t, 0xEA);
    both<Por>(t, 0xEB);
    both<Paddsb>(t, 0xEC);
    both<Paddsw>(t, 0xED);
    both<Pmaxsw>(t, 0xEE);
    both<Pxor>(t, 0xEF);
    both<Psllw>(t, 0xF1);
    both<Pslld>(t, 0xF2);
    both<Psllq>(t, 0xF3);
    both<Pmuludq>(t, 0xF4);
    both<Pmaddwd>(t, 0xF5);
    both<Psadbw>(t, 0xF6);
    setSimd(t, 0xF7, T::kPfxNone, maskmovq);
    setSimd(t, 0xF7, T::kPfx66, maskmovdqu);
    both<Psubb>(t, 0xF8);
    both<Psubw>(t, 0xF9);
    both<Psubd>(t, 0xFA);
    both<Psubq>(t, 0xFB);
    both<Paddb>(t, 0xFC);
    both<Paddw>(t, 0xFD);
    both<Paddd>(t, 0xFE);
}

}  // namespace cxvm::x86::simd
#endif
