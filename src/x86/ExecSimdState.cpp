// MMX/SSE state instructions: FXSAVE/FXRSTOR (SDM Vol. 1 10.5.1, Vol. 2 FXSAVE),
// LDMXCSR/STMXCSR, EMMS, the fences, CLFLUSH and the PREFETCHh hints; and the table
// registration of everything MMX/SSE/SSE2 (ExecSimd*.cpp, ExecSseFp.cpp).
#include "x86/Exec.h"
#include "x86/SseHost.h"
#include "x86/X87Unit.h"

#if defined(__x86_64__)
#include "x86/Simd.h"
#endif

namespace cxvm::x86 {

std::uint64_t Cpu::mmx(unsigned i) const {
    return x87_->mmx(i);
}

#if defined(__x86_64__)
namespace simd {

namespace {

using T = OpTable;

void put32(u8* p, u32 v) {
    std::memcpy(p, &v, 4);
}
u32 get32(const u8* p) {
    u32 v;
    std::memcpy(&v, p, 4);
    return v;
}

// The 512-byte FXSAVE area: #NM with CR0.TS or CR0.EM (not #UD: FXSAVE/FXRSTOR only need
// CPUID.FXSR), #GP(0) unless 16-byte aligned; the whole area is checked (segment limit,
// then every page it touches) before anything is stored or loaded, so a fault leaves
// memory and state as they were.
u32 fxArea(Cpu& c, const Insn& in, bool write) {
    if (c.cr0_ & (cr0::TS | cr0::EM)) Cpu::raise(vec::NM);
    const u32 off = ea(c, in);
    if ((c.seg_[in.seg].base + off) & 15) Cpu::raise(vec::GP, 0);
    struct Area {
        u8 b[512];
    };
    const u32 lin = c.linear<Area>(in.seg, off, write);
    u32 phys;
    c.translate(lin, c.userAcc_ | (write ? 1u : 0u), write, phys);
    if (((lin + 511) ^ lin) & ~0xFFFu)
        c.translate(lin + 511, c.userAcc_ | (write ? 1u : 0u), write, phys);
    return lin;
}

// 0F AE /0: FXSAVE m512. Written: bytes 0-287 (x87 environment and registers, MXCSR,
// MXCSR_MASK, XMM0-7) but the 6 reserved bytes after each x87 register; bytes 288-511
// (reserved, and 464-511 for software) are left as they are. XMM0-7 and MXCSR are saved
// whatever CR4.OSFXSR says (the SDM leaves that case to the implementation).
void fxsave(Cpu& c, const Insn& in) {
    const u32 lin = fxArea(c, in, true);
    alignas(16) u8 img[288];
    c.x87_->storeFx(img);
    put32(img + 24, c.mxcsr_);
    put32(img + 28, mxcsr::kMask);
    std::memcpy(img + 160, c.xmm_, 128);
    for (unsigned o = 0; o < 32; o += 8) {
        u64 v;
        std::memcpy(&v, img + o, 8);
        c.writeLin<u64>(lin + o, v, c.userAcc_);
    }
    for (unsigned i = 0; i < 8; ++i) {
        u64 v;
        u16 e;
        std::memcpy(&v, img + 32 + 16 * i, 8);
        std::memcpy(&e, img + 40 + 16 * i, 2);
        c.writeLin<u64>(lin + 32 + 16 * i, v, c.userAcc_);
        c.writeLin<u16>(lin + 40 + 16 * i, e, c.userAcc_);
    }
    for (unsigned i = 0; i < 8; ++i) c.writeLin<Xmm>(lin + 160 + 16 * i, c.xmm_[i], c.userAcc_);
}

// 0F AE /1: FXRSTOR m512. #GP(0) when the image's MXCSR sets a bit outside MXCSR_MASK,
// before anything changes.
void fxrstor(Cpu& c, const Insn& in) {
    const u32 lin = fxArea(c, in, false);
    alignas(16) u8 img[288];
    for (unsigned o = 0; o < 288; o += 16) {
        const Xmm v = c.readLin<Xmm>(lin + o, c.userAcc_);
        std::memcpy(img + o, v.q, 16);
    }
    const u32 mx = get32(img + 24);
    if (mx & ~mxcsr::kMask) Cpu::raise(vec::GP, 0);
    c.x87_->loadFx(img);
    c.mxcsr_ = mx;
    std::memcpy(c.xmm_, img + 160, 128);
}

// 0F AE /2: LDMXCSR m32 (#GP(0) for reserved bits); /3: STMXCSR m32.
void ldmxcsr(Cpu& c, const Insn& in) {
    sseCheck(c);
    const u32 v = readMem<u32>(c, in);
    if (v & ~mxcsr::kMask) Cpu::raise(vec::GP, 0);
    c.mxcsr_ = v;
}
void stmxcsr(Cpu& c, const Insn& in) {
    sseCheck(c);
    writeMem<u32>(c, in, c.mxcsr_);
}

// 0F AE /7 (memory): CLFLUSH m8 -- no cache to flush; the checks and faults of a byte
// load (SDM Vol. 2 CLFLUSH), without reading (no MMIO side effects).
void clflush(Cpu& c, const Insn& in) {
    const u32 lin = c.linear<u8>(in.seg, ea(c, in), false);
    u32 phys;
    c.translate(lin, c.userAcc_, false, phys);
}

// 0F AE: group 15. Memory: FXSAVE FXRSTOR LDMXCSR STMXCSR - - - CLFLUSH; register
// (mod 3): /5 LFENCE, /6 MFENCE, /7 SFENCE -- with one vCPU whose every access is
// performed in order, ordering is already total: nothing to do.
void group15(Cpu& c, const Insn& in) {
    if (in.mod == 3) {
        if (in.reg < 5) c.invalidOpcode();
        return;
    }
    switch (in.reg) {
        case 0:
            fxsave(c, in);
            return;
        case 1:
            fxrstor(c, in);
            return;
        case 2:
            ldmxcsr(c, in);
            return;
        case 3:
            stmxcsr(c, in);
            return;
        case 7:
            clflush(c, in);
            return;
        default:
            c.invalidOpcode();  // XSAVE, XRSTOR, XSAVEOPT: not implemented
    }
}

// 0F 18: PREFETCHNTA/T0/T1/T2 m8 and the rest of the hint space: no access, no fault.
void prefetch(Cpu&, const Insn&) {}

// 0F 77: EMMS -- every x87 tag empty (SDM Vol. 1 9.6.3); TOP is not changed.
void emms(Cpu& c, const Insn&) {
    mmxCheck(c);
    c.x87_->emms();
}

}  // namespace

}  // namespace simd
#endif

void registerSimd(OpTable& t) {
#if defined(__x86_64__)
    if (!sseHostAvailable()) return;
    using namespace simd;
    registerSimdInt(t);
    registerSimdMove(t);
    registerSseFp(t);
    setSimd(t, 0xAE, OpTable::kPfxNone, group15);
    for (unsigned p = 0; p < 4; ++p) setSimd(t, 0x18, p, prefetch);
    setSimd(t, 0x77, OpTable::kPfxNone, emms, 0);
#else
    (void)t;
#endif
}

}  // namespace cxvm::x86
