#include "x86/SseHost.h"

#include "util/Error.h"

namespace cxvm::x86 {

#if defined(__x86_64__)

// The stubs, 8 bytes apart in CXVM_SSE_HOST_OPS order, and the runner:
// cxvm_sse_host_run(frame, stub) saves the caller's MXCSR, loads xmm0/xmm1/edx and the
// frame's MXCSR, calls the stub, stores MXCSR (the raised flags), xmm0 and edx back,
// restores the caller's MXCSR and returns the flags the stub left.
#define CXVM_SSE_STUB(name, bytes) ".balign 8\n.byte " bytes "\nret\n"
asm(".pushsection .text\n"
    ".balign 16\n"
    ".globl cxvm_sse_stubs\n"
    ".hidden cxvm_sse_stubs\n"
    "cxvm_sse_stubs:\n" CXVM_SSE_HOST_OPS(CXVM_SSE_STUB) R"(
    .balign 16
    .globl cxvm_sse_host_run
    .hidden cxvm_sse_host_run
    .type cxvm_sse_host_run, @function
cxvm_sse_host_run:
    sub $24, %rsp
    stmxcsr (%rsp)
    movdqa (%rdi), %xmm0
    movdqa 16(%rdi), %xmm1
    mov 36(%rdi), %edx
    ldmxcsr 32(%rdi)
    call *%rsi
    pushfq
    pop %rax
    stmxcsr 32(%rdi)
    ldmxcsr (%rsp)
    mov %edx, 36(%rdi)
    movdqa %xmm0, (%rdi)
    add $24, %rsp
    ret
    .size cxvm_sse_host_run, . - cxvm_sse_host_run
    .popsection
)");
#undef CXVM_SSE_STUB

extern "C" {
extern const unsigned char cxvm_sse_stubs[];
std::uint64_t cxvm_sse_host_run(SseHostFrame* frame, const void* stub);
}

bool sseHostAvailable() { return true; }

std::uint32_t sseHostRun(SseHostFrame& f, SseOp op) {
    constexpr std::uint32_t kArith = 0x8D5;  // OF SF ZF AF PF CF
    return static_cast<std::uint32_t>(
        cxvm_sse_host_run(&f, cxvm_sse_stubs + 8 * static_cast<unsigned>(op)) & kArith);
}

#else

bool sseHostAvailable() { return false; }

std::uint32_t sseHostRun(SseHostFrame&, SseOp) {
    throw Error("sse: no host SSE backend on this architecture (see docs/x86.md)");
}

#endif

}  // namespace cxvm::x86
