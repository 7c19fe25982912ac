#include "NativeRunner.h"

#include "util/Error.h"

#include <fmt/format.h>

#include <asm/ldt.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace cxvm::x86::diff {

namespace {

constexpr std::uint16_t kUser32Cs = 0x23, kUserDs = 0x2B, kUser64Cs = 0x33;
constexpr int kSignals[5] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};

// The runner's context page (at Layout::ctx), addressed absolutely by the trampolines.
struct NativeContext {
    std::uint32_t in[8];
    std::uint32_t inEflags;
    std::uint32_t out[8];
    std::uint32_t outEflags;
    std::uint64_t savedRsp;
    std::uint32_t far32Offset;
    std::uint16_t far32Selector;
    std::uint16_t pad;
    std::uint32_t savedDs, savedEs;
    X87HostImage fpuIn;
    X87HostImage fpuOut;
    std::uint32_t hostMxcsr;  // the C++ side's MXCSR, put back after the snippet
};
static_assert(sizeof(NativeContext) < 0x800);
// FXSAVE images (16-byte aligned, 512 bytes) in the context page: the SSE state the
// snippet starts with (FXRSTOR; its x87 part is then replaced by FRSTOR fpuIn) and the
// one it leaves (FXSAVE, before FNSAVE reinitializes the x87).
constexpr std::uint32_t kFxIn = 0x800, kFxOut = 0xA00;
constexpr std::uint32_t kPrivateStackTop = 0xFF0;  // within the context page

// Trampoline offsets in the code area.
constexpr std::uint32_t kEnter64 = 0x00, kEntry32 = 0x80, kExit32 = 0x100, kBack64 = 0x180;

sigjmp_buf g_jump;
volatile std::sig_atomic_t g_active = 0;
NativeRunner::FaultRecord g_fault;

void onSignal(int sig, siginfo_t*, void* ucv) {
    if (!g_active) {
        // Not ours: behave as if we were never installed.
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    const auto* uc = static_cast<const ucontext_t*>(ucv);
    const greg_t* g = uc->uc_mcontext.gregs;
    g_fault.trapno = static_cast<int>(g[REG_TRAPNO]);
    const int order[8] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI};
    for (int i = 0; i < 8; ++i) g_fault.gregs[i] = static_cast<std::uint64_t>(g[order[i]]);
    g_fault.rip = static_cast<std::uint64_t>(g[REG_RIP]);
    g_fault.eflags = static_cast<std::uint64_t>(g[REG_EFL]);
    siglongjmp(g_jump, 1);
}

class Emitter {
public:
    explicit Emitter(std::uint8_t* p) : p_(p) {}
    Emitter& b(std::initializer_list<int> bytes) {
        for (int v : bytes) *p_++ = static_cast<std::uint8_t>(v);
        return *this;
    }
    Emitter& d(std::uint32_t v) {
        std::memcpy(p_, &v, 4);
        p_ += 4;
        return *this;
    }

private:
    std::uint8_t* p_;
};

}  // namespace

Layout Layout::forThisHost() {
    // The window goes below 64 KiB when the kernel lets us map there.
    long minAddr = 65536;
    if (std::FILE* f = std::fopen("/proc/sys/vm/mmap_min_addr", "r")) {
        if (std::fscanf(f, "%ld", &minAddr) != 1) minAddr = 65536;
        std::fclose(f);
    }
    if (minAddr <= 0x1000) return Layout{0x1000, 0x2000, 0x8000};
    return Layout{0x10000, 0x12000, 0x18000};
}

NativeRunner::NativeRunner(const Layout& layout) : layout_(layout) {
    const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
    const auto at = [](std::uint32_t a) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(a)); };
    ctx_ = Mapping::map(0x1000, PROT_READ | PROT_WRITE, flags, -1, 0, at(layout.ctx));
    code_ = Mapping::map(Layout::kCodeBytes, PROT_READ | PROT_WRITE | PROT_EXEC, flags, -1, 0,
                         at(layout.code));
    data_ = Mapping::map(Layout::kDataBytes, PROT_READ | PROT_WRITE, flags, -1, 0, at(layout.data));
    if (ctx_.data() != at(layout.ctx) || code_.data() != at(layout.code) ||
        data_.data() != at(layout.data))
        throw Error("x86diff: the kernel placed the runner's pages elsewhere (MAP_FIXED_NOREPLACE unsupported?)");
    writeTrampolines();

    // The 16-bit stack segment the generator's 16-bit stack sections switch SS to: LDT
    // entry 0, a read/write expand-up data segment, B = 0, byte-granular limit 0xFFFF,
    // based at the 64 KiB block holding the window (Layout::stack16Base), DPL 3.
    struct user_desc d {};
    d.entry_number = Layout::kStack16Selector >> 3;
    d.base_addr = layout.stack16Base();
    d.limit = 0xFFFF;
    d.seg_32bit = 0;
    d.contents = 0;  // data, expand-up
    d.read_exec_only = 0;
    d.limit_in_pages = 0;
    d.seg_not_present = 0;
    d.useable = 1;
    if (syscall(SYS_modify_ldt, 1, &d, sizeof d) == 0) {
        stack16_ = true;
    } else {
        stack16Why_ = fmt::format("modify_ldt(1) refused the 16-bit stack segment: {} (kernel without "
                                  "CONFIG_MODIFY_LDT_SYSCALL or CONFIG_X86_16BIT?)",
                                  std::strerror(errno));
    }

    altStack_.resize(256 * 1024);
    stack_t ss{};
    ss.ss_sp = altStack_.data();
    ss.ss_size = altStack_.size();
    if (sigaltstack(&ss, &oldAltStack_) != 0) throwErrno("x86diff: sigaltstack");
    struct sigaction sa {};
    sa.sa_sigaction = onSignal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 5; ++i) sigaction(kSignals[i], &sa, &oldActions_[i]);

    // Probe: a NOP must come back normally (a kernel without IA-32 emulation refuses the
    // far jump to the 32-bit code segment with #GP).
    DiffCase probe;
    probe.code = {0x90};
    probe.regs[4] = layout.data + Layout::kStackHi;
    probe.memory.assign(Layout::kDataBytes, 0);
    probe.fpu.cw = 0x037F;
    probe.fpu.tw = 0xFFFF;
    if (const DiffOutcome o = run(probe); o.faulted) {
        usable_ = false;
        // Kernels without IA-32 emulation refuse the far jump with #GP; so do PVM guests
        // (these build machines), which cannot enter compatibility mode at all.
        whyText_ = fmt::format("the host CPU cannot run 32-bit code here: the far jump to the "
                               "32-bit user code segment {:#x} faulted (trap {}); no IA-32 "
                               "emulation, or a PVM guest (scripts/nested/run-diff-oracle "
                               "runs the bench in the nested L1 instead)",
                               kUser32Cs, +o.vector);
        why_ = whyText_.c_str();
    }
}

NativeRunner& NativeRunner::shared() {
    static NativeRunner r(Layout::forThisHost());
    return r;
}

NativeRunner::~NativeRunner() {
    for (int i = 0; i < 5; ++i) sigaction(kSignals[i], &oldActions_[i], nullptr);
    sigaltstack(&oldAltStack_, nullptr);
}

void NativeRunner::writeTrampolines() {
    auto* ctx = reinterpret_cast<NativeContext*>(ctx_.data());
    std::memset(ctx, 0, sizeof *ctx);
    const std::uint32_t base = layout_.ctx;
    const auto f = [&](std::size_t off) { return static_cast<std::uint32_t>(base + off); };
    const std::uint32_t code = layout_.code;
    ctx->far32Offset = code + kEntry32;
    asm volatile("stmxcsr %0" : "=m"(ctx->hostMxcsr));
    ctx->far32Selector = kUser32Cs;
    std::memset(code_.data(), 0xCC, Layout::kCodeBytes);

    // 64-bit: save callee-saved registers, RSP, DS, ES; load flat data selectors; far
    // jump to entry32 in the 32-bit user code segment.
    Emitter(code_.data() + kEnter64)
        .b({0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57})
        .b({0x48, 0x89, 0x24, 0x25}).d(f(offsetof(NativeContext, savedRsp)))
        .b({0x8C, 0xD8, 0x89, 0x04, 0x25}).d(f(offsetof(NativeContext, savedDs)))
        .b({0x8C, 0xC0, 0x89, 0x04, 0x25}).d(f(offsetof(NativeContext, savedEs)))
        .b({0xB8, kUserDs, 0, 0, 0, 0x8E, 0xD8, 0x8E, 0xC0})
        .b({0xFF, 0x2C, 0x25}).d(f(offsetof(NativeContext, far32Offset)));

    // 32-bit: SSE and x87 state, EFLAGS, then every general register (ESP last); jump
    // to the snippet.
    const std::uint32_t in = f(offsetof(NativeContext, in));
    const std::uint32_t entry32End = code + kEntry32 + 5 + 7 + 6 + 6 + 1 + 8 * 6 + 5;
    Emitter(code_.data() + kEntry32)
        .b({0xBC}).d(base + kPrivateStackTop)
        .b({0x0F, 0xAE, 0x0D}).d(base + kFxIn)
        .b({0xDD, 0x25}).d(f(offsetof(NativeContext, fpuIn)))
        .b({0xFF, 0x35}).d(f(offsetof(NativeContext, inEflags)))
        .b({0x9D})
        .b({0x8B, 0x05}).d(in + 0)
        .b({0x8B, 0x0D}).d(in + 4)
        .b({0x8B, 0x15}).d(in + 8)
        .b({0x8B, 0x1D}).d(in + 12)
        .b({0x8B, 0x2D}).d(in + 20)
        .b({0x8B, 0x35}).d(in + 24)
        .b({0x8B, 0x3D}).d(in + 28)
        .b({0x8B, 0x25}).d(in + 16)
        .b({0xE9}).d(layout_.snippet() - entry32End);

    // 32-bit exit: registers, EFLAGS (on the private stack), CLD for the C++ ABI, SSE
    // state (FXSAVE), x87 state (FNSAVE: no wait, so a pending exception is recorded,
    // not raised), the C++ side's MXCSR.
    const std::uint32_t out = f(offsetof(NativeContext, out));
    Emitter(code_.data() + kExit32)
        .b({0x89, 0x05}).d(out + 0)
        .b({0x89, 0x0D}).d(out + 4)
        .b({0x89, 0x15}).d(out + 8)
        .b({0x89, 0x1D}).d(out + 12)
        .b({0x89, 0x25}).d(out + 16)
        .b({0x89, 0x2D}).d(out + 20)
        .b({0x89, 0x35}).d(out + 24)
        .b({0x89, 0x3D}).d(out + 28)
        .b({0xBC}).d(base + kPrivateStackTop)
        .b({0x9C, 0x8F, 0x05}).d(f(offsetof(NativeContext, outEflags)))
        .b({0xFC})
        .b({0x0F, 0xAE, 0x05}).d(base + kFxOut)
        .b({0xDD, 0x35}).d(f(offsetof(NativeContext, fpuOut)))
        .b({0x0F, 0xAE, 0x15}).d(f(offsetof(NativeContext, hostMxcsr)))
        .b({0xEA}).d(code + kBack64).b({kUser64Cs, 0});

    // 64-bit again: RSP, DS, ES, callee-saved registers.
    Emitter(code_.data() + kBack64)
        .b({0x48, 0x8B, 0x24, 0x25}).d(f(offsetof(NativeContext, savedRsp)))
        .b({0x8B, 0x04, 0x25}).d(f(offsetof(NativeContext, savedDs))).b({0x8E, 0xD8})
        .b({0x8B, 0x04, 0x25}).d(f(offsetof(NativeContext, savedEs))).b({0x8E, 0xC0})
        .b({0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B, 0xC3});
}

DiffOutcome NativeRunner::run(const DiffCase& c) {
    const std::uint32_t maxSnippet = Layout::kCodeBytes - Layout::kSnippetOffset - 5;
    if (c.code.size() > maxSnippet) throw Error::format("x86diff: snippet of {} bytes is too long", c.code.size());
    if (c.memory.size() != Layout::kDataBytes) throw Error("x86diff: case memory is not one window");
    auto* ctx = reinterpret_cast<NativeContext*>(ctx_.data());
    std::memcpy(ctx->in, c.regs.data(), 32);
    ctx->inEflags = c.eflags;
    ctx->fpuIn = c.fpu;
    std::uint8_t* fxIn = ctx_.data() + kFxIn;
    std::memset(fxIn, 0, 512);
    const std::uint16_t fcw = 0x037F;
    std::memcpy(fxIn, &fcw, 2);
    std::memcpy(fxIn + 24, &c.mxcsr, 4);
    std::memcpy(fxIn + 160, c.xmm.data(), 128);
    std::uint8_t* snippet = code_.data() + Layout::kSnippetOffset;
    std::memcpy(snippet, c.code.data(), c.code.size());
    const std::uint32_t jmpAt = layout_.snippet() + static_cast<std::uint32_t>(c.code.size());
    snippet[c.code.size()] = 0xE9;
    const std::uint32_t rel = layout_.code + kExit32 - (jmpAt + 5);
    std::memcpy(snippet + c.code.size() + 1, &rel, 4);
    std::memcpy(data_.data(), c.memory.data(), Layout::kDataBytes);

    DiffOutcome o;
    const auto enter = reinterpret_cast<void (*)()>(code_.data() + kEnter64);
    if (sigsetjmp(g_jump, 1) == 0) {
        g_active = 1;
        enter();
        g_active = 0;
        std::memcpy(o.regs.data(), ctx->out, 32);
        o.eflags = ctx->outEflags;
        o.fpu = ctx->fpuOut;
        std::memcpy(&o.mxcsr, ctx_.data() + kFxOut + 24, 4);
        std::memcpy(o.xmm.data(), ctx_.data() + kFxOut + 160, 128);
    } else {
        g_active = 0;
        // Back from the handler in 64-bit mode: DS/ES still hold the 32-bit selectors
        // and the x87 holds the handler's state; put both back.
        const std::uint32_t ds = ctx->savedDs, es = ctx->savedEs;
        asm volatile("mov %0, %%ds\n\tmov %1, %%es\n\tfninit\n\tldmxcsr %2" ::"r"(ds), "r"(es),
                     "m"(ctx->hostMxcsr) : "memory");
        o.faulted = true;
        o.vector = static_cast<std::uint8_t>(g_fault.trapno);
        for (int i = 0; i < 8; ++i) o.regs[i] = static_cast<std::uint32_t>(g_fault.gregs[i]);
        o.eflags = static_cast<std::uint32_t>(g_fault.eflags);
        o.eip = static_cast<std::uint32_t>(g_fault.rip);
    }
    o.memory.assign(data_.data(), data_.data() + Layout::kDataBytes);
    return o;
}

}  // namespace cxvm::x86::diff
