#include "x86/jit/BlockCompiler.h"

#include "x86/Cpu.h"

#include <cstddef>

#if defined(__x86_64__)
#include <xbyak/xbyak.h>
#endif

// libgcc's unwinder: frame information of run-time generated code.
extern "C" void __register_frame(void* begin);
extern "C" void __deregister_frame(void* begin);

namespace cxvm::x86::jit {

namespace {


int offsetIn(const Cpu& c, const void* field) {
    return static_cast<int>(static_cast<const char*>(field) - reinterpret_cast<const char*>(&c));
}

#if defined(__x86_64__)

using namespace Xbyak::util;
using FlagOp = Cpu::FlagOp;
constexpr unsigned kNone = 8;  // register index "none" in Insn

enum class Alu : std::uint8_t { Add, Or, And, Sub, Xor, Cmp, Test, None };
// The ALU operation of ModRM opcodes 00-3F by bits 5..3, and of group 1 by /reg.
constexpr Alu kAluByRow[8] = {Alu::Add, Alu::Or,  Alu::None, Alu::None,
                              Alu::And, Alu::Sub, Alu::Xor,  Alu::Cmp};

// What an instruction compiles to (decided from its decoded fields; the handler the
// decoder chose implements the same instruction, and remains the slow path).
enum class Form : std::uint8_t {
    Call,       // the handler
    MovRR,      // 89/8B mod 3
    Load,       // 8B: reg <- [m]
    Store,      // 89: [m] <- reg
    StoreImm,   // C7 /0 memory
    MovRI,      // B8+r, C7 /0 mod 3
    Lea,        // 8D
    AluRR,      // ALU r/m, r or r, r/m with mod 3; TEST r, r
    AluRM,      // r, [m] (03..3B odd+2), CMP [m], r (39), TEST [m], r (85)
    AluRI,      // 81/83 mod 3
    CmpMI,      // 81/83 /7 memory: CMP [m], imm
    IncDec,     // 40-4F
};

struct Plan {
    Form form = Form::Call;
    Alu alu = Alu::None;
};

Plan plan(const Insn& in) {
    if (in.twoByte || !in.o32 || in.lock) return {};
    const bool reg = in.mod == 3;
    const bool mem32 = !reg && in.a32;
    const unsigned op = in.op;
    if (op < 0x40 && (op & 7) <= 3 && (op & 1)) {  // ALU Ev,Gv (x1) / Gv,Ev (x3)
        const Alu a = kAluByRow[op >> 3];
        if (a == Alu::None) return {};
        if (reg) return {Form::AluRR, a};
        // op [m], r writes memory (a read-modify-write): handler. CMP only reads.
        if (mem32 && ((op & 2) || a == Alu::Cmp)) return {Form::AluRM, a};
        return {};
    }
    switch (op) {
    case 0x85: return reg ? Plan{Form::AluRR, Alu::Test} : mem32 ? Plan{Form::AluRM, Alu::Test} : Plan{};
    case 0x89: return reg ? Plan{Form::MovRR} : mem32 ? Plan{Form::Store} : Plan{};
    case 0x8B: return reg ? Plan{Form::MovRR} : mem32 ? Plan{Form::Load} : Plan{};
    case 0x8D: return mem32 ? Plan{Form::Lea} : Plan{};
    case 0xC7:
        if (in.reg != 0) return {};
        return reg ? Plan{Form::MovRI} : mem32 ? Plan{Form::StoreImm} : Plan{};
    case 0x81:
    case 0x83: {
        const Alu a = kAluByRow[in.reg];
        if (a == Alu::None) return {};
        if (reg) return {Form::AluRI, a};
        if (mem32 && a == Alu::Cmp) return {Form::CmpMI, a};
        return {};
    }
    default: break;
    }
    if (op >= 0x40 && op <= 0x4F) return {Form::IncDec};
    if (op >= 0xB8 && op <= 0xBF) return {Form::MovRI};
    return {};
}

class Emitter : public Xbyak::CodeGenerator {
public:
    Emitter(const BlockCompiler::Layout& l, std::uint8_t* buf, std::size_t size)
        : CodeGenerator(size, buf), l_(l) {}

    void block(const Insn* insns, unsigned n) {
        prologue();
        unsigned start = 0;
        for (unsigned i = 0; i < n; ++i) {
            const Insn& in = insns[i];
            const unsigned end = start + in.len;
            const bool last = i + 1 == n;
            const Plan p = plan(in);
            if (p.form == Form::Call)
                viaHandler(in, start, end, last);
            else
                inlined(in, p, i, start, end);
            if (last) {
                if (p.form != Form::Call) {
                    lea(eax, ptr[r12 + int(end)]);
                    mov(dword[rbx + l_.eip], eax);
                }
                leave(pending_);
            }
            start = end;
        }
        for (unsigned i = 0; i < slowCount_; ++i) slowPath(slow_[i]);
        L(epilogue_);
        add(rsp, 8);
        pop(r14);
        pop(r13);
        pop(r12);
        pop(rbx);
        ret();
    }

private:
    struct Slow {
        Xbyak::Label entry, resume;
        const Insn* in = nullptr;
        unsigned start = 0, end = 0, pending = 0;
    };

    Xbyak::Address reg(unsigned r) { return dword[rbx + l_.regs + 4 * int(r)]; }
    Xbyak::Address seg(unsigned s, int field) { return dword[rbx + l_.seg[s] + field]; }

    // rbx = Cpu*, r12 = EIP of the block's first instruction, r13 = byte offset of this
    // privilege level's read tag in a TLB entry, r14 = the TLB. The frame is the one
    // ehFrame() describes.
    void prologue() {
        push(rbx);
        push(r12);
        push(r13);
        push(r14);
        sub(rsp, 8);  // 16-byte aligned at calls
        mov(rbx, rdi);
        mov(r12d, dword[rbx + l_.eip]);
        mov(r13d, dword[rbx + l_.userAcc]);
        shl(r13d, 2);
        mov(r14, qword[rbx + l_.tlb]);
    }

    // Leaves the block successfully with `retire` instructions not yet counted.
    void leave(unsigned retire) {
        if (retire) add(qword[rbx + l_.retired], retire);
        jmp(epilogue_, T_NEAR);
    }

    void syncRetired() {
        if (pending_) add(qword[rbx + l_.retired], pending_);
        pending_ = 0;
    }

    // The interpreter's protocol around a handler: faults restart at insnEip with
    // insnEsp, EIP is the next instruction (a branch replaces it).
    void callHandlerFor(const Insn& in, unsigned start, unsigned end) {
        lea(eax, ptr[r12 + int(start)]);
        mov(dword[rbx + l_.insnEip], eax);
        mov(eax, reg(ESP));
        mov(dword[rbx + l_.insnEsp], eax);
        lea(eax, ptr[r12 + int(end)]);
        mov(dword[rbx + l_.eip], eax);
        mov(rdi, rbx);
        mov(rsi, reinterpret_cast<std::uintptr_t>(&in));
        mov(rax, reinterpret_cast<std::uintptr_t>(in.fn));
        call(rax);
    }

    void viaHandler(const Insn& in, unsigned start, unsigned end, bool last) {
        syncRetired();
        callHandlerFor(in, start, end);
        pending_ = 1;
        if (last) return;  // the block ends after it whatever it did
        // A taken branch, or a handler that asked to leave (SMC, mode change, stop).
        Xbyak::Label stay, exit;
        lea(ecx, ptr[r12 + int(end)]);
        cmp(dword[rbx + l_.eip], ecx);
        jne(exit, T_NEAR);
        cmp(byte[rbx + l_.blockExit], 0);
        je(stay, T_NEAR);
        L(exit);
        leave(1);
        L(stay);
    }

    // eax <- the effective address of a 32-bit-address memory operand.
    void effectiveAddress(const Insn& in) {
        const auto disp = static_cast<std::int32_t>(in.disp);
        if (in.base != kNone && in.index != kNone) {
            mov(eax, reg(in.base));
            mov(ecx, reg(in.index));
            lea(eax, ptr[rax + rcx * (1 << in.scale) + disp]);
        } else if (in.base != kNone) {
            mov(eax, reg(in.base));
            if (disp) add(eax, disp);
        } else if (in.index != kNone) {
            mov(ecx, reg(in.index));
            lea(eax, ptr[rcx * (1 << in.scale) + disp]);
        } else {
            mov(eax, in.disp);
        }
    }

    // The inline fast path of a 4-byte data access: segment window and TLB tag, as
    // Cpu::linear + readLin/writeLin. Leaves rcx = host page, rax = offset in it; any
    // miss (segment fault, TLB miss, page crossing, write to a code page) goes to `slow`.
    // Clobbers eax, ecx, edx.
    void access(const Insn& in, bool write, Xbyak::Label& slow) {
        effectiveAddress(in);
        const unsigned s = in.seg;
        const int window = write ? int(offsetof(SegCache, wEnd)) : int(offsetof(SegCache, rEnd));
        mov(ecx, eax);
        sub(ecx, seg(s, offsetof(SegCache, lo)));
        cmp(rcx, qword[rbx + l_.seg[s] + window + 2 * 8]);  // [2]: 4-byte accesses
        jae(slow, T_NEAR);
        add(eax, seg(s, offsetof(SegCache, base)));
        mov(ecx, eax);
        shr(ecx, 12);
        and_(ecx, Cpu::kTlbSize - 1);
        shl(ecx, 5);
        add(rcx, r14);
        lea(edx, ptr[rax + 3]);
        and_(edx, 0xFFFFF000u);
        cmp(edx, dword[rcx + r13 + (write ? 4 : 0)]);
        jne(slow, T_NEAR);
        mov(rcx, qword[rcx + offsetof(Cpu::TlbEntry, host)]);
        and_(eax, 0xFFF);
    }

    Slow& newSlow(const Insn& in, unsigned start, unsigned end) {
        Slow& s = slow_[slowCount_++];
        s.in = &in;
        s.start = start;
        s.end = end;
        s.pending = pending_;
        return s;
    }

    // The whole instruction through its handler, then back into the block. The
    // retired count is exact around the call and restored to the inline path's.
    void slowPath(Slow& s) {
        L(s.entry);
        if (s.pending) add(qword[rbx + l_.retired], s.pending);
        callHandlerFor(*s.in, s.start, s.end);
        Xbyak::Label resume;
        cmp(byte[rbx + l_.blockExit], 0);
        je(resume, T_NEAR);
        leave(1);  // a store hit code (SMC): leave after it
        L(resume);
        if (s.pending) sub(qword[rbx + l_.retired], s.pending);
        jmp(s.resume, T_NEAR);
    }

    // Lazy flags of a 32-bit ALU result (Cpu::setLazy): eax = a, r8d = b on entry,
    // eax = result on exit.
    void alu(Alu a) {
        mov(dword[rbx + l_.lfA], eax);
        mov(dword[rbx + l_.lfB], r8d);
        FlagOp op = FlagOp::Logic;
        switch (a) {
        case Alu::Add: add(eax, r8d), op = FlagOp::Add; break;
        case Alu::Sub:
        case Alu::Cmp: sub(eax, r8d), op = FlagOp::Sub; break;
        case Alu::Or: or_(eax, r8d); break;
        case Alu::Xor: xor_(eax, r8d); break;
        default: and_(eax, r8d); break;  // AND, TEST
        }
        if (op == FlagOp::Logic) {
            mov(dword[rbx + l_.cf], 0);
        } else {
            setc(dl);  // ADD: carry out = res < a; SUB: borrow = a < b
            movzx(edx, dl);
            mov(dword[rbx + l_.cf], edx);
        }
        mov(dword[rbx + l_.lfRes], eax);
        mov(byte[rbx + l_.lfOp], static_cast<std::uint8_t>(op));
        mov(byte[rbx + l_.lfSize], 4);
    }
    static bool writesBack(Alu a) { return a != Alu::Cmp && a != Alu::Test; }

    void inlined(const Insn& in, const Plan& p, unsigned, unsigned start, unsigned end) {
        const auto imm32 = [&] {
            return in.op == 0x83 ? std::uint32_t(std::int32_t(std::int8_t(in.imm))) : in.imm;
        };
        switch (p.form) {
        case Form::MovRR:
            if (in.op == 0x89) {
                mov(eax, reg(in.reg));
                mov(reg(in.rm), eax);
            } else {
                mov(eax, reg(in.rm));
                mov(reg(in.reg), eax);
            }
            break;
        case Form::MovRI:
            mov(reg(in.op == 0xC7 ? in.rm : in.op & 7u), in.imm);
            break;
        case Form::Lea:
            effectiveAddress(in);
            mov(reg(in.reg), eax);
            break;
        case Form::IncDec: {
            const unsigned r = in.op & 7u;
            const bool inc = in.op < 0x48;
            mov(eax, reg(r));
            mov(dword[rbx + l_.lfA], eax);
            mov(dword[rbx + l_.lfB], 1);
            if (inc)
                add(eax, 1);
            else
                sub(eax, 1);
            mov(reg(r), eax);
            mov(dword[rbx + l_.lfRes], eax);
            mov(byte[rbx + l_.lfOp], static_cast<std::uint8_t>(inc ? FlagOp::Inc : FlagOp::Dec));
            mov(byte[rbx + l_.lfSize], 4);
            break;
        }
        case Form::AluRR: {
            // Ev,Gv (odd row x1, and TEST 85): a = r/m, b = reg; Gv,Ev (x3): the reverse.
            const bool rmFirst = in.op == 0x85 || !(in.op & 2);
            const unsigned dst = rmFirst ? in.rm : in.reg;
            mov(eax, reg(dst));
            mov(r8d, reg(rmFirst ? in.reg : in.rm));
            alu(p.alu);
            if (writesBack(p.alu)) mov(reg(dst), eax);
            break;
        }
        case Form::AluRI:
            mov(eax, reg(in.rm));
            mov(r8d, imm32());
            alu(p.alu);
            if (writesBack(p.alu)) mov(reg(in.rm), eax);
            break;
        case Form::Load:
        case Form::AluRM:
        case Form::CmpMI: {
            Slow& s = newSlow(in, start, end);
            access(in, false, s.entry);
            mov(edx, dword[rcx + rax]);
            if (p.form == Form::Load) {
                mov(reg(in.reg), edx);
            } else if (p.form == Form::CmpMI) {
                mov(eax, edx);
                mov(r8d, imm32());
                alu(Alu::Cmp);
            } else if (in.op == 0x85 || !(in.op & 2)) {  // CMP/TEST [m], r: a = [m]
                mov(eax, edx);
                mov(r8d, reg(in.reg));
                alu(p.alu);
            } else {  // op r, [m]
                mov(eax, reg(in.reg));
                mov(r8d, edx);
                alu(p.alu);
                if (writesBack(p.alu)) mov(reg(in.reg), eax);
            }
            L(s.resume);
            break;
        }
        case Form::Store:
        case Form::StoreImm: {
            Slow& s = newSlow(in, start, end);
            if (p.form == Form::Store)
                mov(r8d, reg(in.reg));
            else
                mov(r8d, in.imm);
            access(in, true, s.entry);
            mov(dword[rcx + rax], r8d);
            L(s.resume);
            break;
        }
        case Form::Call: break;
        }
        ++pending_;
    }

    const BlockCompiler::Layout& l_;
    unsigned pending_ = 0;  // retired instructions not yet added to Cpu::retired_
    Xbyak::Label epilogue_;
    Slow slow_[Cpu::kMaxBlockInsns];
    unsigned slowCount_ = 0;
};

// DWARF call frame information (.eh_frame layout, LSB 5.0 "Exception Frames") for the
// frame every compiled block has after its prologue: return address at CFA-8, rbx r12
// r13 r14 pushed below it, rsp = CFA-48. One FDE covers the whole arena; no exception
// starts in a prologue or epilogue (only handlers throw, and they run from the body).
std::vector<std::uint8_t> ehFrame(const std::uint8_t* begin, std::size_t size) {
    std::vector<std::uint8_t> f;
    auto u8 = [&](unsigned v) { f.push_back(static_cast<std::uint8_t>(v)); };
    auto u32 = [&](std::uint32_t v) { for (int i = 0; i < 4; ++i) u8((v >> (8 * i)) & 0xFF); };
    auto u64 = [&](std::uint64_t v) { for (int i = 0; i < 8; ++i) u8((v >> (8 * i)) & 0xFF); };
    auto patchLength = [&](std::size_t at) {  // pad to 8, then the length (sans itself)
        while ((f.size() - at) % 8) u8(0);  // DW_CFA_nop
        const auto len = static_cast<std::uint32_t>(f.size() - at - 4);
        for (int i = 0; i < 4; ++i) f[at + i] = static_cast<std::uint8_t>(len >> (8 * i));
    };
    enum : unsigned { kRbx = 3, kRsp = 7, kR12 = 12, kR13 = 13, kR14 = 14, kRip = 16 };
    const std::size_t cie = f.size();
    u32(0);  // length
    u32(0);  // CIE id
    u8(1);   // version
    u8('z'), u8('R'), u8(0);
    u8(1);        // code alignment
    u8(0x78);     // data alignment -8 (SLEB128)
    u8(kRip);     // return address column
    u8(1);        // augmentation data: 1 byte
    u8(0x00);     // FDE addresses: DW_EH_PE_absptr
    u8(0x0c), u8(kRsp), u8(8);  // DW_CFA_def_cfa rsp+8
    u8(0x80 | kRip), u8(1);     // DW_CFA_offset rip, CFA-8
    patchLength(cie);
    const std::size_t fde = f.size();
    u32(0);                                        // length
    u32(static_cast<std::uint32_t>(f.size() - cie));  // CIE pointer (back from here)
    u64(reinterpret_cast<std::uintptr_t>(begin));  // pc begin
    u64(size);                                     // pc range
    u8(0);                                         // augmentation data: none
    u8(0x0e), u8(48);                              // DW_CFA_def_cfa_offset 48
    u8(0x80 | kRbx), u8(2);                        // DW_CFA_offset rbx, CFA-16
    u8(0x80 | kR12), u8(3);
    u8(0x80 | kR13), u8(4);
    u8(0x80 | kR14), u8(5);
    patchLength(fde);
    u32(0);  // end of the list
    return f;
}

#endif  // __x86_64__

}  // namespace

bool BlockCompiler::hostSupported() {
#if defined(__x86_64__)
    return true;
#else
    return false;
#endif
}

BlockCompiler::BlockCompiler(const Cpu& c) : arena_(hostSupported() ? kArenaBytes : 4096) {
    layout_.regs = offsetIn(c, &c.regs_[0]);
    layout_.eip = offsetIn(c, &c.eip_);
    layout_.insnEip = offsetIn(c, &c.insnEip_);
    layout_.insnEsp = offsetIn(c, &c.insnEsp_);
    layout_.retired = offsetIn(c, &c.retired_);
    layout_.blockExit = offsetIn(c, &c.blockExit_);
    layout_.lfOp = offsetIn(c, &c.lfOp_);
    layout_.lfSize = offsetIn(c, &c.lfSize_);
    layout_.lfA = offsetIn(c, &c.lfA_);
    layout_.lfB = offsetIn(c, &c.lfB_);
    layout_.lfRes = offsetIn(c, &c.lfRes_);
    layout_.cf = offsetIn(c, &c.cf_);
    layout_.userAcc = offsetIn(c, &c.userAcc_);
    layout_.tlb = offsetIn(c, &c.tlbBase_);
    for (unsigned s = 0; s < kSegCount; ++s) layout_.seg[s] = offsetIn(c, &c.seg_[s]);
#if defined(__x86_64__)
    ehFrame_ = ehFrame(arena_.execBase(), arena_.size());
    __register_frame(ehFrame_.data());
#endif
}

BlockCompiler::~BlockCompiler() {
#if defined(__x86_64__)
    __deregister_frame(ehFrame_.data());
#endif
}

BlockCode BlockCompiler::compile(const Insn* insns, unsigned count) {
#if defined(__x86_64__)
    // The largest block: 32 inline accesses with their slow paths, well under this.
    constexpr std::size_t kMaxBlockCode = 16 << 10;
    if (arena_.free() < kMaxBlockCode) return nullptr;
    try {
        Emitter e(layout_, arena_.writePtr(), kMaxBlockCode);
        e.block(insns, count);
        return reinterpret_cast<BlockCode>(arena_.commit(e.getSize()));
    } catch (const Xbyak::Error&) {
        return nullptr;  // cannot happen within kMaxBlockCode; the interpreter runs it
    }
#else
    (void)insns;
    (void)count;
    return nullptr;
#endif
}

}  // namespace cxvm::x86::jit
