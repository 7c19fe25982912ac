#include "x86/jit/BlockCompiler.h"

#include "x86/Cpu.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <optional>

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

enum class Alu : std::uint8_t { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp, Test };
// The ALU operation of opcodes 00-3F by bits 5..3, and of group 1 by /reg.
constexpr Alu kAluByRow[8] = {Alu::Add, Alu::Or,  Alu::Adc, Alu::Sbb,
                              Alu::And, Alu::Sub, Alu::Xor, Alu::Cmp};

// What an instruction compiles to, decided from its decoded fields. The handler the
// decoder chose implements the same instruction and stays its slow path.
enum class Form : std::uint8_t {
    Handler,   // the handler
    MovRR,     // 89/8B mod 3
    Load,      // 8B: reg <- [m]
    Store,     // 89: [m] <- reg
    StoreImm,  // C7 /0: [m] <- imm
    MovRI,     // B8+r, C7 /0 mod 3
    Lea,       // 8D
    AluRR,     // ALU r/m, r and r, r/m with mod 3; TEST r, r
    AluRM,     // r op= [m]; CMP/TEST [m], r
    AluRI,     // 81/83 mod 3; op eAX, imm (05..3D, A9)
    AluMI,     // 81/83 memory: [m] op= imm (CMP only reads)
    AluMR,     // [m] op= r (01..31 memory): read-modify-write
    IncDec,    // 40-4F, FF /0 /1
    Shift,     // C1/D1 /4 /5 /7 mod 3: SHL, SHR, SAR by a constant
    Movzx,     // 0F B6/B7
    Imul,      // 0F AF, 69, 6B
    Cmov,      // 0F 40-4F
    Setcc,     // 0F 90-9F mod 3
    Push,      // 50-57, 68, 6A
    Pop,       // 58-5F
    Leave,     // C9
    Jcc,       // 70-7F, 0F 80-8F
    Jmp,       // EB, E9
    CallRel,   // E8
    Ret,       // C3
    CallInd,   // FF /2
    JmpInd,    // FF /4
};

static_assert(static_cast<int>(FlagOp::Adc) == static_cast<int>(FlagOp::Add) + 1 &&
              static_cast<int>(FlagOp::Sbb) == static_cast<int>(FlagOp::Sub) + 1);

struct Plan {
    Form form = Form::Handler;
    Alu alu = Alu::Add;
};

Plan plan(const Insn& in) {
    if (!in.o32 || in.lock) return {};
    const bool reg = in.mod == 3;
    const bool mem32 = !reg && in.a32;
    const unsigned op = in.op;
    if (in.twoByte) {
        if (op >= 0x80 && op <= 0x8F) return {Form::Jcc};
        if (!reg && !mem32) return {};
        if (op == 0xB6 || op == 0xB7) return {Form::Movzx};
        if (op == 0xAF) return {Form::Imul};
        if (op >= 0x40 && op <= 0x4F) return {Form::Cmov};
        if (op >= 0x90 && op <= 0x9F && reg) return {Form::Setcc};
        return {};
    }
    if (op < 0x40 && (op & 7) <= 5) {  // the ALU rows
        const Alu a = kAluByRow[op >> 3];
        if (!(op & 1)) return {};  // byte forms
        if ((op & 7) == 5) return {Form::AluRI, a};  // op eAX, imm32
        if (reg) return {Form::AluRR, a};
        if (!mem32) return {};
        if ((op & 2) || a == Alu::Cmp) return {Form::AluRM, a};
        return {Form::AluMR, a};
    }
    switch (op) {
    case 0x85: return reg ? Plan{Form::AluRR, Alu::Test} : mem32 ? Plan{Form::AluRM, Alu::Test} : Plan{};
    case 0xA9: return {Form::AluRI, Alu::Test};
    case 0x89: return reg ? Plan{Form::MovRR} : mem32 ? Plan{Form::Store} : Plan{};
    case 0x8B: return reg ? Plan{Form::MovRR} : mem32 ? Plan{Form::Load} : Plan{};
    case 0x8D: return mem32 ? Plan{Form::Lea} : Plan{};
    case 0xC7:
        if (in.reg != 0) return {};
        return reg ? Plan{Form::MovRI} : mem32 ? Plan{Form::StoreImm} : Plan{};
    case 0x81:
    case 0x83: {
        const Alu a = kAluByRow[in.reg];
        return reg ? Plan{Form::AluRI, a} : mem32 ? Plan{Form::AluMI, a} : Plan{};
    }
    case 0x69:
    case 0x6B: return reg || mem32 ? Plan{Form::Imul} : Plan{};
    case 0x68:
    case 0x6A: return {Form::Push};
    case 0xC9: return {Form::Leave};
    case 0xE8: return {Form::CallRel};
    case 0xC3: return {Form::Ret};
    case 0xFF:
        if (!reg && !mem32) return {};
        if (in.reg == 2) return {Form::CallInd};
        if (in.reg == 4) return {Form::JmpInd};
        if (in.reg == 6) return {Form::Push};
        if (in.reg <= 1) return {Form::IncDec};
        return {};
    case 0xC1:
    case 0xD1: return reg && (in.reg == 4 || in.reg == 5 || in.reg == 7) ? Plan{Form::Shift} : Plan{};
    case 0xEB:
    case 0xE9: return {Form::Jmp};
    default: break;
    }
    if (op >= 0x40 && op <= 0x4F) return {Form::IncDec};
    if (op >= 0xB8 && op <= 0xBF) return {Form::MovRI};
    if (op >= 0x70 && op <= 0x7F) return {Form::Jcc};
    if (op >= 0x50 && op <= 0x57) return {Form::Push};
    if (op >= 0x58 && op <= 0x5F) return {Form::Pop};
    return {};
}

// Jcc conditions the block does not test inline (SF/OF/PF): Cpu::cond. Never throws.
bool condition(const Cpu& c, unsigned cc) { return c.cond(cc); }

}  // namespace

// Reused for every block: Xbyak's generator is costly to construct. Code is generated
// into `scratch` and copied into the arena (it is position-independent: relative jumps
// within the block, absolute calls through rax).
struct Scratch {
    static constexpr std::size_t kMaxBlockCode = 16 << 10;  // 32 inline accesses fit
    std::vector<std::uint8_t> scratch = std::vector<std::uint8_t>(kMaxBlockCode);
};

class Emitter : Scratch, public Xbyak::CodeGenerator {
public:
    explicit Emitter(const BlockCompiler::Layout& l)
        : CodeGenerator(kMaxBlockCode, scratch.data()), l_(l) {
        st_.emplace();
        prologue();  // the same bytes for every block: chained entries skip them
        bodyOffset_ = getSize();
    }

    // Generates one block; the code is getCode()[0, getSize()).
    void block(const Block& b) {
        const Insn* insns = b.insns;
        const unsigned n = b.count;
        st_.reset();  // labels go before their manager is reset
        reset();
        st_.emplace();
        prologue();
        if (getSize() != bodyOffset_) throw Xbyak::Error(Xbyak::ERR_INTERNAL);
        unsigned start = 0;
        for (unsigned i = 0; i < n; ++i) {
            const Insn& in = insns[i];
            const unsigned end = start + in.len;
            const bool last = i + 1 == n;
            const Plan p = plan(in);
            if (p.form == Form::Handler) {
                viaHandler(in, start, end, last);
                if (last) leave(st_->pending);
            } else if (isBranch(p.form)) {
                branch(in, p, start, end);  // always last: decoding ends the block there
            } else {
                inlined(in, p, start, end);
                if (last) {
                    lea(eax, ptr[r12 + int(end)]);
                    mov(dword[rbx + l_.eip], eax);
                    leave(st_->pending);
                }
            }
            start = end;
        }
        if (st_->exitAfterCallUsed) {
            L(st_->exitAfterCall);
            leave(1);
        }
        for (unsigned i = 0; i < st_->slowCount; ++i) slowPath(st_->slow[i]);
        chain(b);
        L(st_->epilogue);
        pop(r15);
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
    Xbyak::Address seg(unsigned s, std::size_t field) { return dword[rbx + l_.seg[s] + int(field)]; }

    // rbx = Cpu*, r12 = EIP of the block's first instruction, r13 = byte offset of this
    // privilege level's read tag in a TLB entry, r14 = the TLB, r15 = a value kept
    // across a helper call. The frame is the one ehFrame() describes.
    void prologue() {
        push(rbx);
        push(r12);
        push(r13);
        push(r14);
        push(r15);  // (rsp is now 16-byte aligned at calls)
        mov(rbx, rdi);
        mov(r12d, dword[rbx + l_.eip]);
        mov(r13d, dword[rbx + l_.userAcc]);
        shl(r13d, 2);
        mov(r14, reinterpret_cast<std::uintptr_t>(l_.tlb));
    }

    // Leaves the block with `retire` instructions not yet counted (EIP already set).
    void leave(unsigned retire) {
        if (retire) add(qword[rbx + l_.retired], retire);
        jmp(st_->chain, T_NEAR);
    }

    // The block's end: on to its most recent successor without returning to runBlocks
    // when runBlocks would do just that -- nothing asked to leave, INTR is not asserted,
    // the successor is compiled and fits the instruction budget, the fetch window still
    // maps EIP to the successor's bytes (host address and code generation, as
    // Block::current), and it lies within the CS limit. Else back to runBlocks.
    void chain(const Block& b) {
        const Xbyak::Label& out = st_->epilogue;
        L(st_->chain);
        cmp(byte[rbx + l_.blockExit], 0);
        jne(out, T_NEAR);
        mov(rax, reinterpret_cast<std::uintptr_t>(l_.intr));
        cmp(byte[rax], 0);
        jne(out, T_NEAR);
        mov(rsi, reinterpret_cast<std::uintptr_t>(&b.succ[0]));
        mov(rsi, qword[rsi]);
        test(rsi, rsi);
        jz(out, T_NEAR);
        mov(rax, qword[rsi + offsetof(Block, code)]);
        test(rax, rax);
        jz(out, T_NEAR);
        movzx(ecx, word[rsi + offsetof(Block, count)]);
        add(rcx, qword[rbx + l_.retired]);
        cmp(rcx, qword[rbx + l_.blockLimit]);
        ja(out, T_NEAR);
        mov(edx, dword[rbx + l_.eip]);
        add(edx, seg(CS, offsetof(SegCache, base)));
        mov(ecx, edx);
        and_(ecx, 0xFFFFF000u);
        cmp(ecx, dword[rbx + l_.fetchPage]);
        jne(out, T_NEAR);
        and_(edx, 0xFFF);
        cmp(edx, 0x1000 - 16);
        ja(out, T_NEAR);
        add(rdx, qword[rbx + l_.fetchHost]);
        cmp(rdx, qword[rsi + offsetof(Block, host)]);
        jne(out, T_NEAR);
        mov(rdi, qword[rsi + offsetof(Block, genPtr)]);
        mov(ecx, dword[rdi]);
        cmp(ecx, dword[rsi + offsetof(Block, gen)]);
        jne(out, T_NEAR);
        mov(ecx, dword[rbx + l_.eip]);
        add(ecx, dword[rsi + offsetof(Block, lastOff)]);
        jc(out, T_NEAR);
        cmp(ecx, seg(CS, offsetof(SegCache, hi)));
        ja(out, T_NEAR);
        mov(qword[rbx + l_.curBlockGen], rdi);
        mov(qword[rbx + l_.lastBlock], rsi);
        mov(r12d, dword[rbx + l_.eip]);
        add(rax, static_cast<std::uint32_t>(bodyOffset_));
        jmp(rax);
    }

    void syncRetired() {
        if (st_->pending) add(qword[rbx + l_.retired], st_->pending);
        st_->pending = 0;
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
        st_->pending = 1;
        if (last) return;  // the block ends after it whatever it did
        // A taken branch, or a handler that asked to leave (SMC, mode change, stop).
        lea(ecx, ptr[r12 + int(end)]);
        cmp(dword[rbx + l_.eip], ecx);
        jne(st_->exitAfterCall, T_NEAR);
        cmp(byte[rbx + l_.blockExit], 0);
        jne(st_->exitAfterCall, T_NEAR);
        st_->exitAfterCallUsed = true;
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

    // The inline fast path of a data access of `size` (1, 2, 4) bytes: the segment
    // window and the TLB tag of the last byte's page, as Cpu::linear + readLin/writeLin.
    // Leaves r9 = the host address. Any miss (segment fault, TLB miss, page crossing,
    // a write to a code page) goes to `slow`. Clobbers eax, ecx, edx.
    void access(const Insn& in, unsigned size, bool write, Xbyak::Label& slow) {
        effectiveAddress(in);
        accessAt(in.seg, size, write, slow);
    }
    // The same with the offset in eax already.
    void accessAt(unsigned s, unsigned size, bool write, Xbyak::Label& slow) {
        const unsigned sizeIndex = size == 1 ? 0 : size == 2 ? 1 : 2;
        const std::size_t window = write ? offsetof(SegCache, wEnd) : offsetof(SegCache, rEnd);
        mov(ecx, eax);
        sub(ecx, seg(s, offsetof(SegCache, lo)));
        cmp(rcx, qword[rbx + l_.seg[s] + int(window + 8 * sizeIndex)]);
        jae(slow, T_NEAR);
        add(eax, seg(s, offsetof(SegCache, base)));
        mov(ecx, eax);
        shr(ecx, 12);
        and_(ecx, Cpu::kTlbSize - 1);
        shl(ecx, 5);
        add(rcx, r14);
        lea(edx, ptr[rax + int(size - 1)]);
        and_(edx, 0xFFFFF000u);
        cmp(edx, dword[rcx + r13 + (write ? 4 : 0)]);
        jne(slow, T_NEAR);
        mov(r9, qword[rcx + offsetof(Cpu::TlbEntry, host)]);
        and_(eax, 0xFFF);
        add(r9, rax);
    }

    // An instruction with one memory operand: its handler is the slow path, `body` runs
    // with r9 = the operand's host address.
    template <class Body>
    void withMemory(const Insn& in, unsigned size, bool write, unsigned start, unsigned end,
                    Body&& body) {
        Slow& s = newSlow(in, start, end);
        access(in, size, write, s.entry);
        body();
        L(s.resume);
    }
    // dst <- a 32-bit r/m operand, then `body`.
    template <class Body>
    void withRm(const Insn& in, const Xbyak::Reg32& dst, unsigned start, unsigned end,
                Body&& body) {
        if (in.mod == 3) {
            mov(dst, reg(in.rm));
            body();
        } else {
            withMemory(in, 4, false, start, end, [&] {
                mov(dst, dword[r9]);
                body();
            });
        }
    }
    // dst <- a 32-bit r/m operand within an instruction that has its slow path already.
    void loadRm(const Insn& in, const Xbyak::Reg32& dst, Xbyak::Label& slow) {
        if (in.mod == 3) {
            mov(dst, reg(in.rm));
        } else {
            access(in, 4, false, slow);
            mov(dst, dword[r9]);
        }
    }

    Slow& newSlow(const Insn& in, unsigned start, unsigned end) {
        Slow& s = st_->slow[st_->slowCount++];
        s.in = &in;
        s.start = start;
        s.end = end;
        s.pending = st_->pending;
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
    // eax = result on exit. Clobbers ecx, edx.
    void alu(Alu a) {
        mov(dword[rbx + l_.lfA], eax);
        mov(dword[rbx + l_.lfB], r8d);
        if (a == Alu::Adc || a == Alu::Sbb) {
            // The carry in is cf_; the kind is Adc/Sbb with a carry in, else Add/Sub
            // (the enumerators are adjacent: Add + 1 = Adc, Sub + 1 = Sbb).
            mov(edx, dword[rbx + l_.cf]);
            bt(edx, 0);
            if (a == Alu::Adc)
                adc(eax, r8d);
            else
                sbb(eax, r8d);
            setc(cl);  // ADC: res <= a with a carry in, else res < a; SBB alike
            movzx(ecx, cl);
            mov(dword[rbx + l_.cf], ecx);
            add(dl, static_cast<std::uint8_t>(a == Alu::Adc ? FlagOp::Add : FlagOp::Sub));
            mov(dword[rbx + l_.lfRes], eax);
            mov(byte[rbx + l_.lfOp], dl);
            mov(byte[rbx + l_.lfSize], 4);
            return;
        }
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
        lazyResult(op);
    }
    // CF and OF computed by the operation itself (Cpu::setLazyCarryOverflow): ecx = CF,
    // `of` = OF, eax = result.
    void carryOverflowResult(const Xbyak::Reg32& of) {
        mov(dword[rbx + l_.cf], ecx);
        mov(dword[rbx + l_.lfA], 0);
        mov(dword[rbx + l_.lfB], of);
        lazyResult(FlagOp::Shift);
    }
    void lazyResult(FlagOp op) {
        mov(dword[rbx + l_.lfRes], eax);
        mov(byte[rbx + l_.lfOp], static_cast<std::uint8_t>(op));
        mov(byte[rbx + l_.lfSize], 4);
    }
    static bool writesBack(Alu a) { return a != Alu::Cmp && a != Alu::Test; }

    // SHL/SHR/SAR r32 by 1..31 (shiftOp in ExecAlu.cpp): CF is the last bit out; OF as
    // the interpreter computes it (also for counts > 1, where it is undefined).
    void shift(const Insn& in) {
        const unsigned n = (in.op == 0xD1 ? 1u : in.imm) & 31;
        if (n == 0) return;  // no change, flags kept (a register: no access to make)
        mov(eax, reg(in.rm));
        if (in.reg == 5) {  // SHR: OF = the old sign
            mov(r8d, eax);
            shr(r8d, 31);
        }
        switch (in.reg) {
        case 4: shl(eax, n); break;
        case 5: shr(eax, n); break;
        default: sar(eax, n); break;
        }
        setc(cl);
        movzx(ecx, cl);
        if (in.reg == 4) {  // SHL: OF = new sign ^ CF
            mov(r8d, eax);
            shr(r8d, 31);
            xor_(r8d, ecx);
        } else if (in.reg == 7) {
            xor_(r8d, r8d);
        }
        mov(reg(in.rm), eax);
        carryOverflowResult(r8d);
    }

    // al <- whether Jcc `cc` is taken (Cpu::condT): ZF is lfRes == 0 and CF is cf_ in
    // every flags state; the others ask Cpu::cond.
    void condition(unsigned cc) {
        switch (cc >> 1) {
        case 1:  // B/AE
            cmp(dword[rbx + l_.cf], 0);
            setne(al);
            break;
        case 2:  // Z/NZ
            cmp(dword[rbx + l_.lfRes], 0);
            sete(al);
            break;
        case 3:  // BE/A
            cmp(dword[rbx + l_.lfRes], 0);
            sete(al);
            or_(al, byte[rbx + l_.cf]);
            break;
        default:
            mov(rdi, rbx);
            mov(esi, cc);
            mov(rax, reinterpret_cast<std::uintptr_t>(&jit::condition));
            call(rax);
            return;  // already the final answer
        }
        if (cc & 1) xor_(al, 1);
    }

    // Jcc/JMP/CALL rel and RET: EIP <- the target (within the CS limit, else the handler
    // raises #GP) or the next instruction; then leave. The stack forms need a 32-bit
    // stack (else the handler runs them).
    void branch(const Insn& in, const Plan& p, unsigned start, unsigned end) {
        const bool shortForm = in.op == 0xEB || (!in.twoByte && in.op >= 0x70 && in.op <= 0x7F);
        const std::uint32_t rel = shortForm ? std::uint32_t(std::int32_t(std::int8_t(in.imm))) : in.imm;
        Slow& s = newSlow(in, start, end);
        ++st_->pending;
        Xbyak::Label notTaken;
        if (p.form == Form::Jcc) {
            condition(in.op & 0xF);
            test(al, al);
            jz(notTaken, T_NEAR);
        }
        if (p.form == Form::Ret) {
            stack32(s.entry);
            mov(eax, reg(ESP));
            lea(r10d, ptr[rax + 4]);
            accessAt(SS, 4, false, s.entry);
            mov(eax, dword[r9]);
            cmp(eax, seg(CS, offsetof(SegCache, hi)));
            ja(s.entry, T_NEAR);
            mov(reg(ESP), r10d);
        } else if (p.form == Form::CallInd || p.form == Form::JmpInd) {
            loadRm(in, eax, s.entry);
            cmp(eax, seg(CS, offsetof(SegCache, hi)));
            ja(s.entry, T_NEAR);
        } else {
            lea(eax, ptr[r12 + static_cast<std::int32_t>(end + rel)]);
            cmp(eax, seg(CS, offsetof(SegCache, hi)));
            ja(s.entry, T_NEAR);
        }
        if (p.form == Form::CallRel || p.form == Form::CallInd) {  // push the return address
            mov(r15d, eax);
            stack32(s.entry);
            lea(r8d, ptr[r12 + int(end)]);
            push32(s.entry);
            mov(eax, r15d);
        }
        mov(dword[rbx + l_.eip], eax);
        leave(st_->pending);
        if (p.form == Form::Jcc) {
            L(notTaken);
            lea(eax, ptr[r12 + int(end)]);
            mov(dword[rbx + l_.eip], eax);
        }
        L(s.resume);  // (after the handler: it set EIP)
        leave(st_->pending);
    }

    static bool isBranch(Form f) {
        return f == Form::Jcc || f == Form::Jmp || f == Form::CallRel || f == Form::Ret ||
               f == Form::CallInd || f == Form::JmpInd;
    }

    // PUSH r8d on a 32-bit stack: ESP changes only once the store is done.
    void push32(Xbyak::Label& slow) {
        mov(eax, reg(ESP));
        sub(eax, 4);
        mov(r10d, eax);
        accessAt(SS, 4, true, slow);
        mov(dword[r9], r8d);
        mov(reg(ESP), r10d);
    }

    // Stack accesses inline only with a 32-bit stack (SS.B): else to `slow`.
    void stack32(Xbyak::Label& slow) {
        cmp(byte[rbx + l_.seg[SS] + int(offsetof(SegCache, db))], 0);
        je(slow, T_NEAR);
    }

    // The immediate as the handler sees it: 83, 6B and 6A sign-extend theirs.
    static std::uint32_t imm32(const Insn& in) {
        const bool imm8 = in.op == 0x83 || in.op == 0x6B || in.op == 0x6A;
        return imm8 ? std::uint32_t(std::int32_t(std::int8_t(in.imm))) : in.imm;
    }

    void inlined(const Insn& in, const Plan& p, unsigned start, unsigned end) {
        const std::uint32_t imm = imm32(in);
        switch (p.form) {
        case Form::MovRR:
            mov(eax, reg(in.op == 0x89 ? in.reg : in.rm));
            mov(reg(in.op == 0x89 ? in.rm : in.reg), eax);
            break;
        case Form::MovRI:
            mov(reg(in.op == 0xC7 ? in.rm : in.op & 7u), in.imm);
            break;
        case Form::Lea:
            effectiveAddress(in);
            mov(reg(in.reg), eax);
            break;
        case Form::IncDec: {  // 40-4F, FF /0 /1: CF unchanged
            const bool rm = in.op == 0xFF;
            const bool inc = rm ? in.reg == 0 : in.op < 0x48;
            const auto incDec = [&](const Xbyak::Address& operand) {
                mov(eax, operand);
                mov(dword[rbx + l_.lfA], eax);
                mov(dword[rbx + l_.lfB], 1);
                if (inc)
                    add(eax, 1);
                else
                    sub(eax, 1);
                mov(operand, eax);
                lazyResult(inc ? FlagOp::Inc : FlagOp::Dec);
            };
            if (rm && in.mod != 3)
                withMemory(in, 4, true, start, end, [&] { incDec(dword[r9]); });
            else
                incDec(reg(rm ? in.rm : in.op & 7u));
            break;
        }
        case Form::AluRR: {
            // Ev,Gv (x1, TEST 85): a = r/m, b = reg; Gv,Ev (x3): the reverse.
            const bool rmFirst = in.op == 0x85 || !(in.op & 2);
            const unsigned dst = rmFirst ? in.rm : in.reg;
            mov(eax, reg(dst));
            mov(r8d, reg(rmFirst ? in.reg : in.rm));
            alu(p.alu);
            if (writesBack(p.alu)) mov(reg(dst), eax);
            break;
        }
        case Form::AluRI: {
            const unsigned dst = in.op == 0x81 || in.op == 0x83 ? in.rm : unsigned(EAX);
            mov(eax, reg(dst));
            mov(r8d, imm);
            alu(p.alu);
            if (writesBack(p.alu)) mov(reg(dst), eax);
            break;
        }
        case Form::Shift: shift(in); break;
        case Form::Movzx: {
            const bool wide = in.op == 0xB7;
            if (in.mod == 3) {
                if (wide)
                    movzx(eax, word[rbx + l_.regs + 4 * int(in.rm)]);
                else  // AL..BL, then AH..BH
                    movzx(eax, byte[rbx + l_.regs + 4 * int(in.rm & 3) + int(in.rm >> 2)]);
                mov(reg(in.reg), eax);
                break;
            }
            withMemory(in, wide ? 2 : 1, false, start, end, [&] {
                if (wide)
                    movzx(eax, word[r9]);
                else
                    movzx(eax, byte[r9]);
                mov(reg(in.reg), eax);
            });
            break;
        }
        case Form::Load:
            withMemory(in, 4, false, start, end, [&] {
                mov(eax, dword[r9]);
                mov(reg(in.reg), eax);
            });
            break;
        case Form::AluRM:
            withMemory(in, 4, false, start, end, [&] {
                if (in.op == 0x85 || !(in.op & 2)) {  // CMP/TEST [m], r: a = [m]
                    mov(eax, dword[r9]);
                    mov(r8d, reg(in.reg));
                    alu(p.alu);
                } else {  // op r, [m]
                    mov(eax, reg(in.reg));
                    mov(r8d, dword[r9]);
                    alu(p.alu);
                    if (writesBack(p.alu)) mov(reg(in.reg), eax);
                }
            });
            break;
        case Form::AluMI:
        case Form::AluMR:
            // [m] op= imm / r. CMP only reads; the others check the write tag once (a
            // page writable at this privilege is readable) and write back in place.
            withMemory(in, 4, writesBack(p.alu), start, end, [&] {
                mov(eax, dword[r9]);
                if (p.form == Form::AluMI)
                    mov(r8d, imm);
                else
                    mov(r8d, reg(in.reg));
                alu(p.alu);
                if (writesBack(p.alu)) mov(dword[r9], eax);
            });
            break;
        case Form::Imul:
            // CF = OF = overflow (imulCommon in ExecAlu.cpp).
            withRm(in, eax, start, end, [&] {
                if (in.op == 0xAF)
                    imul(eax, reg(in.reg));
                else
                    imul(eax, eax, static_cast<int>(imm));
                seto(cl);
                movzx(ecx, cl);
                mov(reg(in.reg), eax);
                carryOverflowResult(ecx);
            });
            break;
        case Form::Cmov:
            // The source is read (and may fault) whatever the condition.
            withRm(in, r15d, start, end, [&] {
                condition(in.op & 0xF);
                Xbyak::Label keep;
                test(al, al);
                jz(keep, T_NEAR);
                mov(reg(in.reg), r15d);
                L(keep);
            });
            break;
        case Form::Setcc:
            condition(in.op & 0xF);
            mov(byte[rbx + l_.regs + 4 * int(in.rm & 3) + int(in.rm >> 2)], al);
            break;
        case Form::Push:
        case Form::Pop:
        case Form::Leave: {
            Slow& s = newSlow(in, start, end);
            stack32(s.entry);
            if (p.form == Form::Push) {
                if (in.op == 0x68 || in.op == 0x6A) {
                    mov(r8d, imm32(in));
                } else if (in.op == 0xFF) {  // PUSH r/m32
                    loadRm(in, r8d, s.entry);
                } else {
                    mov(r8d, reg(in.op & 7u));  // PUSH ESP pushes the old value
                }
                push32(s.entry);
            } else {
                // POP: ESP first, so POP ESP leaves the popped value. LEAVE: ESP <- EBP,
                // then POP EBP.
                mov(eax, reg(p.form == Form::Leave ? EBP : ESP));
                lea(r10d, ptr[rax + 4]);
                accessAt(SS, 4, false, s.entry);
                mov(r8d, dword[r9]);
                mov(reg(ESP), r10d);
                mov(reg(p.form == Form::Leave ? EBP : in.op & 7u), r8d);
            }
            L(s.resume);
            break;
        }
        case Form::Store:
        case Form::StoreImm:
            withMemory(in, 4, true, start, end, [&] {
                if (p.form == Form::Store)
                    mov(eax, reg(in.reg));
                else
                    mov(eax, in.imm);
                mov(dword[r9], eax);
            });
            break;
        case Form::Handler:
        case Form::Jcc:
        case Form::Jmp:
        case Form::CallRel:
        case Form::Ret:
        case Form::CallInd:
        case Form::JmpInd: break;
        }
        ++st_->pending;
    }

    const BlockCompiler::Layout& l_;
    std::size_t bodyOffset_ = 0;  // where a block's code starts after its prologue
    struct State {
        unsigned pending = 0;  // retired instructions not yet added to Cpu::retired_
        Xbyak::Label epilogue, exitAfterCall, chain;
        bool exitAfterCallUsed = false;
        std::array<Slow, Cpu::kMaxBlockInsns> slow;
        unsigned slowCount = 0;
    };
    std::optional<State> st_;  // per block
};

namespace {

// DWARF call frame information (.eh_frame layout, LSB 5.0 "Exception Frames") for the
// frame every compiled block has after its prologue: return address at CFA-8, rbx r12
// r13 r14 r15 pushed below it, rsp = CFA-48. One FDE covers the whole arena; no exception
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
    enum : unsigned { kRbx = 3, kRsp = 7, kR12 = 12, kR13 = 13, kR14 = 14, kR15 = 15, kRip = 16 };
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
    u8(0x80 | kR15), u8(6);
    patchLength(fde);
    u32(0);  // end of the list
    return f;
}

#else
}  // namespace
class Emitter {};  // no compiled code on this host
namespace {
#endif  // __x86_64__

}  // namespace

bool BlockCompiler::hostSupported() {
#if defined(__x86_64__)
    return true;
#else
    return false;
#endif
}

BlockCompiler::BlockCompiler(const Cpu& c, std::size_t arenaBytes)
    : arena_(hostSupported() ? arenaBytes : 4096) {
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
    layout_.tlb = c.tlb_.get();
    for (unsigned s = 0; s < kSegCount; ++s) layout_.seg[s] = offsetIn(c, &c.seg_[s]);
    layout_.fetchPage = offsetIn(c, &c.fetchPage_);
    layout_.fetchHost = offsetIn(c, &c.fetchHost_);
    layout_.curBlockGen = offsetIn(c, &c.curBlockGen_);
    layout_.blockLimit = offsetIn(c, &c.blockLimit_);
    layout_.lastBlock = offsetIn(c, &c.lastBlock_);
    layout_.intr = &c.pins_.intr;
#if defined(__x86_64__)
    ehFrame_ = ehFrame(arena_.execBase(), arena_.size());
    __register_frame(ehFrame_.data());
    emitter_ = std::make_unique<Emitter>(layout_);
#endif
}

BlockCompiler::~BlockCompiler() {
#if defined(__x86_64__)
    __deregister_frame(ehFrame_.data());
#endif
}

BlockCode BlockCompiler::compile(const Block& block) {
#if defined(__x86_64__)
    if (arena_.free() < Scratch::kMaxBlockCode) return nullptr;
    try {
        emitter_->block(block);
    } catch (const Xbyak::Error&) {
        return nullptr;  // cannot happen within kMaxBlockCode; the interpreter runs it
    }
    const std::size_t size = emitter_->getSize();
    std::memcpy(arena_.writePtr(), emitter_->getCode(), size);
    return reinterpret_cast<BlockCode>(arena_.commit(size));
#else
    (void)block;
    return nullptr;
#endif
}

}  // namespace cxvm::x86::jit
