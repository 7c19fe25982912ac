#include "x86/X87.h"

#include "x86/X87Host.h"
#include "x86/X87Opcodes.h"

#include <cstring>

namespace cxvm::x86 {

namespace {

constexpr std::uint16_t kFlagsAndSummary = 0xFF | x87sw::B;  // FNCLEX clears these

std::uint16_t get16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t get32(const std::uint8_t* p) {
    return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
void put16(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    put16(p, v);
    put16(p + 2, v >> 16);
}

// Tag of a non-empty register from its contents (SDM Vol. 1 8.1.7).
unsigned classify(const std::array<std::uint8_t, 10>& r) {
    std::uint64_t sig;
    std::memcpy(&sig, r.data(), 8);
    const unsigned exp = get16(r.data() + 8) & 0x7FFF;
    if (exp == 0x7FFF) return 2;  // infinity, NaN
    if (exp == 0) return sig == 0 ? 1 : 2;  // zero; denormal, pseudo-denormal
    return (sig >> 63) ? 0 : 2;  // valid; unnormal (unsupported)
}

// Byte size of the FLDENV/FNSTENV environment (SDM Vol. 1 8.1.10).
unsigned envBytes(const X87Context& ctx) { return ctx.operand16 ? 14 : 28; }

}  // namespace

void X87::reset() {
    img_ = {};
    img_.cw = 0x0040;
    img_.tw = 0x5555;  // every register holds +0.0 and is tagged zero
    fip_ = fdp_ = 0;
    fcs_ = fds_ = fop_ = 0;
}

void X87::setTop(unsigned newTop) {
    // The image holds the stack in ST order; a new TOP renames, the physical registers
    // keep their contents (FNINIT, FLDENV and friends do not touch R0..R7).
    const auto old = img_.st;
    const unsigned shift = (newTop - top()) & 7;
    for (unsigned i = 0; i < 8; ++i) img_.st[i] = old[(i + shift) & 7];
    img_.sw = (img_.sw & ~(7u << x87sw::kTopShift)) | ((newTop & 7) << x87sw::kTopShift);
}

void X87::init() {
    img_.cw = 0x037F;
    setTop(0);
    img_.sw = 0;
    img_.tw = 0xFFFF;
    fip_ = fdp_ = 0;
    fcs_ = fds_ = fop_ = 0;
}

bool X87::hasPendingUnmaskedException() const {
    return (img_.sw & ~img_.cw & x87sw::kExceptions) != 0;
}

void X87::recomputeErrorSummary() {
    // ES (and B, which mirrors it since the 80387) summarise the unmasked flags; a set
    // flag whose mask FLDCW/FLDENV clears becomes pending at once (SDM Vol. 1 8.1.3.6).
    if (hasPendingUnmaskedException())
        img_.sw |= x87sw::ES | x87sw::B;
    else
        img_.sw &= ~static_cast<std::uint32_t>(x87sw::ES | x87sw::B);
}

bool X87::isEmpty(unsigned physicalReg) const {
    // FNSAVE images hold the full tag word; only "empty" (11) survives FRSTOR on the
    // host, so that is the only distinction kept.
    return ((img_.tw >> (2 * (physicalReg & 7))) & 3) == 3;
}

std::uint16_t X87::tagWord() const {
    std::uint16_t tw = 0;
    for (unsigned r = 0; r < 8; ++r) {
        const unsigned tag = isEmpty(r) ? 3 : classify(img_.st[(r - top()) & 7]);
        tw = static_cast<std::uint16_t>(tw | (tag << (2 * r)));
    }
    return tw;
}

X87Reg X87::st(unsigned i) const {
    X87Reg v;
    std::memcpy(&v.significand, img_.st[i & 7].data(), 8);
    v.signExponent = get16(img_.st[i & 7].data() + 8);
    return v;
}

X87Reg X87::physical(unsigned r) const { return st((r - top()) & 7); }

void X87::setControlWord(std::uint16_t cw) {
    // Bits 6, 13-15 are reserved; bit 6 reads as 1 on the P6 and later (host FNSTCW).
    img_.cw = (cw & 0x1F3F) | 0x0040;
    recomputeErrorSummary();
}

void X87::setStatusWord(std::uint16_t sw) {
    setTop((sw >> x87sw::kTopShift) & 7);
    img_.sw = sw;
    recomputeErrorSummary();
}

void X87::setTagWord(std::uint16_t tw) {
    // Abridge to empty / not empty, then store the classification FNSAVE would.
    std::uint32_t full = 0;
    for (unsigned r = 0; r < 8; ++r) {
        const bool empty = ((tw >> (2 * r)) & 3) == 3;
        full |= (empty ? 3u : classify(img_.st[(r - top()) & 7])) << (2 * r);
    }
    img_.tw = full;
}

void X87::setSt(unsigned i, X87Reg v) {
    std::memcpy(img_.st[i & 7].data(), &v.significand, 8);
    put16(img_.st[i & 7].data() + 8, v.signExponent);
}

X87Outcome X87::execute(const X87Context& ctx, X87MemoryBus& mem, std::uint16_t& ax,
                        std::uint32_t& eflags) {
    const X87OpInfo& info = x87OpInfo(ctx.opcode, ctx.modrm);
    if (info.kind == X87Kind::Invalid) return X87Outcome::Invalid;
    if (info.waiting && hasPendingUnmaskedException()) return X87Outcome::PendingException;
    if (info.kind == X87Kind::Control) return executeControl(ctx, mem, ax);

    const bool memoryForm = ctx.modrm < 0xC0;
    alignas(16) std::uint8_t operand[16] = {};
    // Exception neutrality: read the operand before touching any state.
    if (memoryForm && !info.store) mem.read(ctx.dataOffset, operand, info.memBytes);

    X87HostImage next = img_;
    const std::uint32_t hostFlags = x87HostRun(next, ctx.opcode, ctx.modrm, operand, eflags);

    if (memoryForm && info.store) {
        // No waiting exception was pending before, so an unmasked flag now set is this
        // instruction's. Unmasked #I/#O/#U leave a memory destination unwritten (SDM
        // Vol. 1 8.5.1, 8.5.4, 8.5.5); unmasked #P still stores the rounded result.
        const bool stored = (next.sw & ~next.cw & (x87sw::kExceptions & ~x87sw::PE)) == 0;
        if (stored) mem.write(ctx.dataOffset, operand, info.memBytes);  // may throw
    }

    img_ = next;
    fip_ = ctx.eip;
    fcs_ = ctx.cs;
    fop_ = static_cast<std::uint16_t>(((ctx.opcode & 7u) << 8) | ctx.modrm);
    if (memoryForm) {
        fdp_ = ctx.dataOffset;
        fds_ = ctx.ds;
    }
    if (info.writesEflags) {
        constexpr std::uint32_t kArith = 0x8D5;
        eflags = (eflags & ~kArith) | hostFlags;
    }
    return X87Outcome::Done;
}

X87Outcome X87::executeControl(const X87Context& ctx, X87MemoryBus& mem, std::uint16_t& ax) {
    const X87OpInfo& info = x87OpInfo(ctx.opcode, ctx.modrm);
    std::uint8_t buf[108] = {};
    switch (info.control) {
        case X87Control::Fldenv:
            mem.read(ctx.dataOffset, buf, envBytes(ctx));
            loadEnvironment(ctx, buf);
            break;
        case X87Control::Fldcw:
            mem.read(ctx.dataOffset, buf, 2);
            setControlWord(get16(buf));
            break;
        case X87Control::Fnstenv:
            storeEnvironment(ctx, buf);
            mem.write(ctx.dataOffset, buf, envBytes(ctx));
            // FNSTENV then masks every exception (SDM Vol. 2 FSTENV/FNSTENV).
            setControlWord(static_cast<std::uint16_t>(img_.cw | x87sw::kExceptions));
            break;
        case X87Control::Fnstcw:
            put16(buf, img_.cw);
            mem.write(ctx.dataOffset, buf, 2);
            break;
        case X87Control::Frstor: {
            const unsigned env = envBytes(ctx);
            mem.read(ctx.dataOffset, buf, env + 80);
            loadEnvironment(ctx, buf);  // sets TOP first: the registers follow in ST order
            for (unsigned i = 0; i < 8; ++i) std::memcpy(img_.st[i].data(), buf + env + 10 * i, 10);
            setTagWord(get16(buf + 8));
            break;
        }
        case X87Control::Fnsave: {
            const unsigned env = envBytes(ctx);
            storeEnvironment(ctx, buf);
            for (unsigned i = 0; i < 8; ++i) std::memcpy(buf + env + 10 * i, img_.st[i].data(), 10);
            mem.write(ctx.dataOffset, buf, env + 80);
            init();
            break;
        }
        case X87Control::FnstswMem:
            put16(buf, img_.sw);
            mem.write(ctx.dataOffset, buf, 2);
            break;
        case X87Control::FnstswAx:
            ax = static_cast<std::uint16_t>(img_.sw);
            break;
        case X87Control::Fnclex:
            img_.sw &= ~static_cast<std::uint32_t>(kFlagsAndSummary);
            break;
        case X87Control::Fninit:
            init();
            break;
        case X87Control::LegacyNop:
        case X87Control::None:
            break;
    }
    return X87Outcome::Done;
}

// Environment layouts: SDM Vol. 1 Figures 8-9 .. 8-12. Reserved halves read as FFFFh,
// as the host's own FNSTENV writes them.
void X87::storeEnvironment(const X87Context& ctx, std::uint8_t* out) const {
    const std::uint16_t cw = controlWord(), sw = statusWord(), tw = tagWord();
    if (ctx.protectedMode) {
        if (ctx.operand16) {
            put16(out + 0, cw);
            put16(out + 2, sw);
            put16(out + 4, tw);
            put16(out + 6, fip_);
            put16(out + 8, fcs_);
            put16(out + 10, fdp_);
            put16(out + 12, fds_);
        } else {
            put32(out + 0, 0xFFFF0000u | cw);
            put32(out + 4, 0xFFFF0000u | sw);
            put32(out + 8, 0xFFFF0000u | tw);
            put32(out + 12, fip_);
            put32(out + 16, fcs_ | (static_cast<std::uint32_t>(fop_ & 0x7FF) << 16));
            put32(out + 20, fdp_);
            put32(out + 24, 0xFFFF0000u | fds_);
        }
        return;
    }
    // Real and virtual-8086 mode record 20/32-bit linear pointers.
    const std::uint32_t ip = (static_cast<std::uint32_t>(fcs_) << 4) + fip_;
    const std::uint32_t dp = (static_cast<std::uint32_t>(fds_) << 4) + fdp_;
    if (ctx.operand16) {
        put16(out + 0, cw);
        put16(out + 2, sw);
        put16(out + 4, tw);
        put16(out + 6, ip);
        put16(out + 8, ((ip >> 4) & 0xF000) | (fop_ & 0x7FF));
        put16(out + 10, dp);
        put16(out + 12, (dp >> 4) & 0xF000);
    } else {
        put32(out + 0, 0xFFFF0000u | cw);
        put32(out + 4, 0xFFFF0000u | sw);
        put32(out + 8, 0xFFFF0000u | tw);
        put32(out + 12, 0xFFFF0000u | (ip & 0xFFFF));
        put32(out + 16, ((ip >> 4) & 0x0FFFF000u) | (fop_ & 0x7FF));
        put32(out + 20, 0xFFFF0000u | (dp & 0xFFFF));
        put32(out + 24, (dp >> 4) & 0x0FFFF000u);
    }
}

void X87::loadEnvironment(const X87Context& ctx, const std::uint8_t* in) {
    const std::uint16_t cw = get16(in);
    const unsigned step = ctx.operand16 ? 2 : 4;
    const std::uint16_t sw = get16(in + step);
    const std::uint16_t tw = get16(in + 2 * step);
    if (ctx.protectedMode) {
        if (ctx.operand16) {
            fip_ = get16(in + 6);
            fcs_ = get16(in + 8);
            fdp_ = get16(in + 10);
            fds_ = get16(in + 12);
            // the 16-bit protected-mode layout has no opcode field
        } else {
            fip_ = get32(in + 12);
            fcs_ = get16(in + 16);
            fop_ = get16(in + 18) & 0x7FF;
            fdp_ = get32(in + 20);
            fds_ = get16(in + 24);
        }
    } else {
        if (ctx.operand16) {
            fip_ = get16(in + 6) | ((get16(in + 8) & 0xF000u) << 4);
            fop_ = get16(in + 8) & 0x7FF;
            fdp_ = get16(in + 10) | ((get16(in + 12) & 0xF000u) << 4);
        } else {
            fip_ = get16(in + 12) | ((get32(in + 16) & 0x0FFFF000u) << 4);
            fop_ = get16(in + 16) & 0x7FF;
            fdp_ = get16(in + 20) | ((get32(in + 24) & 0x0FFFF000u) << 4);
        }
        fcs_ = fds_ = 0;  // the pointers are linear addresses
    }
    img_.cw = (cw & 0x1F3F) | 0x0040;
    setTop((sw >> x87sw::kTopShift) & 7);
    img_.sw = sw;
    setTagWord(tw);
    recomputeErrorSummary();
}

void X87::storeFx(std::uint8_t* out) const {
    // 32-bit layout (SDM Vol. 1 Table 10-2); the reserved bytes 5, 14-15 and 22-23 are
    // stored as 0, the abridged tag has one bit per physical register (1: not empty).
    put16(out + 0, img_.cw);
    put16(out + 2, img_.sw);
    std::uint8_t abridged = 0;
    for (unsigned r = 0; r < 8; ++r)
        if (!isEmpty(r)) abridged = static_cast<std::uint8_t>(abridged | (1u << r));
    out[4] = abridged;
    out[5] = 0;
    put16(out + 6, fop_ & 0x7FF);
    put32(out + 8, fip_);
    put16(out + 12, fcs_);
    put16(out + 14, 0);
    put32(out + 16, fdp_);
    put16(out + 20, fds_);
    put16(out + 22, 0);
    for (unsigned i = 0; i < 8; ++i) std::memcpy(out + 32 + 16 * i, img_.st[i].data(), 10);
}

void X87::loadFx(const std::uint8_t* in) {
    img_.cw = (get16(in) & 0x1F3F) | 0x0040;
    const std::uint16_t sw = get16(in + 2);
    fop_ = get16(in + 6) & 0x7FF;
    fip_ = get32(in + 8);
    fcs_ = get16(in + 12);
    fdp_ = get32(in + 16);
    fds_ = get16(in + 20);
    // The registers are stored in ST order: place them under the new TOP.
    img_.sw = (img_.sw & ~(7u << x87sw::kTopShift)) | (sw & (7u << x87sw::kTopShift));
    for (unsigned i = 0; i < 8; ++i) std::memcpy(img_.st[i].data(), in + 32 + 16 * i, 10);
    img_.sw = sw;
    std::uint16_t tw = 0;
    for (unsigned r = 0; r < 8; ++r)
        if (!(in[4] & (1u << r))) tw = static_cast<std::uint16_t>(tw | (3u << (2 * r)));
    setTagWord(tw);
    recomputeErrorSummary();
}

}  // namespace cxvm::x86
