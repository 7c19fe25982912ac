// Instruction decoder (SDM Vol. 2 ch. 2): prefixes, opcode tables, ModRM/SIB with 16-
// and 32-bit addressing, displacement and immediates, into an Insn.
#include "x86/Exec.h"

namespace cxvm::x86 {

namespace {

void undefinedOpcode(Cpu& c, const Insn&) { c.invalidOpcode(); }

OpTable buildTable() {
    OpTable t;
    for (auto& d : t.one) d = {undefinedOpcode, undefinedOpcode, 0};
    for (auto& d : t.two) d = {undefinedOpcode, undefinedOpcode, 0};
    registerAlu(t);
    registerFlow(t);
    registerString(t);
    registerSystem(t);
    registerSimd(t);
    return t;
}

const OpTable kTable = buildTable();

// 16-bit addressing forms (SDM Vol. 2 Table 2-1): base, index per rm.
constexpr std::uint8_t kBase16[8] = {EBX, EBX, EBP, EBP, ESI, EDI, EBP, EBX};
constexpr std::uint8_t kIndex16[8] = {ESI, EDI, ESI, EDI, 8, 8, 8, 8};

// LOCK is allowed only on these read-modify-write forms with a memory destination (SDM
// Vol. 2 "LOCK"); anything else is #UD. Per opcode: the ModRM.reg values allowed (bit n).
struct LockTable {
    std::uint8_t one[256] = {}, two[256] = {};
};
constexpr LockTable buildLockTable() {
    LockTable t;
    for (unsigned op : {0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30,
                        0x31, 0x86, 0x87})
        t.one[op] = 0xFF;                                            // ALU Eb/Ev,G; XCHG
    for (unsigned op : {0x80, 0x81, 0x82, 0x83}) t.one[op] = 0x7F;   // group 1 but CMP
    t.one[0xF6] = t.one[0xF7] = 0x0C;                                // NOT, NEG
    t.one[0xFE] = t.one[0xFF] = 0x03;                                // INC, DEC
    for (unsigned op : {0xAB, 0xB3, 0xBB, 0xB0, 0xB1, 0xC0, 0xC1}) t.two[op] = 0xFF;  // BTx, CMPXCHG, XADD
    t.two[0xBA] = 0xE0;                                              // BTS BTR BTC imm
    t.two[0xC7] = 0x02;                                              // CMPXCHG8B
    return t;
}
constexpr LockTable kLockable = buildLockTable();

// Instructions that end a translated block (Block.h): near/far control transfers,
// software interrupts, HLT, the system instructions that change how code is fetched
// (MOV CRn, group 7: LGDT/LIDT/LMSW/INVLPG/VMCALL, SYSENTER/SYSEXIT), and STI/POPF,
// which may open the interrupt window (INTR is looked at between blocks). Per opcode: the
// ModRM.reg values that end (0xFF: all forms; for opcodes without ModRM any bit works).
struct BlockEndTable {
    std::uint8_t one[256] = {}, two[256] = {};
};
constexpr BlockEndTable buildBlockEndTable() {
    BlockEndTable t;
    for (unsigned op = 0x70; op <= 0x7F; ++op) t.one[op] = 0xFF;  // Jcc rel8
    for (unsigned op : {0x9A, 0xC2, 0xC3, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xE0, 0xE1, 0xE2,
                        0xE3, 0xE8, 0xE9, 0xEA, 0xEB, 0xF1, 0xF4, 0xFB, 0x9D})
        t.one[op] = 0xFF;
    t.one[0xFF] = 0x3C;  // CALL/CALLF/JMP/JMPF r/m
    for (unsigned op = 0x80; op <= 0x8F; ++op) t.two[op] = 0xFF;  // Jcc rel16/32
    for (unsigned op : {0x01, 0x0B, 0x22, 0x34, 0x35}) t.two[op] = 0xFF;
    return t;
}
constexpr BlockEndTable kBlockEnd = buildBlockEndTable();

}  // namespace

void Cpu::decode(Insn& in) {
    const bool d32 = seg_[CS].db;
    bool o32 = d32, a32 = d32;
    std::uint32_t off = insnEip_;
    unsigned n = 0;
    auto next = [&]() -> std::uint8_t {
        if (n >= 15) [[unlikely]]
            raise(vec::GP, 0);  // instruction longer than 15 bytes
        std::uint32_t o = off + n++;
        if (!d32) o &= 0xFFFF;
        return fetchByte(o);
    };
    std::uint8_t b;
    for (;;) {
        b = next();
        switch (b) {
        case 0x26: in.seg = ES; in.segOverride = true; continue;
        case 0x2E: in.seg = CS; in.segOverride = true; continue;
        case 0x36: in.seg = SS; in.segOverride = true; continue;
        case 0x3E: in.seg = DS; in.segOverride = true; continue;
        case 0x64: in.seg = FS; in.segOverride = true; continue;
        case 0x65: in.seg = GS; in.segOverride = true; continue;
        case 0x66: o32 = !d32; continue;
        case 0x67: a32 = !d32; continue;
        case 0xF0: in.lock = true; continue;
        case 0xF2:
        case 0xF3: in.rep = b; continue;
        default: break;
        }
        break;
    }
    const OpDef* def;
    if (b == 0x0F) {
        b = next();
        in.twoByte = true;
        def = &kTable.two[b];
        if (kTable.hasSimd[b]) [[unlikely]]  // mandatory prefix (SDM Vol. 2 2.1.2)
            def = &kTable.simd[b][in.rep == 0xF3   ? OpTable::kPfxF3
                                  : in.rep == 0xF2 ? OpTable::kPfxF2
                                  : o32 != d32     ? OpTable::kPfx66
                                                   : OpTable::kPfxNone];
    } else {
        def = &kTable.one[b];
    }
    in.op = b;
    in.o32 = o32;
    in.a32 = a32;
    const std::uint8_t f = def->flags;
    auto fetchN = [&](unsigned bytes) -> std::uint32_t {
        std::uint32_t v = 0;
        for (unsigned i = 0; i < bytes; ++i) v |= std::uint32_t{next()} << (8 * i);
        return v;
    };
    if (f & opf::ModRM) {
        const std::uint8_t m = next();
        in.mod = m >> 6;
        in.reg = (m >> 3) & 7;
        in.rm = m & 7;
        if (in.mod != 3) {
            std::uint8_t defSeg = DS;
            if (a32) {
                std::uint8_t rm = in.rm;
                if (rm == 4) {
                    const std::uint8_t sib = next();
                    in.scale = sib >> 6;
                    const std::uint8_t idx = (sib >> 3) & 7;
                    in.index = idx == 4 ? 8 : idx;
                    rm = sib & 7;
                    if (rm == 5 && in.mod == 0) {
                        in.base = 8;
                        in.disp = fetchN(4);
                    } else {
                        in.base = rm;
                    }
                } else if (rm == 5 && in.mod == 0) {
                    in.base = 8;
                    in.disp = fetchN(4);
                } else {
                    in.base = rm;
                }
                if (in.base == ESP || in.base == EBP) defSeg = SS;
                if (in.mod == 1)
                    in.disp = static_cast<std::uint32_t>(static_cast<std::int8_t>(next()));
                else if (in.mod == 2)
                    in.disp = fetchN(4);
            } else {
                if (in.mod == 0 && in.rm == 6) {
                    in.base = 8;
                    in.disp = fetchN(2);
                } else {
                    in.base = kBase16[in.rm];
                    in.index = kIndex16[in.rm];
                    if (in.base == EBP) defSeg = SS;
                }
                if (in.mod == 1)
                    in.disp = static_cast<std::uint32_t>(static_cast<std::int8_t>(next()));
                else if (in.mod == 2)
                    in.disp = static_cast<std::uint32_t>(static_cast<std::int16_t>(fetchN(2)));
            }
            if (!in.segOverride) in.seg = defSeg;
        }
    }
    if (f & (opf::Ib | opf::Iw | opf::Iz | opf::Ap | opf::Moffs | opf::IwIb | opf::TestImm)) {
        if (f & opf::Ib) {
            in.imm = next();
        } else if (f & opf::Iw) {
            in.imm = fetchN(2);
        } else if (f & opf::Iz) {
            in.imm = fetchN(o32 ? 4 : 2);
        } else if (f & opf::Ap) {
            in.imm = fetchN(o32 ? 4 : 2);
            in.imm2 = fetchN(2);
        } else if (f & opf::Moffs) {
            in.disp = fetchN(a32 ? 4 : 2);
        } else if (f & opf::IwIb) {
            in.imm = fetchN(2);
            in.imm2 = next();
        } else if ((f & opf::TestImm) && in.reg < 2) {
            in.imm = (b & 1) ? fetchN(o32 ? 4 : 2) : next();
        }
    }
    in.len = static_cast<std::uint8_t>(n);
    in.fn = o32 ? def->h32 : def->h16;
    if (o32 && (f & opf::ModRM)) {
        if (in.mod == 3 && def->reg32)
            in.fn = def->reg32;
        else if (in.mod != 3 && a32 && def->mem32)
            in.fn = def->mem32;
    }
    if (in.lock) [[unlikely]] {
        const std::uint8_t allowed = in.twoByte ? kLockable.two[b] : kLockable.one[b];
        if (!(f & opf::ModRM) || in.mod == 3 || !(allowed & (1u << in.reg))) in.fn = undefinedOpcode;
    }
    const std::uint8_t ends = in.twoByte ? kBlockEnd.two[b] : kBlockEnd.one[b];
    // An undefined opcode always faults: whatever follows it need not be decoded.
    in.endsBlock = (ends & (1u << in.reg)) || in.fn == undefinedOpcode;
}

}  // namespace cxvm::x86
