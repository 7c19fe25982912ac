#include "x86/X87Host.h"

#include "util/Error.h"
#include "x86/X87Opcodes.h"

namespace cxvm::x86 {

#if defined(__x86_64__)

// One 4-byte stub per ESC encoding, in the order of x87Index(): for each opcode D8..DF,
// eight memory forms "ESC, (reg << 3) | 7" (mod 00, rm 111 = [rdi] in 64-bit mode), then
// the 64 register forms C0..FF, each followed by ret. cxvm_x87_host_run(image, stub,
// operand, flags) wraps a stub in FRSTOR/FNSAVE and preserves the caller's x87 CW.
asm(R"(
    .pushsection .text
    .balign 16
    .globl cxvm_x87_stubs
    .hidden cxvm_x87_stubs
cxvm_x87_stubs:
    .irp op, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf
      .irp reg, 0, 1, 2, 3, 4, 5, 6, 7
        .byte \op, (\reg << 3) | 7
        ret
        nop
      .endr
      .irp hi, 0xc0, 0xd0, 0xe0, 0xf0
        .irp lo, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
          .byte \op, \hi + \lo
          ret
          nop
        .endr
      .endr
    .endr

    .balign 16
    .globl cxvm_x87_host_run
    .hidden cxvm_x87_host_run
    .type cxvm_x87_host_run, @function
cxvm_x87_host_run:
    sub $8, %rsp
    fnstcw (%rsp)
    frstor (%rdi)
    push %rcx
    popfq
    push %rdi
    mov %rdx, %rdi
    call *%rsi
    pushfq
    pop %rax
    pop %rdi
    fnsave (%rdi)
    fldcw (%rsp)
    add $8, %rsp
    ret
    .size cxvm_x87_host_run, . - cxvm_x87_host_run
    .popsection
)");

extern "C" {
extern const unsigned char cxvm_x87_stubs[];
std::uint64_t cxvm_x87_host_run(X87HostImage* image, const void* stub, void* operand,
                                std::uint64_t flags);
}

bool x87HostAvailable() { return true; }

std::uint32_t x87HostRun(X87HostImage& img, std::uint8_t opcode, std::uint8_t modrm,
                         void* operand, std::uint32_t eflagsIn) {
    constexpr std::uint32_t kArith = 0x8D5;  // OF SF ZF AF PF CF
    const unsigned index = x87Index(opcode, modrm);
    // Only the arithmetic flags reach the host's EFLAGS (bit 1 is always 1).
    const std::uint64_t flags = (eflagsIn & kArith) | 0x2;
    return static_cast<std::uint32_t>(
        cxvm_x87_host_run(&img, cxvm_x87_stubs + 4 * index, operand, flags) & kArith);
}

#else

// Other host architectures need a soft-float backend for exact 80-bit semantics
// (docs/x87.md); until then the FPU reports itself unavailable.
bool x87HostAvailable() { return false; }

std::uint32_t x87HostRun(X87HostImage&, std::uint8_t, std::uint8_t, void*, std::uint32_t) {
    throw Error("x87: no host FPU backend on this architecture (see docs/x87.md)");
}

#endif

}  // namespace cxvm::x86
