#include "x86/jit/BlockCompiler.h"

#include "util/Error.h"
#include "x86/Cpu.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <optional>
#include <variant>

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

// What an instruction compiles to, decided from its decoded fields (Plan::size: the
// byte forms in parentheses, and 16-bit MOV). The handler the decoder chose implements
// the same instruction and stays its slow path.
enum class Form : std::uint8_t {
    Handler,   // the handler
    MovRR,     // 89/8B (88/8A) mod 3
    Load,      // 8B (8A): reg <- [m]
    Store,     // 89 (88): [m] <- reg
    StoreImm,  // C7 (C6) /0: [m] <- imm
    MovRI,     // B8+r (B0+r), C7 (C6) /0 mod 3
    Lea,       // 8D
    AluRR,     // ALU r/m, r and r, r/m with mod 3; TEST r, r (84, 85)
    AluRM,     // r op= [m]; CMP/TEST [m], r
    AluRI,     // 80/81/83 mod 3; op AL/eAX, imm (04..3D, A8, A9)
    AluMI,     // 80/81/83 memory: [m] op= imm (CMP only reads)
    AluMR,     // [m] op= r (00..31 memory): read-modify-write
    IncDec,    // 40-4F, FF (FE) /0 /1
    Shift,     // C1/D1/D3 /4 /5 /7 mod 3: SHL, SHR, SAR by a constant or CL (32, 16 bits)
    Rotate,    // C1/D1 /0 /1 mod 3: ROL, ROR by a constant
    Group3,    // F7 /2../7: NOT, NEG (mod 3), MUL, IMUL, DIV, IDIV (r/m32)
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
    std::uint8_t size = 4;  // operand bytes: 1 (byte forms), 2 (66-prefixed MOV), 4
};

// Byte forms (any operand size: it does not apply to them) of MOV, the ALU group, TEST
// and INC/DEC, the compressed-data decoders' diet (XZ, zlib: byte loads, stores and
// compares). nullopt: not a byte form this compiles.
std::optional<Plan> planByte(const Insn& in, bool reg, bool mem32) {
    const unsigned op = in.op;
    if (in.twoByte) return std::nullopt;
    const bool rm = reg || mem32;  // an r/m operand the inline paths handle
    if (op < 0x40 && (op & 7) <= 4 && !(op & 1)) {  // 00 02 04, 08 0A 0C, ... 38 3A 3C
        const Alu a = kAluByRow[op >> 3];
        if ((op & 7) == 4) return Plan{Form::AluRI, a, 1};  // op AL, imm8
        if (reg) return Plan{Form::AluRR, a, 1};
        if (!mem32) return Plan{};
        if ((op & 2) || a == Alu::Cmp) return Plan{Form::AluRM, a, 1};
        return Plan{Form::AluMR, a, 1};
    }
    switch (op) {
    case 0x84: return reg ? Plan{Form::AluRR, Alu::Test, 1} : mem32 ? Plan{Form::AluRM, Alu::Test, 1} : Plan{};
    case 0xA8: return Plan{Form::AluRI, Alu::Test, 1};
    case 0x80: return reg ? Plan{Form::AluRI, kAluByRow[in.reg], 1} : mem32 ? Plan{Form::AluMI, kAluByRow[in.reg], 1} : Plan{};
    case 0x88:
    case 0x8A: return reg ? Plan{Form::MovRR, Alu::Add, 1} : mem32 ? Plan{op == 0x88 ? Form::Store : Form::Load, Alu::Add, 1} : Plan{};
    case 0xC6: return in.reg != 0 || !rm ? Plan{} : reg ? Plan{Form::MovRI, Alu::Add, 1} : Plan{Form::StoreImm, Alu::Add, 1};
    case 0xFE: return in.reg <= 1 && rm ? Plan{Form::IncDec, Alu::Add, 1} : Plan{};
    case 0xA0: return in.a32 ? Plan{Form::Load, Alu::Add, 1} : Plan{};  // AL <- moffs (reg 0)
    case 0xA2: return in.a32 ? Plan{Form::Store, Alu::Add, 1} : Plan{};
    default: break;
    }
    if (op >= 0xB0 && op <= 0xB7) return Plan{Form::MovRI, Alu::Add, 1};
    return std::nullopt;
}

// 16-bit operands (66 prefix in 32-bit code): the MOV forms (the XZ decoder's 16-bit
// probabilities); the rest runs through the handlers.
Plan planWord(const Insn& in, bool reg, bool mem32) {
    if (in.twoByte) return {};
    switch (in.op) {
    case 0x89: return reg ? Plan{Form::MovRR, Alu::Add, 2} : mem32 ? Plan{Form::Store, Alu::Add, 2} : Plan{};
    case 0x8B: return reg ? Plan{Form::MovRR, Alu::Add, 2} : mem32 ? Plan{Form::Load, Alu::Add, 2} : Plan{};
    case 0xC7:
        if (in.reg != 0) return {};
        return reg ? Plan{Form::MovRI, Alu::Add, 2} : mem32 ? Plan{Form::StoreImm, Alu::Add, 2} : Plan{};
    case 0xA1: return in.a32 ? Plan{Form::Load, Alu::Add, 2} : Plan{};
    case 0xA3: return in.a32 ? Plan{Form::Store, Alu::Add, 2} : Plan{};
    case 0xC1:
    case 0xD1:
    case 0xD3:  // the XZ decoder's 16-bit shifts
        return reg && (in.reg == 4 || in.reg == 5 || in.reg == 7) ? Plan{Form::Shift, Alu::Add, 2} : Plan{};
    default: break;
    }
    if (in.op >= 0xB8 && in.op <= 0xBF) return {Form::MovRI, Alu::Add, 2};
    return {};
}

Plan plan(const Insn& in) {
    if (in.lock) return {};
    const bool reg = in.mod == 3;
    const bool mem32 = !reg && in.a32;
    const unsigned op = in.op;
    if (std::optional<Plan> b = planByte(in, reg, mem32)) return *b;
    if (!in.o32) return planWord(in, reg, mem32);
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
    case 0xD1:
    case 0xD3:
        if (reg && (in.reg == 4 || in.reg == 5 || in.reg == 7)) return {Form::Shift};
        return reg && in.reg <= 1 && op != 0xD3 ? Plan{Form::Rotate} : Plan{};
    case 0xA1: return in.a32 ? Plan{Form::Load} : Plan{};   // EAX <- moffs (reg 0)
    case 0xA3: return in.a32 ? Plan{Form::Store} : Plan{};  // moffs <- EAX
    case 0xF7:
        if (in.reg <= 1) return reg ? Plan{Form::AluRI, Alu::Test} : mem32 ? Plan{Form::AluMI, Alu::Test} : Plan{};
        if (in.reg <= 3) return reg ? Plan{Form::Group3} : Plan{};
        return reg || mem32 ? Plan{Form::Group3} : Plan{};
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

// Flag liveness inside a block: which parts of the lazy-flag state an instruction's
// result must still be written for. CF is cf_; the rest is lfOp/lfSize/lfA/lfB/lfRes.
constexpr unsigned kFlagCf = 1, kFlagRest = 2, kFlagsAll = 3;

// May this instruction leave the inline path -- call a handler (which may read any
// flag or fault), take a slow path (a fault delivers EFLAGS), or end the block? Then
// every flag is live before it.
bool mayLeave(const Insn& in, const Plan& p) {
    switch (p.form) {
    case Form::MovRR:
    case Form::MovRI:
    case Form::Lea:
    case Form::AluRR:
    case Form::AluRI:
    case Form::Shift:
    case Form::Rotate:
    case Form::Setcc: return false;
    case Form::IncDec:
    case Form::Movzx:
    case Form::Imul:
    case Form::Cmov: return in.mod != 3 && !(p.form == Form::IncDec && in.op >= 0x40 && in.op <= 0x4F);
    case Form::Group3: return in.mod != 3 || in.reg >= 6;  // DIV/IDIV: #DE
    default: return true;
    }
}
// Flags it writes on the inline path; and reads.
unsigned flagWrites(const Insn& in, const Plan& p) {
    switch (p.form) {
    case Form::AluRR:
    case Form::AluRI:
    case Form::AluRM:
    case Form::AluMI:
    case Form::AluMR:
    case Form::Imul: return kFlagsAll;
    case Form::Group3: return in.reg == 3 || in.reg == 4 || in.reg == 5 ? kFlagsAll : 0;
    case Form::IncDec: return kFlagRest;  // CF is kept
    case Form::Rotate:  // (count 0: none)
    case Form::Shift:
        if (in.op == 0xD3) return kFlagsAll;  // (or none: count 0, see flagReads)
        return ((in.op == 0xD1 ? 1u : in.imm) & 31) ? kFlagsAll : 0;  // count 0: none
    default: return 0;
    }
}
unsigned flagReads(const Insn& in, const Plan& p) {
    switch (p.form) {
    case Form::Shift: return in.op == 0xD3 ? kFlagsAll : 0;  // CL = 0 keeps them all
    case Form::Jcc:
    case Form::Setcc:
    case Form::Cmov:
    case Form::Rotate: return kFlagsAll;  // keeps SF ZF AF PF: materializes them
    default: return p.alu == Alu::Adc || p.alu == Alu::Sbb ? kFlagCf : 0;
    }
}

// Jcc conditions the block does not test inline (SF/OF/PF): Cpu::cond. Never throws.
bool condition(const Cpu& c, unsigned cc) { return c.cond(cc); }

// ROL/ROR change CF and OF only: the other flags are materialized from the lazy state
// first, exactly as shiftOp does (Cpu::setFlags). `bits`: CF | OF in EFLAGS positions.
void rotateFlags(Cpu& c, std::uint32_t bits) { c.setFlags(fl::CF | fl::OF, bits); }

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
        reload();    // the same bytes too: direct jumps skip them
        regEntryOffset_ = getSize() + 5;  // and a jmp rel32 to the full entry checks
    }

    // Generates one block; the code is getCode()[0, getSize()).
    void block(const Block& b) {
        const Insn* insns = b.insns;
        const unsigned n = b.count;
        st_.reset();  // labels go before their manager is reset
        reset();
        st_.emplace();
        st_->block = &b;
        prologue();
        if (getSize() != bodyOffset_) throw Xbyak::Error(Xbyak::ERR_INTERNAL);
        reload();  // entry from runBlocks and the chain code: registers from Cpu::regs_
        jmp(st_->entryFull, T_NEAR);  // INTR, the CS limit; then the budget (entryDirect)
        if (getSize() != regEntryOffset_) throw Xbyak::Error(Xbyak::ERR_INTERNAL);
        st_->dirty = kCachedMask;  // a direct jump may bring any of them changed
        unsigned start = 0;
        // Backwards: the flags live after each instruction. All are live at the end (the
        // next block, an interrupt) and before anything that may leave the inline path;
        // a result whose flags the next writer replaces before anyone can look is not
        // stored (the store-heavy part of an ALU op).
        std::array<Plan, Cpu::kMaxBlockInsns> plans;
        std::array<std::uint8_t, Cpu::kMaxBlockInsns> need;
        unsigned live = kFlagsAll;
        for (unsigned i = n; i-- > 0;) {
            plans[i] = plan(insns[i]);
            if (namesCachedHighByte(insns[i], plans[i])) plans[i] = Plan{};  // AH..BH
            const unsigned writes = flagWrites(insns[i], plans[i]);
            need[i] = static_cast<std::uint8_t>(live & writes);
            live = mayLeave(insns[i], plans[i]) ? kFlagsAll
                                                : (live & ~writes) | flagReads(insns[i], plans[i]);
        }
        entry();
        for (unsigned i = 0; i < n; ++i) {
            const Insn& in = insns[i];
            const unsigned end = start + in.len;
            const bool last = i + 1 == n;
            const Plan& p = plans[i];
            need_ = need[i];
            const unsigned slowsBefore = st_->slowCount;
            if (p.form == Form::Handler) {
                viaHandler(in, start, end, last);
                if (last) leave(st_->pending);
            } else if (isBranch(p.form)) {
                // (the host flags of the instruction before, if they are the guest's)
                hostConds_ = i > 0 ? hostConditions(insns[i - 1], plans[i - 1]) : 0;
                branch(in, p, start, end);  // always last: decoding ends the block there
            } else {
                inlined(in, p, start, end);
                if (last) exitTo(end, kFallThrough);
            }
            for (unsigned k = slowsBefore; k < st_->slowCount; ++k)
                st_->slow[k].flatAfter = st_->flatTested;
            start = end;
        }
        if (st_->exitAfterCallUsed) {
            L(st_->exitAfterCall);
            leave(1);
        }
        for (unsigned i = 0; i < st_->slowCount; ++i) slowPath(st_->slow[i]);
        for (unsigned k = 0; k < 2; ++k) {
            if (!st_->jumpAt[k]) continue;
            // Not linked yet (or the page was written meanwhile): back to runBlocks, which
            // links the jump once the successor is compiled.
            L(st_->direct[k]);
            writeBack(st_->directDirty[k]);
            storeRetired();
            mov(dword[rbx + l_.eip], r12d);
            mov(rsi, reinterpret_cast<std::uintptr_t>(&st_->block->link[k]));
            mov(qword[rbx + l_.exitSlot], rsi);
            mov(rax, reinterpret_cast<std::uintptr_t>(st_->block));
            mov(qword[rbx + l_.lastBlock], rax);  // (the block the slot belongs to)
            jmp(st_->epilogue, T_NEAR);
        }
        entryOutOfLine();
        chain();
        L(st_->epilogue);
        add(rsp, kFrame);
        pop(r15);
        pop(r14);
        pop(r13);
        pop(r12);
        pop(rbp);
        pop(rbx);
        ret();
    }

    // Does an inline form name AH..BH of a cached register (no host register has it)?
    // Then its handler runs it, with the registers in Cpu::regs_.
    static bool namesCachedHighByte(const Insn& in, const Plan& p) {
        if (p.form == Form::Handler) return false;
        const bool byteRegs =
            p.size == 1 || p.form == Form::Setcc || (p.form == Form::Movzx && in.op == 0xB6);
        if (!byteRegs) return false;
        unsigned names = 0;
        if (!in.twoByte && in.op >= 0xB0 && in.op <= 0xB7) {
            names = 1u << (in.op & 7u);
        } else {
            const bool digit = p.form == Form::Setcc || p.form == Form::Movzx || in.op == 0x80 ||
                               in.op == 0xC6 || in.op == 0xFE;  // reg: /digit or a 32-bit dst
            if (!digit && in.reg < 8) names |= 1u << in.reg;
            if (in.mod == 3 && in.rm < 8) names |= 1u << in.rm;
        }
        return (names >> 4) & kCachedMask & 0x0F;  // AH..BH are 4..7: EAX..EBX's bits 8-15
    }

    // The direct jumps of the block generated last (Block::jumpAt, jumpTo).
    [[nodiscard]] std::uint16_t jumpAt(unsigned exit) const { return st_->jumpAt[exit]; }
    [[nodiscard]] std::int16_t jumpTo(unsigned exit) const { return st_->jumpTo[exit]; }
    // Where chained and directly linked entries land: the entry checks after the prologue.
    // Direct jumps land after the loads: the cached registers come in host registers.
    [[nodiscard]] std::size_t entryOffset() const { return regEntryOffset_; }

private:
    struct Slow {
        Xbyak::Label entry, resume;
        const Insn* in = nullptr;
        unsigned start = 0, end = 0, pending = 0;
        unsigned dirty = 0;  // the cached registers to store before the handler
        // A flat-segment test that failed (accessAt): the handler, then out of the block.
        Xbyak::Label flatMiss;
        bool flatMissUsed = false;
        // The flat tests the inline path has passed after this instruction (flatTested):
        // a resume from the handler repeats them, as it has not been through them.
        std::array<std::uint8_t, kSegCount> flatAfter{};
    };

    // Guest register `r` (32-bit): its host register if the block caches it, else its
    // Cpu::regs_ slot. `write`: the instruction may write it (then it is dirty: stored
    // back before anything that can observe Cpu::regs_ or leave the block).
    const Xbyak::Operand& reg(unsigned r, bool write = true) { return sizedReg(4, r, write); }
    const Xbyak::Operand& rd(unsigned r) { return sizedReg(4, r, false); }
    Xbyak::Address seg(unsigned s, std::size_t field) { return dword[rbx + l_.seg[s] + int(field)]; }
    Xbyak::Address mem(unsigned r) { return dword[rbx + l_.regs + 4 * int(r)]; }
    // The TLB's address: a 32-bit displacement (it is in the low 2 GiB, hostSupported).
    int tlb() const { return static_cast<int>(reinterpret_cast<std::uintptr_t>(l_.tlb)); }
    // Register `r` of an operand of `size` bytes: byte registers 4..7 are AH..BH (never
    // of a cached register: cachePlan leaves those in memory).
    const Xbyak::Operand& sizedReg(unsigned size, unsigned r, bool write = true) {
        const unsigned g = size == 1 ? (r & 3) : r;
        const int h = st_->slotOf[g];
        if (h >= 0) {
            if (size == 1 && r >= 4) throw Xbyak::Error(Xbyak::ERR_INTERNAL);
            if (write) st_->dirty |= 1u << g;
            const Xbyak::Reg64& x = kHost[h];
            return size == 1 ? keep(x.cvt8()) : size == 2 ? keep(x.cvt16()) : keep(x.cvt32());
        }
        if (size == 1) return keep(byte[rbx + l_.regs + 4 * int(r & 3) + int(r >> 2)]);
        return keep(size == 2 ? word[rbx + l_.regs + 4 * int(r)] : mem(r));
    }
    // Operands returned by reference stay valid for the next 15 calls.
    template <class T>
    const Xbyak::Operand& keep(const T& x) {
        auto& slot = operands_[operandNext_++ & 15];
        return slot.emplace<T>(x);
    }

    // Cached guest registers (kHost: callee-saved first, then caller-saved ones that a
    // helper call preserves through the frame slots and a handler call reloads).
    static inline const Xbyak::Reg64 kHost[5] = {Xbyak::util::r15, Xbyak::util::r11,
                                                 Xbyak::util::rsi, Xbyak::util::rdi,
                                                 Xbyak::util::r14};
    // Callee-saved hosts keep their guest register across a helper call by themselves.
    static constexpr bool calleeSaved(int h) { return h == 0 || h == 4; }
    // The guest registers cached, the same in every block (the ABI of direct jumps:
    // they stay in kHost across them): EAX ECX EDX EBX EBP. rbp holds Cpu::retired_ the
    // same way (no store-to-load chain through memory from block to block).
    static constexpr std::array<int, 8> kSlotOf{0, 1, 2, 3, -1, 4, -1, -1};
    static constexpr unsigned kCachedMask = 0x2F;  // EAX ECX EDX EBX EBP
    static constexpr int kFrame = 40;  // 6 pushes + return address + 40: 16-byte aligned
    static constexpr int kSlotR10 = 0, kSlotTarget = 32;  // slots 8, 16, 24: kHost[1..3]
    // Stores the cached registers of `mask` to Cpu::regs_.
    void writeBack(unsigned mask) {
        for (unsigned g = 0; g < 8; ++g)
            if ((mask >> g & 1) && st_->slotOf[g] >= 0) mov(mem(g), kHost[st_->slotOf[g]].cvt32());
    }
    void flush() { writeBack(st_->dirty); }
    // Loads every cached register from Cpu::regs_, and rbp (block entry, after a handler).
    void reload() {
        loadRetired();
        for (unsigned g = 0; g < 8; ++g)
            if (st_->slotOf[g] >= 0) mov(kHost[st_->slotOf[g]].cvt32(), mem(g));
    }
    // rbp holds Cpu::retired_ - Cpu::blockLimit_ (runBlocks' budget, constant while
    // compiled code runs): the budget check of a block entry is one compare with an
    // immediate. Clobbers rax.
    void loadRetired() {
        mov(rbp, qword[rbx + l_.retired]);
        sub(rbp, qword[rbx + l_.blockLimit]);
    }
    void storeRetired() {
        mov(rax, qword[rbx + l_.blockLimit]);
        add(rax, rbp);
        mov(qword[rbx + l_.retired], rax);
    }
    // Around a call of a helper that reads no guest register: r10 and the caller-saved
    // hosts in use are kept in the frame.
    void saveVolatile(bool save) {
        if (save) mov(qword[rsp + kSlotR10], r10); else mov(r10, qword[rsp + kSlotR10]);
        for (unsigned g = 0; g < 8; ++g) {
            const int h = st_->slotOf[g];
            if (h < 0 || calleeSaved(h)) continue;
            if (save) mov(qword[rsp + 8 * h], kHost[h]); else mov(kHost[h], qword[rsp + 8 * h]);
        }
    }
    Xbyak::Address sized(unsigned size, const Xbyak::RegExp& at) {
        return size == 1 ? byte[at] : size == 2 ? word[at] : dword[at];
    }
    static Xbyak::Reg part(const Xbyak::Reg32& r, unsigned size) {
        if (size == 1) return r.cvt8();
        if (size == 2) return r.cvt16();
        return r;
    }
    // dst <- an operand of `size` bytes, zero-extended (the interpreter's T values).
    void loadZx(const Xbyak::Reg32& dst, unsigned size, const Xbyak::Operand& src) {
        if (size == 4)
            mov(dst, src);
        else
            movzx(dst, src);
    }

    // rbx = Cpu*, r12 = EIP of the block's first instruction, r13 = byte offset of this
    // privilege level's read tag in a TLB entry (the TLB itself is a displacement, tlb());
    // rbp holds the retired count, r15, r11, rsi, rdi, r14 the guest registers the block
    // caches (kHost). The frame is the one ehFrame()
    // describes: below the pushes, kFrame bytes of slots (kSlot*).
    void prologue() {
        push(rbx);
        push(rbp);
        push(r12);
        push(r13);
        push(r14);
        push(r15);
        sub(rsp, kFrame);  // (rsp is now 16-byte aligned at calls)
        mov(rbx, rdi);
        mov(r12d, dword[rbx + l_.eip]);
        mov(r13d, dword[rbx + l_.userAcc]);
        shl(r13d, 2);
    }

    // Block::link slots: the exit a block leaves by picks the hint it follows.
    static constexpr unsigned kTaken = 0, kFallThrough = 1;

    // Leaves the block with `retire` instructions not yet counted (EIP already set)
    // through `exit`: a conditional branch has two, each with its own successor hint, so
    // a loop whose branch alternates still chains both ways.
    void leave(unsigned retire, unsigned exit = kTaken) {
        if (retire) add(rbp, retire);
        storeRetired();
        mov(rsi, reinterpret_cast<std::uintptr_t>(&st_->block->link[exit]));
        jmp(st_->chain, T_NEAR);
    }

    // The block's end (rsi = the exit's Block::link slot): on to the next block's code
    // without returning to runBlocks when runBlocks would do just that -- nothing asked
    // to leave, the fetch window maps EIP to a block (host address and code generation,
    // as Block::current) that is compiled; its entry checks INTR, the instruction budget
    // and the CS limit. The candidate is the exit's hint, else the
    // jump cache's entry for that host address (findBlock's first probe: returns and
    // indirect jumps are served here), which then becomes the hint. Compiled blocks are
    // all 32-bit code (Cpu::compileBlock), as the running one is, so d32 needs no
    // compare. Anything else goes back to runBlocks, which looks up or builds the block
    // and leaves it in the exit's hint (Cpu::exitSlot_), so a successor the jump cache
    // lost to aliasing still chains next time.
    void chain() {
        Xbyak::Label out, probe, found, window, newPage;
        L(st_->chain);
        cmp(byte[rbx + l_.blockExit], 0);
        jne(out, T_NEAR);
        // rdx <- the host address of EIP in the fetch window (not within 16 bytes of
        // the page end: those instructions run one at a time).
        mov(edx, dword[rbx + l_.eip]);
        add(edx, seg(CS, offsetof(SegCache, base)));
        mov(ecx, edx);
        and_(ecx, 0xFFFFF000u);
        cmp(ecx, dword[rbx + l_.fetchPage]);
        jne(newPage, T_NEAR);
        L(window);
        and_(edx, 0xFFF);
        cmp(edx, 0x1000 - 16);
        ja(out, T_NEAR);
        add(rdx, qword[rbx + l_.fetchHost]);
        // rax <- the hint, if it is still the decode of those bytes.
        // A candidate block in rax is used only if it is non-null, decoded from the
        // bytes at rdx and of its code page's current generation; else go to miss.
        auto checkCandidate = [&](Xbyak::Label& miss) {
            test(rax, rax);
            jz(miss, T_NEAR);
            cmp(rdx, qword[rax + offsetof(Block, host)]);
            jne(miss, T_NEAR);
            mov(rdi, qword[rax + offsetof(Block, genPtr)]);
            mov(ecx, dword[rdi]);
            cmp(ecx, dword[rax + offsetof(Block, gen)]);
            jne(miss, T_NEAR);
        };
        mov(rax, qword[rsi]);
        checkCandidate(probe);
        jmp(found, T_NEAR);
        L(probe);  // else the jump cache's (Cpu::findBlock's hash)
        mov(rcx, rdx);
        shr(rcx, 2);
        and_(ecx, Cpu::kJumpCacheSize - 1);
        mov(rax, qword[rbx + rcx * 8 + l_.jumpCache]);
        checkCandidate(out);
        mov(qword[rsi], rax);  // the exit's hint from now on
        L(found);
        mov(rdx, qword[rax + offsetof(Block, code)]);
        test(rdx, rdx);
        jz(out, T_NEAR);
        // (INTR, the budget and the CS limit: the entry checks)
        mov(qword[rbx + l_.curBlockGen], rdi);
        mov(rcx, reinterpret_cast<std::uintptr_t>(st_->block));
        mov(qword[rbx + l_.lastBlock], rcx);  // runBlocks' predecessor if it fails an entry check
        mov(r12d, dword[rbx + l_.eip]);
        add(rdx, static_cast<std::uint32_t>(bodyOffset_));
        jmp(rdx);
        // Another code page (a call or return across pages, the kernel's usual case):
        // the fetch window moves there when the TLB already maps it for execution at
        // this privilege, as Cpu::enterBlock does without a page walk; else runBlocks.
        L(newPage);
        mov(eax, edx);
        shr(eax, 12 - 5);
        and_(eax, (Cpu::kTlbSize - 1) << 5);
        cmp(ecx, dword[rax + r13 + tlb()]);  // the read tag of this privilege, tag[userAcc_]
        jne(out, T_NEAR);
        mov(dword[rbx + l_.fetchPage], ecx);
        mov(rax, qword[rax + (tlb() + int(offsetof(Cpu::TlbEntry, hostDelta)))]);
        add(rax, rcx);  // + the linear page (ecx, zero-extended)
        mov(qword[rbx + l_.fetchHost], rax);
        jmp(window, T_NEAR);
        L(out);  // (on into the epilogue)
        mov(qword[rbx + l_.exitSlot], rsi);
        mov(rax, reinterpret_cast<std::uintptr_t>(st_->block));
        mov(qword[rbx + l_.lastBlock], rax);  // (the block the slot belongs to)
    }

    // The checks on the ways into a block's body, so that a chain of blocks stops where
    // runBlocks would. A direct jump (entryOffset) lands on the budget check alone: the
    // block must fit in the instruction budget (the check point: requestStop, NMI, the
    // slice end, INTR at the latest). From runBlocks and the chain code (the full entry,
    // out of line) first INTR with IF set and the block's end within the CS limit.
    // Neither can change on a direct jump: INTR is looked at again on every other entry
    // and at each check point (<= kCheckInterval instructions), IF only changes in
    // handlers that end their block (STI, POPF, IRET...: they leave through the chain
    // code), and runBlocks runs compiled code only with a page-granular CS (base and
    // limit + 1 page aligned), where a block within the limit has its whole page within
    // it -- and a direct jump never leaves the page. r12 = the block's EIP. If one
    // fails, EIP is stored and the code returns to runBlocks with no exit slot.
    // lastBlock_ is stored by runBlocks, the chain code and the exits that return with a
    // slot, not here: a block entered by a direct jump leaves it as it was.
    void entry() {
        const Block& b = *st_->block;
        L(st_->entryDirect);
        cmp(rbp, -int(b.count));  // retired + count > the budget
        jg(st_->entryFail, T_NEAR);
    }
    void entryOutOfLine() {
        const Block& b = *st_->block;
        L(st_->entryFull);
        mov(rax, reinterpret_cast<std::uintptr_t>(l_.intr));
        cmp(byte[rax], 0);
        jne(st_->entryIntr, T_NEAR);
        L(st_->entryOk);
        mov(eax, r12d);
        add(eax, b.lastOff);
        jc(st_->entryFail, T_NEAR);
        cmp(eax, seg(CS, offsetof(SegCache, hi)));
        jbe(st_->entryDirect, T_NEAR);
        jmp(st_->entryFail, T_NEAR);
        // INTR only counts with IF set (runBlocks' test): code that runs with interrupts
        // disabled while a device asserts INTR -- the kernel's decompressor under a
        // programmed PIT -- would otherwise leave at every block.
        L(st_->entryIntr);
        test(dword[rbx + l_.eflags], fl::IF);
        jz(st_->entryOk, T_NEAR);
        L(st_->entryFail);
        writeBack(kCachedMask);
        storeRetired();
        mov(dword[rbx + l_.eip], r12d);
        mov(qword[rbx + l_.exitSlot], 0);
        jmp(st_->epilogue, T_NEAR);
    }

    // Leaves for EIP = the block's EIP + `delta` (a static target) through `exit`. A
    // target in the same page (not in its last 16 bytes, which run per instruction) is
    // a direct jump to its entry (Block::jumpAt), linked by runBlocks; nothing else is
    // left to check on that path: blockExit_ is clear on every inline path (whatever
    // sets it leaves through the chain), so is a write to the page by a handler (checked
    // after each, pageWritten), and the fetch window and code generation are this
    // block's. A page offset of the host address is that of the linear one (RAM and ROM
    // regions are page aligned). Else through the chain code.
    void exitTo(std::int32_t delta, unsigned exit) {
        const std::int64_t off =
            std::int64_t(reinterpret_cast<std::uintptr_t>(st_->block->host) & 0xFFF) + delta;
        if (off < 0 || off > 0x1000 - 16) {
            flush();  // the chain code's successor finds the registers in Cpu::regs_
            lea(eax, ptr[r12 + delta]);
            mov(dword[rbx + l_.eip], eax);
            leave(st_->pending, exit);
            return;
        }
        if (st_->pending) add(rbp, st_->pending);  // (the target keeps it in rbp)
        lea(r12d, ptr[r12 + delta]);
        jmp(st_->direct[exit], T_NEAR);
        st_->jumpAt[exit] = static_cast<std::uint16_t>(getSize() - 4);  // the rel32
        st_->jumpTo[exit] = static_cast<std::int16_t>(delta);
        st_->directDirty[exit] |= st_->dirty;  // (the target keeps them in kHost)
    }

    // Jumps to `changed` if the block's code page was written since it was entered: a
    // handler's device (DMA) may write RAM without setting blockExit_.
    void pageWritten(Xbyak::Label& changed) {
        mov(rax, reinterpret_cast<std::uintptr_t>(st_->block->genPtr));
        cmp(dword[rax], st_->block->gen);
        jne(changed, T_NEAR);
    }

    void syncRetired() {
        if (st_->pending) add(rbp, st_->pending);
        st_->pending = 0;
    }

    // The interpreter's protocol around a handler: faults restart at insnEip with
    // insnEsp, EIP is the next instruction (a branch replaces it).
    void callHandlerFor(const Insn& in, unsigned start, unsigned end) {
        lea(eax, ptr[r12 + int(start)]);
        mov(dword[rbx + l_.insnEip], eax);
        mov(eax, rd(ESP));
        mov(dword[rbx + l_.insnEsp], eax);
        lea(eax, ptr[r12 + int(end)]);
        mov(dword[rbx + l_.eip], eax);
        storeRetired();
        mov(rdi, rbx);
        mov(rsi, reinterpret_cast<std::uintptr_t>(&in));
        mov(rax, reinterpret_cast<std::uintptr_t>(in.fn));
        call(rax);
        loadRetired();  // (a handler may retire more: REP)
    }

    void viaHandler(const Insn& in, unsigned start, unsigned end, bool last) {
        syncRetired();
        flush();
        callHandlerFor(in, start, end);
        st_->pending = 1;
        if (last) return;  // the block ends after it whatever it did
        // A taken branch, or a handler that asked to leave (SMC, mode change, stop).
        lea(ecx, ptr[r12 + int(end)]);
        cmp(dword[rbx + l_.eip], ecx);
        jne(st_->exitAfterCall, T_NEAR);
        cmp(byte[rbx + l_.blockExit], 0);
        jne(st_->exitAfterCall, T_NEAR);
        pageWritten(st_->exitAfterCall);
        st_->exitAfterCallUsed = true;
        reload();  // the handler may have changed any register
        st_->dirty = 0;
        st_->flatTested.fill(0);  // and any segment register
    }

    // eax <- the effective address of a 32-bit-address memory operand.
    void effectiveAddress(const Insn& in) {
        const auto disp = static_cast<std::int32_t>(in.disp);
        // A cached register is used in place (its host register's upper half is zero,
        // and a 32-bit LEA keeps the low 32 bits of the sum anyway).
        const auto host = [&](unsigned r) -> const Xbyak::Reg64* {
            return r < 8 && st_->slotOf[r] >= 0 ? &kHost[st_->slotOf[r]] : nullptr;
        };
        const Xbyak::Reg64* hb = in.base != kNone ? host(in.base) : nullptr;
        const Xbyak::Reg64* hi = in.index != kNone ? host(in.index) : nullptr;
        if (hb || hi) {
            Xbyak::RegExp e = Xbyak::RegExp(disp);
            if (in.base != kNone) {
                if (!hb) mov(eax, rd(in.base));
                e = e + (hb ? *hb : rax);
            }
            if (in.index != kNone) {
                if (!hi) mov(ecx, rd(in.index));
                e = e + (hi ? *hi : rcx) * (1 << in.scale);
            }
            lea(eax, ptr[e]);
            return;
        }
        if (in.base != kNone && in.index != kNone) {
            mov(eax, rd(in.base));
            mov(ecx, rd(in.index));
            lea(eax, ptr[rax + rcx * (1 << in.scale) + disp]);
        } else if (in.base != kNone) {
            mov(eax, rd(in.base));
            if (disp) add(eax, disp);
        } else if (in.index != kNone) {
            mov(ecx, rd(in.index));
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
    // The same with the offset in eax already. A segment flat when the block is compiled
    // (the window all of 0..4G-1: Linux's DS, ES, SS, and its per-CPU FS with a base) is
    // tested with one instruction, off the address's dependency chain, and goes to the
    // slow path if it is no longer so at run time.
    void accessAt(unsigned s, unsigned size, bool write, Xbyak::Label& slow) {
        const std::uint8_t full = write ? SegCache::kNotFullWrite : SegCache::kNotFullRead;
        const std::uint8_t now = l_.segState[s].notFlat;
        if (!(now & full)) {
            const std::uint8_t need = full | (now & SegCache::kBaseNonZero ? 0 : SegCache::kBaseNonZero);
            // Tested once per straight run of inline code (flatTested): segment
            // registers change only in handlers, after which viaHandler forgets the
            // tests; a failed test runs the handler and leaves the block (flatMiss).
            if ((st_->flatTested[s] & need) != need) {
                test(byte[rbx + l_.seg[s] + int(offsetof(SegCache, notFlat))], need);
                jnz(flatMissOf(slow), T_NEAR);
                st_->flatTested[s] |= need;
            }
            if (now & SegCache::kBaseNonZero) add(eax, seg(s, offsetof(SegCache, base)));
        } else {
            const unsigned sizeIndex = size == 1 ? 0 : size == 2 ? 1 : 2;
            const std::size_t window = write ? offsetof(SegCache, wEnd) : offsetof(SegCache, rEnd);
            mov(ecx, eax);
            sub(ecx, seg(s, offsetof(SegCache, lo)));
            cmp(rcx, qword[rbx + l_.seg[s] + int(window + 8 * sizeIndex)]);
            jae(slow, T_NEAR);
            add(eax, seg(s, offsetof(SegCache, base)));
        }
        // rcx <- the TLB entry: ((lin >> 12) & (kTlbSize - 1)) * 32 in two operations.
        static_assert(sizeof(Cpu::TlbEntry) == 32);
        mov(ecx, eax);
        shr(ecx, 12 - 5);
        and_(ecx, (Cpu::kTlbSize - 1) << 5);
        lea(edx, ptr[rax + int(size - 1)]);
        and_(edx, 0xFFFFF000u);
        cmp(edx, dword[rcx + r13 + (tlb() + (write ? 4 : 0))]);
        jne(slow, T_NEAR);
        mov(r9, qword[rcx + (tlb() + int(offsetof(Cpu::TlbEntry, hostDelta)))]);
        add(r9, rax);  // (rax: the linear address, zero-extended)
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
            mov(dst, rd(in.rm));
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
            mov(dst, rd(in.rm));
        } else {
            access(in, 4, false, slow);
            mov(dst, dword[r9]);
        }
    }

    // The flatMiss label of the slow path whose entry is `slow`.
    Xbyak::Label& flatMissOf(const Xbyak::Label& slow) {
        for (unsigned i = 0; i < st_->slowCount; ++i) {
            Slow& s = st_->slow[i];
            if (&s.entry == &slow) {
                s.flatMissUsed = true;
                return s.flatMiss;
            }
        }
        throw Xbyak::Error(Xbyak::ERR_INTERNAL);
    }

    Slow& newSlow(const Insn& in, unsigned start, unsigned end) {
        Slow& s = st_->slow[st_->slowCount++];
        s.in = &in;
        s.start = start;
        s.end = end;
        s.pending = st_->pending;
        s.dirty = st_->dirty;  // (the inline path changes no register before it jumps here)
        return s;
    }

    // The whole instruction through its handler, then back into the block. The
    // retired count is exact around the call and restored to the inline path's.
    void slowPath(Slow& s) {
        Xbyak::Label resume, out;
        if (s.flatMissUsed) {
            L(s.flatMiss);  // a segment no longer flat: run it, then leave the block
            writeBack(s.dirty);
            if (s.pending) add(rbp, s.pending);
            callHandlerFor(*s.in, s.start, s.end);
            jmp(out, T_NEAR);
        }
        L(s.entry);
        writeBack(s.dirty);  // a fault sees the registers as of the instruction's start
        if (s.pending) add(rbp, s.pending);
        callHandlerFor(*s.in, s.start, s.end);
        cmp(byte[rbx + l_.blockExit], 0);
        jne(out, T_NEAR);
        pageWritten(out);
        for (unsigned g = 0; g < kSegCount; ++g) {
            if (!s.flatAfter[g]) continue;
            test(byte[rbx + l_.seg[g] + int(offsetof(SegCache, notFlat))], s.flatAfter[g]);
            jnz(out, T_NEAR);
        }
        jmp(resume, T_NEAR);
        L(out);
        leave(1);  // a store hit code (SMC), or a device wrote the page: leave after it
        L(resume);
        reload();
        if (s.pending) sub(rbp, s.pending);
        jmp(s.resume, T_NEAR);
    }

    // Lazy flags of an ALU result of `size` bytes (Cpu::setLazy<T>): eax = a, r8d = b
    // on entry, both zero-extended; eax = the result, zero-extended, on exit. The host
    // operation runs at the guest's size, so its carry is the guest's CF. Clobbers ecx,
    // edx.
    //
    // cfLoad: cf_ (0 or 1) is read as a byte. The inline paths store it with SETC, a
    // byte store, and a wider load of a narrower store just made cannot be forwarded
    // from the store buffer: the load then waits for the store to reach the cache
    // (~a dozen cycles; Intel's optimization manual, "store forwarding"). The kernel's
    // MPI loops (ADD, ADC, CMOVAE, SETB in a row) spent most of their time there.
    void alu(Alu a, unsigned size = 4) {
        const Xbyak::Reg x = part(eax, size), y = part(r8d, size);
        if (!(need_ & kFlagRest)) {  // dead flags (liveness): the result, and CF if live
            const bool carry = need_ & kFlagCf;
            if (a == Alu::Adc || a == Alu::Sbb) {
                movzx(edx, byte[rbx + l_.cf]);  // (see cfLoad)
                bt(edx, 0);
                if (a == Alu::Adc)
                    adc(x, y);
                else
                    sbb(x, y);
            } else {
                switch (a) {
                case Alu::Add: add(x, y); break;
                case Alu::Sub:
                case Alu::Cmp: sub(x, y); break;
                case Alu::Or: or_(x, y); break;
                case Alu::Xor: xor_(x, y); break;
                default: and_(x, y); break;  // AND, TEST
                }
            }
            if (carry) setc(byte[rbx + l_.cf]);  // logic ops clear CF: setc gives 0
            return;  // (the caller writes back x at its size)
        }
        // The operands only matter to OF and AF of the arithmetic kinds (Cpu::arithFlags):
        // a logic op's flags come from its result alone.
        const bool logic = a == Alu::Or || a == Alu::Xor || a == Alu::And || a == Alu::Test;
        if (!logic) {
            mov(dword[rbx + l_.lfA], eax);
            mov(dword[rbx + l_.lfB], r8d);
        }
        if (a == Alu::Adc || a == Alu::Sbb) {
            // The carry in is cf_; the kind is Adc/Sbb with a carry in, else Add/Sub
            // (the enumerators are adjacent: Add + 1 = Adc, Sub + 1 = Sbb).
            movzx(edx, byte[rbx + l_.cf]);  // (see cfLoad)
            bt(edx, 0);
            if (a == Alu::Adc)
                adc(x, y);
            else
                sbb(x, y);
            setc(byte[rbx + l_.cf]);  // ADC: res <= a with a carry in, else res < a; SBB alike
            if (size != 4) movzx(eax, x);
            add(dl, static_cast<std::uint8_t>(a == Alu::Adc ? FlagOp::Add : FlagOp::Sub));
            mov(dword[rbx + l_.lfRes], eax);
            mov(dh, size);
            mov(word[rbx + l_.lfOp], dx);  // lfOp_, lfSize_
            return;
        }
        FlagOp op = FlagOp::Logic;
        switch (a) {
        case Alu::Add: add(x, y), op = FlagOp::Add; break;
        case Alu::Sub:
        case Alu::Cmp: sub(x, y), op = FlagOp::Sub; break;
        case Alu::Or: or_(x, y); break;
        case Alu::Xor: xor_(x, y); break;
        default: and_(x, y); break;  // AND, TEST
        }
        if (op == FlagOp::Logic) {
            mov(dword[rbx + l_.cf], 0);
        } else {
            // ADD: carry out = res < a; SUB: borrow = a < b. cf_ is 0 or 1, so its upper
            // bytes are already zero.
            setc(byte[rbx + l_.cf]);
        }
        if (size != 4) movzx(eax, x);
        lazyResult(op, size);
    }
    // CF and OF computed by the operation itself (Cpu::setLazyCarryOverflow): ecx = CF,
    // `of` = OF, eax = result.
    void carryOverflowResult(const Xbyak::Reg32& of, unsigned size = 4) {
        if (need_ & kFlagCf) mov(dword[rbx + l_.cf], ecx);
        if (!(need_ & kFlagRest)) return;
        mov(dword[rbx + l_.lfB], of);  // (lfA: unused by FlagOp::Shift)
        lazyResult(FlagOp::Shift, size);
    }
    void lazyResult(FlagOp op, unsigned size = 4) {
        mov(dword[rbx + l_.lfRes], eax);
        mov(word[rbx + l_.lfOp], static_cast<std::uint16_t>(unsigned(op) | size << 8));  // lfOp_, lfSize_
    }
    static bool writesBack(Alu a) { return a != Alu::Cmp && a != Alu::Test; }

    // SHL/SHR/SAR of a 32- or 16-bit register by a constant or by CL (shiftOp in
    // ExecAlu.cpp): the count is masked to 5 bits, 0 changes nothing (flags kept). CF is
    // the last bit out; OF as the interpreter computes it (also where it is undefined).
    // 16 bits: the host shifts the zero- (SHL, SHR) or sign-extended (SAR) value in 32
    // bits, which gives the interpreter's result and CF for counts 16..31 as well (SHL:
    // CF is bit 16 of that shift, not the host's CF).
    void shift(const Insn& in, unsigned size) {
        const bool byCl = in.op == 0xD3;
        const unsigned n = (in.op == 0xD1 ? 1u : in.imm) & 31;
        if (!byCl && n == 0) return;  // no change, flags kept (a register: no access to make)
        Xbyak::Label skip;
        if (byCl) {
            movzx(ecx, sizedReg(1, ECX, false));
            and_(ecx, 31);
            jz(skip, T_NEAR);
        }
        if (size == 2 && in.reg == 7)
            movsx(eax, sizedReg(2, in.rm, false));
        else
            loadZx(eax, size, sizedReg(size, in.rm, false));
        const unsigned sign = size * 8 - 1;
        if (!need_) {  // flags dead (liveness): the result alone
            switch (in.reg) {
            case 4: byCl ? shl(eax, cl) : shl(eax, n); break;
            case 5: byCl ? shr(eax, cl) : shr(eax, n); break;
            default: byCl ? sar(eax, cl) : sar(eax, n); break;
            }
            mov(sizedReg(size, in.rm), part(eax, size));
            L(skip);
            return;
        }
        if (in.reg == 5) {  // SHR: OF = the old sign
            mov(r8d, eax);
            shr(r8d, sign);
            if (size == 2) and_(r8d, 1);
        } else if (in.reg == 7) {  // SAR: OF = 0 (before the shift: its flags stay)
            xor_(r8d, r8d);
        }
        switch (in.reg) {
        case 4: byCl ? shl(eax, cl) : shl(eax, n); break;
        case 5: byCl ? shr(eax, cl) : shr(eax, n); break;
        default: byCl ? sar(eax, cl) : sar(eax, n); break;
        }
        if (size == 2 && in.reg == 4) {
            mov(ecx, eax);
            shr(ecx, 16);
            and_(ecx, 1);
        } else {
            setc(cl);
            movzx(ecx, cl);
        }
        if (size == 2) movzx(eax, ax);
        if (in.reg == 4) {  // SHL: OF = new sign ^ CF
            mov(r8d, eax);
            shr(r8d, sign);
            xor_(r8d, ecx);
        }
        mov(sizedReg(size, in.rm), part(eax, size));
        carryOverflowResult(r8d, size);
        L(skip);
    }

    // F7 /2../7 (group3 in ExecAlu.cpp). MUL/IMUL: EDX:EAX <- EAX * r/m32, CF = OF = the
    // high half significant; DIV/IDIV: EAX, EDX <- EDX:EAX / r/m32, flags unchanged, and a
    // zero divisor or a quotient that does not fit goes to the handler, which raises #DE
    // (the inline path has changed nothing then).
    void group3(const Insn& in, unsigned start, unsigned end) {
        if (in.reg == 2 || in.reg == 3) {  // NOT, NEG r32
            if (in.reg == 2) {
                not_(reg(in.rm));
                return;
            }
            xor_(eax, eax);
            mov(r8d, rd(in.rm));
            alu(Alu::Sub);  // 0 - a: Sub(0, a), CF = a != 0
            mov(reg(in.rm), eax);
            return;
        }
        Slow* s = in.reg >= 6 || in.mod != 3 ? &newSlow(in, start, end) : nullptr;
        if (in.mod == 3) {
            mov(r8d, rd(in.rm));
        } else {
            access(in, 4, false, s->entry);
            mov(r8d, dword[r9]);
        }
        mov(eax, rd(EAX));
        if (in.reg == 4 || in.reg == 5) {
            if (in.reg == 4)
                mul(r8d);
            else
                imul(r8d);
            setc(cl);  // (MUL: EDX != 0; IMUL: EDX:EAX is not EAX sign-extended)
            movzx(ecx, cl);
            mov(reg(EAX), eax);
            mov(reg(EDX), edx);
            carryOverflowResult(ecx);
        } else if (in.reg == 6) {
            mov(edx, rd(EDX));
            test(r8d, r8d);
            jz(s->entry, T_NEAR);
            cmp(edx, r8d);  // the quotient fits iff EDX < the divisor
            jae(s->entry, T_NEAR);
            div(r8d);
            mov(reg(EAX), eax);
            mov(reg(EDX), edx);
        } else {  // IDIV: a 64-bit host division (traps only for 0 and INT64_MIN / -1)
            test(r8d, r8d);
            jz(s->entry, T_NEAR);
            cmp(r8d, -1);  // (-1: the handler; -2^63 / -1 would trap on the host)
            je(s->entry, T_NEAR);
            mov(edx, rd(EDX));
            shl(rdx, 32);
            or_(rax, rdx);  // (eax zero-extended)
            movsxd(r8, r8d);
            cqo();
            idiv(r8);
            movsxd(rcx, eax);
            cmp(rcx, rax);
            jne(s->entry, T_NEAR);  // the quotient does not fit in 32 bits
            mov(reg(EAX), eax);
            mov(reg(EDX), edx);
        }
        if (s) L(s->resume);
    }

    // ROL/ROR r32 by 1..31 (shiftOp in ExecAlu.cpp): CF and OF as the interpreter
    // computes them (OF also for counts > 1, where it is undefined and the host's OF
    // cannot be used), the other flags kept: a call to rotateFlags when they are live.
    void rotate(const Insn& in) {
        const unsigned n = (in.op == 0xD1 ? 1u : in.imm) & 31;
        if (n == 0) return;  // no change, flags kept
        mov(eax, reg(in.rm));
        if (in.reg == 0)
            rol(eax, n);
        else
            ror(eax, n);
        mov(reg(in.rm), eax);
        if (!need_) return;
        // ROL: CF = bit 0, OF = bit 31 ^ CF. ROR: CF = bit 31, OF = bit 31 ^ bit 30.
        mov(ecx, eax);
        shr(ecx, 31);  // bit 31
        mov(edx, eax);
        if (in.reg == 0) {
            and_(edx, 1);  // CF
        } else {
            shr(edx, 30);
            and_(edx, 1);  // bit 30
            xchg(ecx, edx);  // edx = CF (bit 31), ecx = bit 30
        }
        xor_(ecx, edx);  // OF
        shl(ecx, 11);    // fl::OF
        or_(edx, ecx);   // | fl::CF (bit 0)
        saveVolatile(true);
        mov(rdi, rbx);
        mov(esi, edx);
        mov(rax, reinterpret_cast<std::uintptr_t>(&jit::rotateFlags));
        call(rax);
        saveVolatile(false);
    }

    // al <- whether Jcc `cc` is taken (Cpu::condT): ZF is lfRes == 0 and CF is cf_ in
    // every flags state; the others ask Cpu::cond.
    void condition(unsigned cc) {
        switch (cc >> 1) {
        case 1:  // B/AE
            cmp(byte[rbx + l_.cf], 0);  // (see cfLoad)
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
            saveVolatile(true);
            mov(rdi, rbx);
            mov(esi, cc);
            mov(rax, reinterpret_cast<std::uintptr_t>(&jit::condition));
            call(rax);
            saveVolatile(false);
            return;  // already the final answer
        }
        if (cc & 1) xor_(al, 1);
    }

    // Jumps to `skip` unless condition `cc` holds: CF (B/AE) and ZF (Z/NZ) straight
    // from cf_ and lfRes, the others through condition(). Keeps r10.
    void skipUnless(unsigned cc, Xbyak::Label& skip) {
        const bool negated = cc & 1;
        switch (cc >> 1) {
        case 1:  // B: CF = 1
            cmp(byte[rbx + l_.cf], 0);  // (see cfLoad)
            negated ? jne(skip, T_NEAR) : je(skip, T_NEAR);
            return;
        case 2:  // Z: lfRes = 0
            cmp(dword[rbx + l_.lfRes], 0);
            negated ? je(skip, T_NEAR) : jne(skip, T_NEAR);
            return;
        default:
            condition(cc);
            test(al, al);
            jz(skip, T_NEAR);
        }
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
        if (p.form == Form::Jcc && (hostConds_ >> (in.op & 0xF) & 1)) {
            jcc((in.op & 0xF) ^ 1, notTaken);  // the host flags of the op before
        } else if (p.form == Form::Jcc) {
            condition(in.op & 0xF);
            test(al, al);
            jz(notTaken, T_NEAR);
        }
        if (p.form == Form::Ret) {
            stack32(s.entry);
            mov(eax, rd(ESP));
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
            mov(dword[rsp + kSlotTarget], eax);
            stack32(s.entry);
            lea(r8d, ptr[r12 + int(end)]);
            push32(s.entry);
            mov(eax, dword[rsp + kSlotTarget]);
        }
        if (p.form == Form::Ret || p.form == Form::CallInd || p.form == Form::JmpInd) {
            mov(dword[rbx + l_.eip], eax);
            flush();
            leave(st_->pending);
        } else {
            exitTo(static_cast<std::int32_t>(end + rel), kTaken);
        }
        if (p.form == Form::Jcc) {
            L(notTaken);
            exitTo(end, kFallThrough);
        }
        L(s.resume);  // (after the handler: it set EIP)
        leave(st_->pending);
    }

    // The conditions (bit cc) a Jcc right after `in` may take from the host's flags: its
    // inline code ends with them as the guest's (the host op at the guest's size is the
    // last one to write flags, nothing but moves follow it) and it has no slow path to
    // resume from. ALU ops but ADC/SBB (their kind is computed after the op); INC/DEC
    // (the host ADD/SUB: CF is not the guest's); SHR/SAR r32 by a constant (OF only
    // for a count of 1: the interpreter's OF for more is its own).
    static unsigned hostConditions(const Insn& in, const Plan& p) {
        constexpr unsigned kAll = 0xFFFF, kNoCf = 0xFF33, kNoOf = 0x0FFC;
        switch (p.form) {
        case Form::AluRR:
        case Form::AluRI: return p.alu == Alu::Adc || p.alu == Alu::Sbb ? 0 : kAll;
        case Form::IncDec: return in.mod == 3 || !(in.op == 0xFE || in.op == 0xFF) ? kNoCf : 0;
        case Form::Shift: {
            if (p.size != 4 || in.op == 0xD3 || (in.reg != 5 && in.reg != 7)) return 0;
            const unsigned n = (in.op == 0xD1 ? 1u : in.imm) & 31;
            return n == 0 ? 0 : n == 1 ? kAll : kNoOf;
        }
        default: return 0;
        }
    }
    void jcc(unsigned cc, Xbyak::Label& to) {
        switch (cc) {
        case 0x0: jo(to, T_NEAR); break;
        case 0x1: jno(to, T_NEAR); break;
        case 0x2: jb(to, T_NEAR); break;
        case 0x3: jae(to, T_NEAR); break;
        case 0x4: je(to, T_NEAR); break;
        case 0x5: jne(to, T_NEAR); break;
        case 0x6: jbe(to, T_NEAR); break;
        case 0x7: ja(to, T_NEAR); break;
        case 0x8: js(to, T_NEAR); break;
        case 0x9: jns(to, T_NEAR); break;
        case 0xA: jp(to, T_NEAR); break;
        case 0xB: jnp(to, T_NEAR); break;
        case 0xC: jl(to, T_NEAR); break;
        case 0xD: jge(to, T_NEAR); break;
        case 0xE: jle(to, T_NEAR); break;
        default: jg(to, T_NEAR); break;
        }
    }

    static bool isBranch(Form f) {
        return f == Form::Jcc || f == Form::Jmp || f == Form::CallRel || f == Form::Ret ||
               f == Form::CallInd || f == Form::JmpInd;
    }

    // PUSH r8d on a 32-bit stack: ESP changes only once the store is done.
    void push32(Xbyak::Label& slow) {
        mov(eax, rd(ESP));
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
        const unsigned size = p.size;
        // Immediates and register writes at the operand size (byte and word forms).
        const std::uint32_t imm = imm32(in) & (size == 4 ? ~0u : (1u << (8 * size)) - 1);
        const Xbyak::Reg acc = part(eax, size);  // eax at the operand size
        switch (p.form) {
        case Form::MovRR: {  // 88/89: r/m <- reg; 8A/8B: reg <- r/m
            const bool toRm = !(in.op & 2);
            mov(acc, sizedReg(size, toRm ? in.reg : in.rm, false));
            mov(sizedReg(size, toRm ? in.rm : in.reg), acc);
            break;
        }
        case Form::MovRI:  // B0-BF, C6/C7 /0
            if (size == 4)
                mov(reg(in.op == 0xC7 ? in.rm : in.op & 7u), imm);
            else if (in.op == 0xC6 || in.op == 0xC7)
                mov(sizedReg(size, in.rm), imm);
            else
                mov(sizedReg(size, in.op & 7u), imm);
            break;
        case Form::Lea:
            effectiveAddress(in);
            mov(reg(in.reg), eax);
            break;
        case Form::IncDec: {  // 40-4F, FE/FF /0 /1: CF unchanged
            const bool rm = in.op == 0xFF || in.op == 0xFE;
            const bool inc = rm ? in.reg == 0 : in.op < 0x48;
            const auto incDec = [&](const Xbyak::Operand& operand) {
                loadZx(eax, size, operand);
                if (need_) {
                    mov(dword[rbx + l_.lfA], eax);
                    mov(dword[rbx + l_.lfB], 1);
                }
                if (inc)
                    add(acc, 1);
                else
                    sub(acc, 1);
                mov(operand, acc);
                if (size != 4) movzx(eax, acc);
                if (need_) lazyResult(inc ? FlagOp::Inc : FlagOp::Dec, size);
            };
            if (rm && in.mod != 3)
                withMemory(in, size, true, start, end, [&] { incDec(sized(size, r9)); });
            else
                incDec(sizedReg(size, rm ? in.rm : in.op & 7u));
            break;
        }
        case Form::AluRR: {
            // Eb,Gb / Ev,Gv (x0, x1, TEST 84/85): a = r/m, b = reg; Gb,Eb / Gv,Ev (x2,
            // x3): the reverse.
            const bool rmFirst = in.op == 0x84 || in.op == 0x85 || !(in.op & 2);
            const unsigned dst = rmFirst ? in.rm : in.reg;
            loadZx(eax, size, sizedReg(size, dst, writesBack(p.alu)));
            loadZx(r8d, size, sizedReg(size, rmFirst ? in.reg : in.rm, false));
            alu(p.alu, size);
            if (writesBack(p.alu)) mov(sizedReg(size, dst), acc);
            break;
        }
        case Form::AluRI: {  // 80/81/83 mod 3; op AL/eAX, imm (04..3D, A8/A9)
            const bool group = in.op == 0x80 || in.op == 0x81 || in.op == 0x83 || in.op == 0xF7;
            const unsigned dst = group ? in.rm : unsigned(EAX);
            loadZx(eax, size, sizedReg(size, dst, writesBack(p.alu)));
            mov(r8d, imm);
            alu(p.alu, size);
            if (writesBack(p.alu)) mov(sizedReg(size, dst), acc);
            break;
        }
        case Form::Shift: shift(in, size); break;
        case Form::Group3: group3(in, start, end); break;
        case Form::Rotate: rotate(in); break;
        case Form::Movzx: {
            const bool wide = in.op == 0xB7;
            if (in.mod == 3) {
                movzx(eax, sizedReg(wide ? 2 : 1, in.rm, false));  // AL..BL, then AH..BH
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
        case Form::Load:  // 8A/8B: the rest of a 16- or 8-bit register is kept
            withMemory(in, size, false, start, end, [&] {
                mov(acc, sized(size, r9));
                mov(sizedReg(size, in.reg), acc);
            });
            break;
        case Form::AluRM:
            withMemory(in, size, false, start, end, [&] {
                if (in.op == 0x84 || in.op == 0x85 || !(in.op & 2)) {  // CMP/TEST [m], r: a = [m]
                    loadZx(eax, size, sized(size, r9));
                    loadZx(r8d, size, sizedReg(size, in.reg, false));
                    alu(p.alu, size);
                } else {  // op r, [m]
                    loadZx(eax, size, sizedReg(size, in.reg));
                    loadZx(r8d, size, sized(size, r9));
                    alu(p.alu, size);
                    if (writesBack(p.alu)) mov(sizedReg(size, in.reg), acc);
                }
            });
            break;
        case Form::AluMI:
        case Form::AluMR:
            // [m] op= imm / r. CMP only reads; the others check the write tag once (a
            // page writable at this privilege is readable) and write back in place.
            withMemory(in, size, writesBack(p.alu), start, end, [&] {
                loadZx(eax, size, sized(size, r9));
                if (p.form == Form::AluMI)
                    mov(r8d, imm);
                else
                    loadZx(r8d, size, sizedReg(size, in.reg, false));
                alu(p.alu, size);
                if (writesBack(p.alu)) mov(sized(size, r9), acc);
            });
            break;
        case Form::Imul:
            // CF = OF = overflow (imulCommon in ExecAlu.cpp).
            withRm(in, eax, start, end, [&] {
                if (in.op == 0xAF)
                    imul(eax, rd(in.reg));
                else
                    imul(eax, eax, static_cast<int>(imm));
                if (need_) {  // (carryOverflowResult stores nothing else)
                    seto(cl);
                    movzx(ecx, cl);
                }
                mov(reg(in.reg), eax);
                carryOverflowResult(ecx);
            });
            break;
        case Form::Cmov:
            // The source is read (and may fault) whatever the condition.
            withRm(in, r10d, start, end, [&] {
                Xbyak::Label keep;
                skipUnless(in.op & 0xF, keep);  // (keeps r10)
                mov(reg(in.reg), r10d);
                L(keep);
            });
            break;
        case Form::Setcc:
            condition(in.op & 0xF);
            mov(sizedReg(1, in.rm), al);
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
                    mov(r8d, rd(in.op & 7u));  // PUSH ESP pushes the old value
                }
                push32(s.entry);
            } else {
                // POP: ESP first, so POP ESP leaves the popped value. LEAVE: ESP <- EBP,
                // then POP EBP.
                mov(eax, rd(p.form == Form::Leave ? EBP : ESP));
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
            withMemory(in, size, true, start, end, [&] {
                if (p.form == Form::Store)
                    mov(acc, sizedReg(size, in.reg, false));
                else
                    mov(eax, imm);
                mov(sized(size, r9), acc);
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
    std::array<std::variant<Xbyak::Reg8, Xbyak::Reg16, Xbyak::Reg32, Xbyak::Address>, 16> operands_;
    unsigned operandNext_ = 0;
    unsigned need_ = kFlagsAll;  // the flags the current instruction must store
    unsigned hostConds_ = 0;      // hostConditions of the instruction before a Jcc
    std::size_t bodyOffset_ = 0;  // where a block's code starts after its prologue
    std::size_t regEntryOffset_ = 0;  // after the loads of the cached registers
    struct State {
        unsigned pending = 0;  // retired instructions not yet added to Cpu::retired_
        Xbyak::Label epilogue, exitAfterCall, chain;
        bool exitAfterCallUsed = false;
        const Block* block = nullptr;  // the one being compiled (its link slots)
        Xbyak::Label entryIntr, entryOk, entryFail, entryFull, entryDirect;
        Xbyak::Label direct[2];           // per exit: its direct jump before it is linked
        std::uint16_t jumpAt[2] = {};     // Block::jumpAt
        std::int16_t jumpTo[2] = {};      // Block::jumpTo
        unsigned directDirty[2] = {};     // registers to store if the jump is not linked
        std::array<Slow, Cpu::kMaxBlockInsns> slow;
        unsigned slowCount = 0;
        std::array<int, 8> slotOf = kSlotOf;  // kHost index or -1
        unsigned dirty = 0;  // cached registers written since their last load or store
        // Per segment register, the SegCache::notFlat bits tested since the last handler.
        std::array<std::uint8_t, kSegCount> flatTested{};
    };
    std::optional<State> st_;  // per block
};

namespace {

// DWARF call frame information (.eh_frame layout, LSB 5.0 "Exception Frames") for the
// frame every compiled block has after its prologue: return address at CFA-8, rbx rbp
// r12 r13 r14 r15 pushed below it, then 40 bytes of slots: rsp = CFA-96. One FDE covers the whole arena; no exception
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
    enum : unsigned { kRbx = 3, kRbp = 6, kRsp = 7, kR12 = 12, kR13 = 13, kR14 = 14, kR15 = 15, kRip = 16 };
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
    u8(0x0e), u8(96);                              // DW_CFA_def_cfa_offset 96
    u8(0x80 | kRbx), u8(2);                        // DW_CFA_offset rbx, CFA-16
    u8(0x80 | kRbp), u8(3);
    u8(0x80 | kR12), u8(4);
    u8(0x80 | kR13), u8(5);
    u8(0x80 | kR14), u8(6);
    u8(0x80 | kR15), u8(7);
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

bool BlockCompiler::hostSupported(const Cpu& c) {
#if defined(__x86_64__)
    const auto tlb = reinterpret_cast<std::uintptr_t>(c.tlb_);
    return tlb + sizeof(Cpu::TlbEntry) * Cpu::kTlbSize <= 0x7FFFFFFFu;
#else
    (void)c;
    return false;
#endif
}

BlockCompiler::BlockCompiler(const Cpu& c, std::size_t arenaBytes)
    : arena_(hostSupported(c) ? arenaBytes : 4096) {
    layout_.regs = offsetIn(c, &c.regs_[0]);
    layout_.eip = offsetIn(c, &c.eip_);
    layout_.insnEip = offsetIn(c, &c.insnEip_);
    layout_.insnEsp = offsetIn(c, &c.insnEsp_);
    layout_.retired = offsetIn(c, &c.retired_);
    layout_.blockExit = offsetIn(c, &c.blockExit_);
    layout_.lfOp = offsetIn(c, &c.lfOp_);
    layout_.lfSize = offsetIn(c, &c.lfSize_);
    // Compiled code writes both with one 16-bit store.
    if (layout_.lfSize != layout_.lfOp + 1) throw Error("jit: lfSize_ must follow lfOp_");
    layout_.lfA = offsetIn(c, &c.lfA_);
    layout_.lfB = offsetIn(c, &c.lfB_);
    layout_.lfRes = offsetIn(c, &c.lfRes_);
    layout_.cf = offsetIn(c, &c.cf_);
    layout_.eflags = offsetIn(c, &c.eflags_);
    layout_.userAcc = offsetIn(c, &c.userAcc_);
    layout_.tlb = c.tlb_;
    layout_.segState = c.seg_;
    for (unsigned s = 0; s < kSegCount; ++s) layout_.seg[s] = offsetIn(c, &c.seg_[s]);
    layout_.fetchPage = offsetIn(c, &c.fetchPage_);
    layout_.fetchHost = offsetIn(c, &c.fetchHost_);
    layout_.curBlockGen = offsetIn(c, &c.curBlockGen_);
    layout_.blockLimit = offsetIn(c, &c.blockLimit_);
    layout_.lastBlock = offsetIn(c, &c.lastBlock_);
    layout_.jumpCache = offsetIn(c, &c.jumpCache_[0]);
    layout_.exitSlot = offsetIn(c, &c.exitSlot_);
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

bool BlockCompiler::arenaFull() const {
#if defined(__x86_64__)
    return arena_.free() < Scratch::kMaxBlockCode;
#else
    return false;
#endif
}

BlockCode BlockCompiler::compile(Block& block) {
#if defined(__x86_64__)
    if (arenaFull()) return nullptr;
    try {
        emitter_->block(block);
    } catch (const Xbyak::Error&) {
        return nullptr;  // cannot happen within kMaxBlockCode; the interpreter runs it
    }
    const std::size_t size = emitter_->getSize();
    std::memcpy(arena_.writePtr(), emitter_->getCode(), size);
    for (unsigned k = 0; k < 2; ++k) {
        block.jumpAt[k] = emitter_->jumpAt(k);
        block.jumpTo[k] = emitter_->jumpTo(k);
    }
    return reinterpret_cast<BlockCode>(arena_.commit(size));
#else
    (void)block;
    return nullptr;
#endif
}

void BlockCompiler::link(const Block& from, unsigned exit, const Block& to) {
#if defined(__x86_64__)
    // Single-threaded: the CPU runs no compiled code while runBlocks patches, and the
    // host's instruction fetch snoops stores by physical address (the other view).
    const auto* site = reinterpret_cast<const std::uint8_t*>(from.code) + from.jumpAt[exit];
    const auto* target = reinterpret_cast<const std::uint8_t*>(to.code) + emitter_->entryOffset();
    const auto rel = static_cast<std::int32_t>(target - (site + 4));
    std::memcpy(arena_.writable(site), &rel, sizeof rel);
#else
    (void)from, (void)exit, (void)to;
#endif
}

}  // namespace cxvm::x86::jit
