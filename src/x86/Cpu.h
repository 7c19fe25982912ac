#pragma once
// The interp engine's x86 CPU: an i686-class interpreter (docs/x86.md).
//
// Shape: decode one instruction into an Insn (opcode-table driven, handler chosen by
// operand size at decode time), run its handler, retire. Faults are C++ exceptions
// (x86::Fault) thrown from anywhere below the handler -- including out of the x87 via
// its memory bus -- and caught once per run loop, which restores EIP/ESP of the faulting
// instruction and delivers the exception (SDM Vol. 3 6.5: faults are restartable).
// Memory goes segmentation -> software TLB (inline fast path on host pointers) -> page
// walk / MMIO bus on a miss. Arithmetic flags are lazy: the last ALU op's operands and
// result, evaluated when a flag is read.
#include "hw/Clock.h"
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "util/Mapping.h"
#include "x86/Block.h"
#include "x86/CpuState.h"
#include "x86/jit/BlockCompiler.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cxvm::x86 {

class Cpu;
struct Insn;
using Handler = void (*)(Cpu&, const Insn&);

// One decoded instruction. Register indices 8 mean "none" (regs_[8] is always zero, so
// the effective address is one branch-free sum).
struct Insn {
    Handler fn = nullptr;
    std::uint32_t disp = 0;
    std::uint32_t imm = 0;
    std::uint16_t imm2 = 0;  // far pointer selector, ENTER nesting level
    std::uint8_t len = 0;
    std::uint8_t op = 0;  // primary opcode byte (the second byte after 0F)
    std::uint8_t mod = 0, reg = 0, rm = 0;
    std::uint8_t base = 8, index = 8, scale = 0;
    std::uint8_t seg = DS;  // effective segment of the memory operand / string source
    std::uint8_t rep = 0;   // 0, 0xF2 (REPNE) or 0xF3 (REP/REPE)
    bool o32 : 1 = false;
    bool a32 : 1 = false;
    bool lock : 1 = false;
    bool segOverride : 1 = false;
    bool twoByte : 1 = false;
    bool endsBlock : 1 = false;  // control transfer / mode change: last of a translated block
    [[nodiscard]] bool isMem() const { return mod != 3; }
};

// A fault or exception raised while executing (SDM Vol. 3 6.3).
struct Fault {
    std::uint8_t vector;
    bool hasCode;
    std::uint32_t code;
};

namespace vec {
inline constexpr std::uint8_t DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7,
                              DF = 8, TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16,
                              AC = 17, MC = 18, XM = 19;
}

enum class StopReason : std::uint8_t { SliceEnd, Halt, Hypercall, Shutdown, Stopped, Exception };

struct RunResult {
    StopReason reason = StopReason::SliceEnd;
    Fault fault{0, false, 0};  // StopReason::Exception (only with setExceptionExit)
};

// --trace: one line per instruction while `count` lasts and EIP (linear) is in
// [fromAddress, toAddress].
struct TraceOptions {
    bool enabled = false;
    std::uint64_t count = UINT64_MAX;
    std::uint32_t fromAddress = 0;
    std::uint32_t toAddress = 0xFFFFFFFFu;
    std::FILE* out = nullptr;  // nullptr: stderr

    // `--trace[=SPEC]`: SPEC is empty/"all", a count ("5000"), or comma-separated
    // count=N, from=ADDR, to=ADDR, range=ADDR-ADDR (numbers in C syntax: 0x.. hex).
    // Throws cxvm::Error naming the bad item.
    static TraceOptions parse(std::string_view spec);
};

struct CpuBus {
    hw::GuestMemory& memory;
    hw::IoBus& io;
    hw::MmioBus& mmio;
    hw::CpuInterruptPins& pins;
    const hw::Clock* clock = nullptr;  // TSC source; nullptr: retired instructions
};

class X87Unit;  // x87 adapter (X87Unit.h), absent when the FPU is not built in

class Cpu {
public:
    explicit Cpu(CpuBus bus);
    ~Cpu();
    Cpu(const Cpu&) = delete;
    Cpu& operator=(const Cpu&) = delete;

    // ---- control ----
    void reset();  // SDM Vol. 3 9.1.1
    // Flat 32-bit protected mode, CPL `cpl` (0 or 3), paging off: the state the
    // differential bench and unit tests start from.
    void setFlat32(std::uint32_t eip, std::uint32_t esp, unsigned cpl = 0);
    RunResult run(std::uint64_t maxInstructions);
    void requestStop() { stop_.store(true, std::memory_order_relaxed); }
    // When set, exceptions (incl. INT3/INT n) end run() with StopReason::Exception
    // instead of being delivered through the IDT.
    void setExceptionExit(bool on) { exceptionExit_ = on; }
    void setTrace(const TraceOptions& t);
    // Called with every byte written to port 0x80 (POST codes), before the IoBus sees it.
    void setPostCodeHook(std::function<void(std::uint8_t)> hook) { postHook_ = std::move(hook); }
    // FERR# (x87 error with CR0.NE clear): the platform routes it to IRQ13.
    void setFerrHook(std::function<void()> hook) { ferrHook_ = std::move(hook); }
    [[nodiscard]] std::uint64_t instructionsRetired() const { return retired_; }
    // Guest profile (`cxvm run --profile`): the linear EIP every `interval` retired
    // instructions (at the next check point, i.e. within kCheckInterval), counted per
    // EIP, so memory grows with the code run, not with the run's length. 0 = off.
    void setProfileInterval(std::uint64_t interval) {
        profileInterval_ = interval;
        nextProfile_ = retired_ + interval;
    }
    [[nodiscard]] const std::unordered_map<std::uint32_t, std::uint64_t>& profileSamples() const {
        return profile_;
    }
    // Translated-block statistics: blocks decoded, whole-cache flushes, stores that hit a
    // page holding translated code.
    struct BlockStats {
        std::uint64_t builds, flushes, codePageWrites, compiled, codeBytes;
        std::uint64_t links;  // direct jumps linked between compiled blocks
    };
    [[nodiscard]] BlockStats blockStats() const {
        return {blockBuilds_, blockFlushes_, codePageWrites_, blocksCompiled_,
                jit_ ? jit_->codeBytes() : 0, blockLinks_};
    }
    // Compiled blocks (jit/BlockCompiler.h): on by default where the host can run them; a
    // block is compiled after it ran `threshold` times interpreted (0: when decoded).
    void setCompile(bool on, unsigned threshold = kDefaultCompileThreshold,
                    std::size_t codeBytes = jit::BlockCompiler::kArenaBytes);
    [[nodiscard]] bool compiling() const { return jit_ != nullptr; }
    // A boot compiles ~80,000 blocks at 8 runs and ~12,000 at 256, of ~190,000 decoded:
    // code generation (~10 us a block) then costs less than interpreting the warm ones.
    static constexpr unsigned kDefaultCompileThreshold = 256;
    [[nodiscard]] const std::string& shutdownReason() const { return shutdownReason_; }
    [[nodiscard]] bool halted() const { return halted_; }

    // ---- registers ----
    [[nodiscard]] std::uint32_t reg(unsigned r) const { return regs_[r]; }
    void setReg(unsigned r, std::uint32_t v) { regs_[r] = v; }
    [[nodiscard]] std::uint32_t eip() const { return eip_; }
    void setEip(std::uint32_t v) { eip_ = v; }
    [[nodiscard]] std::uint32_t eflags() const;
    void setEflags(std::uint32_t v);  // no privilege checks (VMM/test use)
    [[nodiscard]] const SegCache& segment(unsigned s) const { return seg_[s]; }
    void setSegment(unsigned s, const SegCache& c);
    [[nodiscard]] const SegCache& ldtr() const { return ldtr_; }
    [[nodiscard]] const SegCache& tr() const { return tr_; }
    void setLdtr(const SegCache& c) { ldtr_ = c; }
    void setTr(const SegCache& c) { tr_ = c; }
    [[nodiscard]] TableReg gdtr() const { return gdtr_; }
    [[nodiscard]] TableReg idtr() const { return idtr_; }
    void setGdtr(TableReg t) { gdtr_ = t; }
    void setIdtr(TableReg t) { idtr_ = t; }
    [[nodiscard]] std::uint32_t cr(unsigned n) const;
    void setCr(unsigned n, std::uint32_t v);  // no checks; flushes the TLB
    [[nodiscard]] unsigned cpl() const { return cpl_; }
    void completeHypercall(std::uint32_t eax) { regs_[EAX] = eax; }

    // ---- SSE/SSE2 state (docs/x86.md "MMX, SSE and SSE2"; MM0-7 live in the x87) ----
    struct alignas(16) Xmm {
        std::uint64_t q[2] = {0, 0};
        bool operator==(const Xmm&) const = default;
    };
    [[nodiscard]] Xmm xmm(unsigned i) const { return xmm_[i & 7]; }
    void setXmm(unsigned i, Xmm v) { xmm_[i & 7] = v; }
    [[nodiscard]] std::uint32_t mxcsr() const { return mxcsr_; }
    void setMxcsr(std::uint32_t v) { mxcsr_ = v; }  // no checks (VMM/test use)
    // MMi: the significand of x87 physical register Ri (SDM Vol. 1 9.5).
    [[nodiscard]] std::uint64_t mmx(unsigned i) const;

    // ---- guest memory through this CPU's MMU (tests, tracing) ----
    // Linear-address accessors at supervisor privilege; return false on a page fault.
    bool readLinear(std::uint32_t lin, void* dst, unsigned len);
    bool writeLinear(std::uint32_t lin, const void* src, unsigned len);

    // ======== below: the executor's interface (handlers in Exec*.cpp) ========
    // General registers; index 8 is a constant zero used by the EA sum.
    std::uint32_t regs_[9] = {};
    std::uint32_t eip_ = 0;      // next instruction while a handler runs
    std::uint32_t insnEip_ = 0;  // the current instruction (faults restart here)
    std::uint32_t insnEsp_ = 0;  // ESP at its start (restored with EIP on a fault)

    template <class T>
    [[nodiscard]] T getReg(unsigned i) const {
        if constexpr (sizeof(T) == 1)
            return static_cast<T>(regs_[i & 3] >> ((i & 4) << 1));
        else
            return static_cast<T>(regs_[i]);
    }
    template <class T>
    void setReg(unsigned i, T v) {
        if constexpr (sizeof(T) == 1) {
            unsigned sh = (i & 4) << 1;
            regs_[i & 3] = (regs_[i & 3] & ~(0xFFu << sh)) | (std::uint32_t{v} << sh);
        } else if constexpr (sizeof(T) == 2) {
            regs_[i] = (regs_[i] & 0xFFFF0000u) | v;
        } else {
            regs_[i] = v;
        }
    }

    // ---- lazy flags ----
    // CF is always materialized in cf_ (computed by the ALU op itself: one compare), so
    // the frequent CF/ZF/SF tests need no dispatch. OF, AF, PF, SF, ZF are lazy: the last
    // op's kind, size, operands and result, evaluated when read.
    // Shift: SHL/SHR/SAR, SHLD/SHRD, MUL/IMUL: the OF they computed in lfB_; AF clear.
    enum class FlagOp : std::uint8_t { Eager, Add, Adc, Sub, Sbb, Logic, Inc, Dec, Shift };
    FlagOp lfOp_ = FlagOp::Eager;
    std::uint8_t lfSize_ = 4;
    std::uint32_t lfRes_ = 0, lfA_ = 0, lfB_ = 0;
    std::uint32_t cf_ = 0;                   // CF, always valid (0 or 1)
    std::uint32_t eflags_ = fl::kReserved1;  // OF/SF/ZF/AF/PF valid only when Eager; CF never

    template <class T>
    [[gnu::always_inline]] void setLazy(FlagOp op, std::uint32_t a, std::uint32_t b,
                                        std::uint32_t res) {
        switch (op) {
        case FlagOp::Add: cf_ = T(res) < T(a); break;
        case FlagOp::Adc: cf_ = T(res) <= T(a); break;
        case FlagOp::Sub: cf_ = T(a) < T(b); break;
        case FlagOp::Sbb: cf_ = T(a) <= T(b); break;
        case FlagOp::Logic: cf_ = 0; break;
        default: break;  // INC/DEC keep CF; shifts set it themselves
        }
        lfOp_ = op;
        lfSize_ = sizeof(T);
        lfA_ = a;
        lfB_ = b;
        lfRes_ = T(res);
    }
    [[nodiscard]] std::uint32_t arithFlags() const;  // OSZAPC in EFLAGS positions
    [[nodiscard]] std::uint32_t getCF() const { return cf_; }
    // Operations that compute CF and OF themselves (shifts, SHLD/SHRD, MUL/IMUL): SF, ZF
    // and PF stay lazy from the result, AF is clear.
    template <class T>
    void setLazyCarryOverflow(T res, bool cf, bool of) {
        setLazy<T>(FlagOp::Shift, 0, of, res);
        cf_ = cf;
    }
    // ZF comes from lfRes_ in every state: materializing the flags (Eager) leaves a
    // stand-in result with the same ZF (syncZf), so the frequent JZ/JNZ/SETZ/CMOVZ need
    // no dispatch. (SF cannot share the trick: POPF may set ZF and SF together.)
    [[nodiscard]] bool getZF() const { return lfRes_ == 0; }
    [[nodiscard]] bool getSF() const {
        if (lfOp_ == FlagOp::Eager) return eflags_ & fl::SF;
        return (lfRes_ >> (lfSize_ * 8 - 1)) & 1;
    }
    void syncZf() { lfRes_ = (eflags_ & fl::ZF) ? 0u : 1u; }
    [[nodiscard]] bool getOF() const {
        const std::uint32_t sign = 1u << (lfSize_ * 8 - 1);
        switch (lfOp_) {
        case FlagOp::Eager: return eflags_ & fl::OF;
        case FlagOp::Add:
        case FlagOp::Adc:
        case FlagOp::Inc: return (lfA_ ^ lfRes_) & (lfB_ ^ lfRes_) & sign;
        case FlagOp::Sub:
        case FlagOp::Sbb:
        case FlagOp::Dec: return (lfA_ ^ lfB_) & (lfA_ ^ lfRes_) & sign;
        case FlagOp::Logic: return false;
        case FlagOp::Shift: return lfB_;
        }
        return false;
    }
    // Replaces the arithmetic flags in `mask` with `bits` (materializing the rest).
    void setFlags(std::uint32_t mask, std::uint32_t bits) {
        if (lfOp_ != FlagOp::Eager) {
            eflags_ = (eflags_ & ~fl::kArith) | arithFlags();
            lfOp_ = FlagOp::Eager;
        }
        eflags_ = (eflags_ & ~mask) | (bits & mask);
        if (mask & fl::CF) cf_ = (bits & fl::CF) ? 1 : 0;
        if (mask & fl::ZF) syncZf();
    }
    // Loads all of EFLAGS verbatim (no privilege rules).
    void loadFlags(std::uint32_t v) {
        eflags_ = v | fl::kReserved1;
        cf_ = v & fl::CF;
        lfOp_ = FlagOp::Eager;
        syncZf();
    }
    [[nodiscard]] bool cond(unsigned cc) const;
    // The same, with the condition known at compile time (Jcc/SETcc/CMOVcc handlers).
    template <unsigned CC>
    [[nodiscard]] [[gnu::always_inline]] bool condT() const {
        bool r;
        if constexpr ((CC >> 1) == 0) r = getOF();
        else if constexpr ((CC >> 1) == 1) r = cf_;
        else if constexpr ((CC >> 1) == 2) r = getZF();
        else if constexpr ((CC >> 1) == 3) r = cf_ || getZF();
        else if constexpr ((CC >> 1) == 4) r = getSF();
        else if constexpr ((CC >> 1) == 5) r = arithFlags() & fl::PF;
        else if constexpr ((CC >> 1) == 6) r = getSF() != getOF();
        else r = getZF() || (getSF() != getOF());
        return r != (CC & 1);
    }
    static constexpr std::uint32_t sizeMask(unsigned size) {
        return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
    }

    // ---- segments & memory ----
    SegCache seg_[kSegCount];
    SegCache ldtr_, tr_;
    TableReg gdtr_, idtr_;
    std::uint32_t cr0_ = 0, cr2_ = 0, cr3_ = 0, cr4_ = 0;
    std::uint32_t dr_[8] = {};
    unsigned cpl_ = 0;
    unsigned userAcc_ = 0;  // 2 when CPL 3 (TLB tag index), else 0

    [[nodiscard]] bool protectedMode() const { return cr0_ & cr0::PE; }
    [[nodiscard]] bool stack32() const { return seg_[SS].db; }

    template <class T>
    [[nodiscard]] std::uint32_t linear(unsigned s, std::uint32_t off, bool write) {
        const SegCache& c = seg_[s];
        constexpr unsigned kSize = sizeof(T);
        if constexpr (kSize == 1 || kSize == 2 || kSize == 4 || kSize == 8) {
            constexpr unsigned i = kSize == 1 ? 0 : kSize == 2 ? 1 : kSize == 4 ? 2 : 3;
            if (std::uint64_t{std::uint32_t(off - c.lo)} >= (write ? c.wEnd[i] : c.rEnd[i]))
                [[unlikely]]
                segFault(s, off, kSize, write);
        } else if (!(write ? c.writable : c.readable) || off < c.lo ||
                   std::uint64_t{off} + (kSize - 1) > c.hi) [[unlikely]] {
            segFault(s, off, kSize, write);
        }
        return c.base + off;
    }
    [[noreturn]] void segFault(unsigned s, std::uint32_t off, unsigned size, bool write);

    template <class T>
    T read(unsigned s, std::uint32_t off) {
        return readLin<T>(linear<T>(s, off, false), userAcc_);
    }
    template <class T>
    void write(unsigned s, std::uint32_t off, T v) {
        writeLin<T>(linear<T>(s, off, true), v, userAcc_);
    }

    // Software TLB: direct mapped, one tag per (user, write) access kind so a hit is a
    // compare and a host load. tag == 1 (never page aligned) means invalid.
    static constexpr unsigned kTlbBits = 12, kTlbSize = 1u << kTlbBits;
    struct alignas(32) TlbEntry {  // half a cache line
        std::uint32_t tag[4];
        std::uint32_t linPage;  // | kTlbGlobal | kTlbLarge
        std::uint32_t physPage;
        // Host address minus linear address of the page: a hit's host address is one add
        // (compiled code: no page-offset mask).
        std::uintptr_t hostDelta;
        [[nodiscard]] std::uint8_t* at(std::uint32_t lin) const {
            return reinterpret_cast<std::uint8_t*>(hostDelta + lin);
        }
    };
    static constexpr std::uint32_t kTlbGlobal = 1, kTlbLarge = 2;
    // Mapped in the low 2 GiB where the host allows (MAP_32BIT): compiled code then
    // addresses it with a 32-bit displacement, which leaves a host register to cache a
    // guest one (BlockCompiler::hostSupported).
    static Mapping mapTlb();
    Mapping tlbMap_;
    TlbEntry* tlb_;
    bool largeCached_ = false;

    template <class T>
    T readLin(std::uint32_t lin, unsigned acc) {
        const TlbEntry& e = tlb_[(lin >> 12) & (kTlbSize - 1)];
        // Comparing with the page of the last byte also rejects page-crossing accesses.
        if (e.tag[acc] == ((lin + (sizeof(T) - 1)) & ~0xFFFu)) [[likely]] {
            T v;
            std::memcpy(&v, e.at(lin), sizeof(T));
            return v;
        }
        T v;
        readSlow(lin, &v, sizeof(T), acc);
        return v;
    }
    template <class T>
    void writeLin(std::uint32_t lin, T v, unsigned acc) {
        const TlbEntry& e = tlb_[(lin >> 12) & (kTlbSize - 1)];
        if (e.tag[acc + 1] == ((lin + (sizeof(T) - 1)) & ~0xFFFu)) [[likely]] {
            std::memcpy(e.at(lin), &v, sizeof(T));
            return;
        }
        writeSlow(lin, &v, sizeof(T), acc);
    }
    void readSlow(std::uint32_t lin, void* dst, unsigned len, unsigned acc);
    void writeSlow(std::uint32_t lin, const void* src, unsigned len, unsigned acc);
    // Page walk (SDM Vol. 3 4.3): physical address of `lin`; fills the TLB for RAM.
    // Raises #PF (CR2, error code) unless `noFault`, which returns false instead.
    bool translate(std::uint32_t lin, unsigned acc, bool write, std::uint32_t& phys,
                   bool noFault = false);
    void tlbFlush(bool includingGlobal);
    void tlbFlushPage(std::uint32_t lin);
    void physRead(std::uint32_t phys, void* dst, unsigned len);
    void physWrite(std::uint32_t phys, const void* src, unsigned len);

    // System structures are read at supervisor privilege whatever the CPL.
    template <class T>
    T readSys(std::uint32_t lin) { return readLin<T>(lin, 0); }
    template <class T>
    void writeSys(std::uint32_t lin, T v) { writeLin<T>(lin, v, 0); }

    // ---- stack ----
    template <class T>
    void push(T v) {
        std::uint32_t sp = regs_[ESP] - sizeof(T);
        if (!stack32()) sp &= 0xFFFF;
        write<T>(SS, sp, v);
        setSP(sp);
    }
    template <class T>
    T pop() {
        std::uint32_t sp = stack32() ? regs_[ESP] : (regs_[ESP] & 0xFFFF);
        T v = read<T>(SS, sp);
        setSP(sp + sizeof(T));
        return v;
    }
    void setSP(std::uint32_t sp) {
        if (stack32())
            regs_[ESP] = sp;
        else
            regs_[ESP] = (regs_[ESP] & 0xFFFF0000u) | (sp & 0xFFFF);
    }

    // ---- faults ----
    [[noreturn]] static void raise(std::uint8_t vector) { throw Fault{vector, false, 0}; }
    [[noreturn]] static void raise(std::uint8_t vector, std::uint32_t code) {
        throw Fault{vector, true, code};
    }

    // ---- system operations (CpuSystem.cpp) ----
    void loadSegment(unsigned s, std::uint16_t sel);  // MOV/POP Sreg, LDS.. (all checks)
    void loadCsReal(std::uint16_t sel, std::uint32_t eip);
    void farJump(std::uint16_t sel, std::uint32_t off, bool o32);
    void farCall(std::uint16_t sel, std::uint32_t off, bool o32);
    void farReturn(bool o32, std::uint16_t extraPop);
    void iret(bool o32);
    void softwareInterrupt(std::uint8_t vector, bool isInt3OrInto);
    void setCpl(unsigned c);
    void writeCr(unsigned n, std::uint32_t v);  // MOV CRn with checks
    void lldt(std::uint16_t sel);
    void ltr(std::uint16_t sel);
    bool accessCheckLarLsl(std::uint16_t sel, bool lsl, std::uint32_t& out);
    bool verify(std::uint16_t sel, bool write);
    void setEflagsChecked(std::uint32_t v, std::uint32_t mask);  // POPF/IRET rules

    // ---- virtual-8086 mode (Vm86.cpp; SDM Vol. 3 ch. 20) ----
    [[nodiscard]] bool vm86() const { return eflags_ & fl::VM; }
    // PUSHF, POPF, INT n and IRET in vm86 are IOPL-sensitive: with IOPL < 3 (and no VME,
    // which this CPU does not implement) they raise #GP(0), trapping to the monitor (SDM
    // Vol. 3 20.2.7). CLI/STI need no call: CPL is 3 in vm86, so their CPL > IOPL test
    // covers them.
    void vm86IoplCheck() const {
        if ((eflags_ & fl::VM) && (eflags_ & fl::IOPL) != fl::IOPL) raise(vec::GP, 0);
    }
    // A vm86 segment register's cache: base selector * 16, limit 0xFFFF, 16-bit,
    // read/write data, DPL 3 (SDM Vol. 3 20.1.1; what VMX requires of vm86 guests).
    static SegCache vm86Segment(std::uint16_t sel);
    // IRET from CPL 0 with VM = 1 in the popped EFLAGS: `sp` points past EIP, CS, EFLAGS.
    void enterVm86(std::uint32_t eip, std::uint16_t cs, std::uint32_t flags, std::uint32_t sp);
    void iretVm86(bool o32);  // IRET executed in vm86
    void cpuid();
    void rdmsr();
    void wrmsr();
    std::uint64_t tsc() const;
    void sysenter();
    void sysexit();
    std::uint32_t ioIn(std::uint16_t port, unsigned size);
    void ioOut(std::uint16_t port, unsigned size, std::uint32_t v);
    void ioCheck(std::uint16_t port, unsigned size);
    void halt();
    void hypercall();
    void fpuEscape(const Insn& in);
    void fpuWait();
    void invalidOpcode() { raise(vec::UD); }

    struct Descriptor {
        std::uint32_t lo = 0, hi = 0;
        [[nodiscard]] std::uint32_t base() const {
            return (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000u);
        }
        [[nodiscard]] std::uint32_t limit() const {
            std::uint32_t l = (lo & 0xFFFF) | (hi & 0xF0000);
            return (hi & (1u << 23)) ? (l << 12) | 0xFFF : l;
        }
        [[nodiscard]] unsigned type() const { return (hi >> 8) & 0xF; }
        [[nodiscard]] bool s() const { return hi & (1u << 12); }
        [[nodiscard]] unsigned dpl() const { return (hi >> 13) & 3; }
        [[nodiscard]] bool present() const { return hi & (1u << 15); }
        [[nodiscard]] bool db() const { return hi & (1u << 22); }
        [[nodiscard]] bool isCode() const { return s() && (type() & 8); }
        [[nodiscard]] bool conforming() const { return isCode() && (type() & 4); }
    };
    // Reads the descriptor for `sel`; raises `vector`(sel & ~3) if beyond the table.
    Descriptor fetchDescriptor(std::uint16_t sel, std::uint8_t vector = vec::GP);
    std::uint32_t descriptorAddress(std::uint16_t sel);
    void setAccessed(std::uint16_t sel, Descriptor& d);
    static SegCache cacheFrom(std::uint16_t sel, const Descriptor& d);
    void loadStackFromTss(unsigned dpl, std::uint16_t& ss, std::uint32_t& esp);
    enum class TaskSwitchKind : std::uint8_t { Jmp, Call, Iret, Interrupt };
    void taskSwitch(std::uint16_t sel, Descriptor d, TaskSwitchKind kind,
                    const Fault* errorToPush = nullptr);
    void taskTransfer(std::uint16_t sel, const Descriptor& d, TaskSwitchKind kind);

    // Interrupt/exception delivery (SDM Vol. 3 6.12).
    enum class IntKind : std::uint8_t { Exception, Hardware, Software };
    void deliver(std::uint8_t vector, IntKind kind, bool hasCode, std::uint32_t code);
    void deliverFault(Fault f);

    bool a20Wrap_ = false;

    std::uint32_t msrSysenterCs_ = 0, msrSysenterEsp_ = 0, msrSysenterEip_ = 0;
    std::uint64_t tscOffset_ = 0;
    std::uint32_t apicBase_ = 0xFEE00000u | (1u << 8);  // BSP, APIC globally disabled? (no APIC)

    hw::GuestMemory& mem_;
    hw::IoBus& io_;
    hw::MmioBus& mmio_;
    hw::CpuInterruptPins& pins_;
    const hw::Clock* clock_;

    // Instruction fetch window: host page of the current code page. Invalidated by
    // everything that can change how EIP maps to code (CS loads, CPL, CR0/3/4, INVLPG,
    // TLB flushes), which also ends the translated block being run.
    std::uint32_t fetchPage_ = 1;
    const std::uint8_t* fetchHost_ = nullptr;
    void invalidateFetch() {
        fetchPage_ = 1;
        blockExit_ = true;
    }
    std::uint8_t fetchByte(std::uint32_t off);
    void decode(Insn& in);

    // Decoded-instruction cache: direct mapped on the host address of the instruction
    // (i.e. its physical address). Entries carry the instruction's bytes and are
    // validated against guest memory on every hit, so writes to code pages -- by the CPU,
    // by device DMA or by another mapping -- can never run stale decodes.
    struct alignas(64) DecodedInsn {  // one cache line
        const std::uint8_t* host = nullptr;
        std::uint64_t raw0 = 0;   // first 8 instruction bytes (masked)
        std::uint64_t mask0 = 0;  // which of them belong to the instruction
        Insn insn;
        bool d32 = false;
        std::uint8_t raw1[7] = {};  // bytes 8..14 of long instructions
    };
    static_assert(sizeof(DecodedInsn) == 64);
    static constexpr unsigned kICacheBits = 13, kICacheSize = 1u << kICacheBits;
    std::unique_ptr<DecodedInsn[]> icache_;

    // Translated blocks (Block.h); their Insns live in an arena recycled whole when full.
    static constexpr unsigned kMaxBlockInsns = 32;
    static constexpr unsigned kBlockTableBits = 18, kBlockTableSize = 1u << kBlockTableBits;
    static constexpr unsigned kBlockPool = 1u << 17, kArenaInsns = 1u << 19;
    std::unique_ptr<Block*[]> blockTable_;
    // In front of the table: the last block found for each of 4096 host-address slots.
    // Small enough to stay in cache, where the table and its chains miss (returns and
    // indirect calls, whose successors vary, look blocks up all the time).
    static constexpr unsigned kJumpCacheSize = 4096;
    std::array<Block*, kJumpCacheSize> jumpCache_{};
    // Pool and arena are sized for a booting kernel's working set (a flush costs every
    // block a re-decode and a re-compile) and are reserved, not touched: the host
    // commits pages as blocks are built.
    Mapping blockPool_, arena_;
    Block* blocks() const { return reinterpret_cast<Block*>(blockPool_.data()); }
    Insn* arena() const { return reinterpret_cast<Insn*>(arena_.data()); }
    unsigned blocksUsed_ = 0, arenaUsed_ = 0;
    std::uint64_t codeGenWraps_ = 0;
    const std::uint32_t* curBlockGen_ = nullptr;  // page of the running block
    bool blockExit_ = false;                       // leave the running block now
    std::uint64_t blockFlushes_ = 0, blockBuilds_ = 0, codePageWrites_ = 0, blocksCompiled_ = 0;
    std::uint64_t blockLinks_ = 0;
    std::unique_ptr<jit::BlockCompiler> jit_;
    std::uint64_t blockLimit_ = 0;  // runBlocks' limit, for compiled code that chains
    Block* lastBlock_ = nullptr;    // the last block compiled code ran (after chaining)
    Block** exitSlot_ = nullptr;    // its Block::link slot of the exit it returned by
    unsigned compileThreshold_ = kDefaultCompileThreshold;
    bool compileBlock(Block& b);  // false: the code arena is full
    static unsigned blockSlot(const std::uint8_t* host) {
        const auto a = reinterpret_cast<std::uintptr_t>(host);
        return static_cast<unsigned>((a ^ (a >> kBlockTableBits)) & (kBlockTableSize - 1));
    }
    Block* findBlock(const std::uint8_t* host, std::uint32_t lin);
    Block* enterBlock();
    void runBlocks(std::uint64_t limit);
    void linkExit(Block& b, Block** slot, const Block& nb);
    [[gnu::always_inline]] void interpretBlock(const Block& b, std::uint64_t limit,
                                               std::uint32_t ipMask);
    Block* buildBlock(const std::uint8_t* host, std::uint32_t lin);
    void flushBlocks();
    bool inRom(const std::uint8_t* host) const;  // a ROM region's bytes (never change)
    void revokeWriteMappings(std::uint32_t physPage);
    void codePageWritten(std::uint32_t phys);

    // run-loop state
    // Each check point ends the chain of compiled blocks (runBlocks' limit): back through
    // run(), a block lookup and a full block entry, ~100 ns. At 1024 instructions that was
    // 15-20 % of a boot (the decompressor's CRC loop and the MPI loops are linked rings);
    // at 8192 it is ~2 %, and a stop, NMI or INTR raised inside a linked ring is still
    // taken within ~10 us.
    static constexpr std::uint64_t kCheckInterval = 8192;
    std::uint64_t retired_ = 0;
    std::uint64_t profileInterval_ = 0, nextProfile_ = UINT64_MAX;
    std::unordered_map<std::uint32_t, std::uint64_t> profile_;  // EIP -> samples
    std::uint64_t inhibitAt_ = UINT64_MAX;  // interrupts blocked at this retired count
    bool halted_ = false;
    bool nmiBlocked_ = false;
    bool exceptionExit_ = false;
    std::atomic<bool> stop_{false};
    StopReason pendingStop_ = StopReason::SliceEnd;
    bool stopAfterInsn_ = false;
    std::string shutdownReason_;
    std::function<void(std::uint8_t)> postHook_;
    std::function<void()> ferrHook_;
    TraceOptions trace_;
    void traceInsn();
    std::unique_ptr<X87Unit> x87_;
    std::uint32_t x87Fip_ = 0;  // not used by the core; kept for the adapter
    Xmm xmm_[8];                         // XMM0-7 (reset: 0)
    std::uint32_t mxcsr_ = mxcsr::kReset;  // SDM Vol. 3 Table 9-1

private:
    void checkInterrupts();
    void step();
};

}  // namespace cxvm::x86
