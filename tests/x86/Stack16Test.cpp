// 16-bit stacks in protected mode (SS.B = 0): every implicit stack access -- PUSH/POP,
// CALL/RET, ENTER/LEAVE, INT/IRET, PUSH/POP Sreg, PUSHA/POPA, PUSHF/POPF, far CALL/RET --
// addresses SS:SP, wraps SP at 64 KiB and leaves ESP[31:16] untouched, whatever the
// operand size (SDM Vol. 1 6.2.3 "Address-Size Attributes for Stack Accesses", Vol. 3
// 3.4.5 the B flag). ENTER/LEAVE's frame pointer is BP on such a stack (SDM Vol. 2A
// ENTER/LEAVE). Every test runs interpreted and with every block compiled: compiled
// code leaves 16-bit stacks to the handlers, so both must agree.
//
// The guest sets up a GDT (08 flat code, 10 flat 32-bit data, 18 16-bit data with base
// 0x20000 and limit 0xFFFFF: an access through the whole ESP instead of SP would land
// beyond 0xFFFFF and raise #SS, which ends the run in a triple fault) and an IDT with a
// 32-bit (0x40) and a 16-bit (0x41) interrupt gate, then runs the body and HLTs.
#include "CpuTestSupport.h"

namespace cxvm::x86::test {
namespace {

constexpr std::uint32_t kSsBase = 0x20000;

const char* const kPrologue = R"(
    jmp start
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF   ; 08 code, 32-bit, flat
    dq 0x00CF92000000FFFF   ; 10 data, B=1, flat
    dq 0x000F92020000FFFF   ; 18 data, B=0 (16-bit stack), base 0x20000, limit 0xFFFFF
gdt_ptr:
    dw 4*8-1
    dd gdt
idt_ptr:
    dw 0x42*8-1
    dd 0x3000
start:
    lgdt [gdt_ptr]
    jmp 0x08:.cs
.cs:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov eax, isr32          ; vector 0x40: 32-bit interrupt gate
    mov [0x3200], ax
    mov word [0x3202], 0x08
    mov word [0x3204], 0x8E00
    shr eax, 16
    mov [0x3206], ax
    mov eax, isr16          ; vector 0x41: 16-bit interrupt gate
    mov [0x3208], ax
    mov word [0x320A], 0x08
    mov word [0x320C], 0x8600
    mov word [0x320E], 0
    lidt [idt_ptr]
    jmp body
isr32:
    mov [0x7F00], esp
    movzx esi, sp
    mov eax, [ss:esi]       ; EIP
    mov [0x7F08], eax
    add si, 4               ; CS (the frame wraps at 64 KiB)
    mov eax, [ss:esi]
    mov [0x7F0C], eax
    iretd
isr16:
    mov [0x7F04], esp
    movzx esi, sp
    movzx eax, word [ss:esi]      ; IP
    mov [0x7F10], eax
    add si, 2
    movzx eax, word [ss:esi]      ; CS
    mov [0x7F14], eax
    iretw
body:
    mov ax, 0x18
    mov ss, ax
)";

class Stack16 : public ::testing::TestWithParam<bool> {
protected:
    Machine m;

    void run(const std::string& body) {
        m.cpu.setCompile(GetParam(), 0);  // compiled: every block from its first run
        const RunResult r = m.runFlat(std::string(kPrologue) + body + "\n    hlt\n");
        ASSERT_EQ(r.reason, StopReason::Halt) << "eip " << std::hex << m.cpu.eip() << " esp " << m.r(ESP);
    }
    std::uint32_t var(std::uint32_t off) const { return m.mem32(0x7000 + off); }
    std::uint32_t stack(std::uint16_t sp) const { return m.mem32(kSsBase + sp); }
    std::uint16_t stack16(std::uint16_t sp) const { return std::uint16_t(stack(sp)); }
};

TEST_P(Stack16, PushPopWrapSpAndKeepTheUpperHalfOfEsp) {
    run(R"(
    mov esp, 0xABCD0002
    mov eax, 0x11223344
    push eax                ; SP 0002 -> FFFE (wraps)
    mov [0x7000], esp
    push word 0x5566        ; o16: SP FFFC
    mov [0x7004], esp
    pop cx                  ; SP FFFE
    pop ebx                 ; SP FFFE -> 0002 (wraps)
    mov [0x7008], esp
    mov dword [0x7040], 0xCAFEF00D
    push dword [0x7040]     ; push m32: SP FFFE
    mov eax, [0x20000 + 0xFFFE]
    mov [0x7024], eax
    pop dword [0x700C]      ; pop m32: SP 0002
    mov [0x7010], esp
    mov esp, 0xABCD0000
    push 0x55667788         ; push imm32: SP FFFC
    pop esi
    mov [0x7014], esp       ; ABCD0000
    mov esp, 0xABCD0001
    pushfd                  ; SP FFFD
    mov [0x7018], esp
    popfd
    mov [0x701C], esp       ; ABCD0001
    mov esp, 0xABCDFFFE
    push esp                ; pushes the old ESP, whole
    pop edi
    mov [0x7020], esp
)");
    EXPECT_EQ(var(0x00), 0xABCDFFFEu);
    EXPECT_EQ(var(0x04), 0xABCDFFFCu);
    EXPECT_EQ(m.r(ECX) & 0xFFFF, 0x5566u);
    EXPECT_EQ(m.r(EBX), 0x11223344u);
    EXPECT_EQ(var(0x08), 0xABCD0002u);
    EXPECT_EQ(var(0x0C), 0xCAFEF00Du);
    EXPECT_EQ(var(0x24), 0xCAFEF00Du);  // what PUSH m32 wrote at SS:FFFE
    EXPECT_EQ(var(0x10), 0xABCD0002u);
    EXPECT_EQ(m.r(ESI), 0x55667788u);
    EXPECT_EQ(var(0x14), 0xABCD0000u);
    EXPECT_EQ(var(0x18), 0xABCDFFFDu);
    EXPECT_EQ(var(0x1C), 0xABCD0001u);
    EXPECT_EQ(m.r(EDI), 0xABCDFFFEu);
    EXPECT_EQ(var(0x20), 0xABCDFFFEu);
}

TEST_P(Stack16, NearAndFarCallsAndReturns) {
    run(R"(
    mov esp, 0xABCD0002
    mov dword [0x7030], ret1
    call f1                 ; return address at SP FFFE
ret1:
    mov [0x7004], esp       ; ABCD0002
    mov esp, 0xABCD0004
    push dword 1
    push dword 2            ; SP FFFC
    call f2                 ; SP FFF8; RET 8 -> 0004
    mov [0x700C], esp
    mov esp, 0xABCD0000
    mov dword [0x7034], ret3
    call word f3            ; o16: IP at SP FFFE
ret3:
    mov [0x7014], esp       ; ABCD0000
    mov esp, 0xABCD0004
    mov dword [0x7038], ret4
    call 0x08:far1          ; CS at SP 0000, EIP at FFFC
ret4:
    mov [0x701C], esp       ; ABCD0004
    mov esp, 0xABCD0104
    push dword 3            ; SP 0100
    call 0x08:far2          ; SP 00F8; RETF 4 -> 0104
    mov [0x7024], esp
    jmp done
f1: mov [0x7000], esp
    mov eax, [0x20000 + 0xFFFE]
    mov [0x7040], eax
    ret
f2: mov [0x7008], esp
    ret 8
f3: mov [0x7010], esp
    mov ax, [0x20000 + 0xFFFE]
    mov [0x7044], ax
    o16 ret
far1:
    mov [0x7018], esp
    mov eax, [0x20000 + 0xFFFC]
    mov [0x7048], eax
    mov eax, [0x20000]
    mov [0x704C], eax
    retf
far2:
    mov [0x7020], esp
    retf 4
done:
)");
    EXPECT_EQ(var(0x00), 0xABCDFFFEu);
    EXPECT_EQ(var(0x40), var(0x30));  // the return address at SS:FFFE
    EXPECT_EQ(var(0x04), 0xABCD0002u);
    EXPECT_EQ(var(0x08), 0xABCDFFF8u);
    EXPECT_EQ(var(0x0C), 0xABCD0004u);
    EXPECT_EQ(var(0x10), 0xABCDFFFEu);
    EXPECT_EQ(var(0x44) & 0xFFFF, var(0x34) & 0xFFFF);
    EXPECT_EQ(var(0x14), 0xABCD0000u);
    EXPECT_EQ(var(0x18), 0xABCDFFFCu);
    EXPECT_EQ(var(0x48), var(0x38));
    EXPECT_EQ(var(0x4C) & 0xFFFF, 0x08u);
    EXPECT_EQ(var(0x1C), 0xABCD0004u);
    EXPECT_EQ(var(0x20), 0xABCD00F8u);
    EXPECT_EQ(var(0x24), 0xABCD0104u);
}

// The reported case: `o32 enter 8, 36` on a 16-bit stack must write BP only.
TEST_P(Stack16, EnterAndLeaveUseBpAndSp) {
    run(R"(
    mov dword [0x20000 + 0xFC], 0x11111111   ; the outer frames' display
    mov dword [0x20000 + 0xF8], 0x22222222
    mov dword [0x20000 + 0xF4], 0x33333333
    mov ebp, 0x12340100
    mov esp, 0xABCD0200
    enter 8, 36             ; o32, level 4
    mov [0x7000], ebp
    mov [0x7004], esp
    leave
    mov [0x7008], ebp
    mov [0x700C], esp
    ; wrapping: EBP pushed at FFFE
    mov ebp, 0x56780010
    mov dword [0x20000 + 0x0C], 0x44444444
    mov esp, 0xABCD0002
    enter 0x10, 2
    mov [0x7010], ebp
    mov [0x7014], esp
    leave
    mov [0x7018], ebp
    mov [0x701C], esp
    ; 16-bit operands
    mov word [0x20000 + 0x2FE], 0x5555
    mov ebp, 0x9ABC0300
    mov esp, 0xABCD0400
    o16 enter 4, 2
    mov [0x7020], ebp
    mov [0x7024], esp
    o16 leave
    mov [0x7028], ebp
    mov [0x702C], esp
)");
    EXPECT_EQ(var(0x00), 0xABCD01FCu);  // o32: EBP <- ESP[31:16]:SP (the operand size picks EBP)
    EXPECT_EQ(var(0x04), 0xABCD01E4u);  // 1FC - 3 copied - frame - 8
    EXPECT_EQ(stack(0x1FC), 0x12340100u);
    EXPECT_EQ(stack(0x1F8), 0x11111111u);
    EXPECT_EQ(stack(0x1F4), 0x22222222u);
    EXPECT_EQ(stack(0x1F0), 0x33333333u);
    EXPECT_EQ(stack(0x1EC), 0xABCD01FCu);  // the frame pointer: ESP after the first push
    EXPECT_EQ(var(0x08), 0x12340100u);
    EXPECT_EQ(var(0x0C), 0xABCD0200u);

    EXPECT_EQ(stack(0xFFFE), 0x56780010u);
    EXPECT_EQ(stack(0xFFFA), 0x44444444u);
    EXPECT_EQ(stack(0xFFF6), 0xABCDFFFEu);
    EXPECT_EQ(var(0x10), 0xABCDFFFEu);
    EXPECT_EQ(var(0x14), 0xABCDFFE6u);
    EXPECT_EQ(var(0x18), 0x56780010u);
    EXPECT_EQ(var(0x1C), 0xABCD0002u);

    EXPECT_EQ(stack16(0x3FE), 0x0300u);
    EXPECT_EQ(stack16(0x3FC), 0x5555u);
    EXPECT_EQ(stack16(0x3FA), 0x03FEu);
    EXPECT_EQ(var(0x20), 0x9ABC03FEu);
    EXPECT_EQ(var(0x24), 0xABCD03F6u);
    EXPECT_EQ(var(0x28), 0x9ABC0300u);
    EXPECT_EQ(var(0x2C), 0xABCD0400u);
}

// The reported case: `o32 pop ss` from a 16-bit stack: SP wraps, ESP[31:16] stays, even
// though the new SS is a 32-bit one (and the other way round).
TEST_P(Stack16, PopSegmentRegisterUsesTheOldStackSize) {
    run(R"(
    mov esp, 0x0002FFFC
    mov dword [0x20000 + 0xFFFC], 0x10
    pop ss                  ; o32, the new SS is 32-bit
    mov [0x7000], esp
    mov ax, ss
    mov [0x7004], ax
    mov esp, 0x0001FFFC     ; 32-bit stack now
    mov dword [0x1FFFC], 0x18
    pop ss                  ; into a 16-bit SS: the increment carries into ESP[31:16]
    mov [0x7008], esp
    mov esp, 0xABCDFFFE
    mov word [0x20000 + 0xFFFE], 0x18
    o16 pop ss
    mov [0x700C], esp
    mov esp, 0xABCDFFFE
    mov dword [0x20000 + 0xFFFE], 0x10
    pop ds
    mov [0x7010], esp
    mov esp, 0xABCD0002
    mov dword [0x20000 + 0xFFFE], 0xFFFFFFFF
    push es                 ; o32: SP -= 4
    mov [0x7014], esp
    pop fs
    mov [0x7018], esp
    mov ax, fs
    mov [0x701C], ax
)");
    EXPECT_EQ(var(0x00), 0x00020000u);
    EXPECT_EQ(var(0x04) & 0xFFFF, 0x10u);
    EXPECT_EQ(var(0x08), 0x00020000u);
    EXPECT_EQ(var(0x0C), 0xABCD0000u);
    EXPECT_EQ(var(0x10), 0xABCD0002u);
    EXPECT_EQ(var(0x14), 0xABCDFFFEu);
    EXPECT_EQ(stack16(0xFFFE), 0x10u);
    EXPECT_EQ(var(0x18), 0xABCD0002u);
    EXPECT_EQ(var(0x1C) & 0xFFFF, 0x10u);
}

TEST_P(Stack16, PushaPopaWrapSp) {
    run(R"(
    mov esp, 0xABCD0010
    mov eax, 0xA0A0A0A0
    mov ecx, 0xC1C1C1C1
    mov edx, 0xD2D2D2D2
    mov ebx, 0xB3B3B3B3
    mov ebp, 0xB5B5B5B5
    mov esi, 0x56565656
    mov edi, 0xD7D7D7D7
    pushad                  ; EAX at 000C ... EDI at FFF0
    mov [0x7000], esp
    mov eax, [0x20000]
    mov [0x7020], eax       ; EBX
    mov eax, [0x20000 + 0xFFFC]
    mov [0x7024], eax       ; ESP
    xor eax, eax
    xor ecx, ecx
    xor edx, edx
    xor ebx, ebx
    xor ebp, ebp
    xor esi, esi
    xor edi, edi
    popad
    mov [0x7004], esp
    mov esp, 0xABCD0004
    pushaw                  ; AX at 0002 ... DI at FFF4
    mov [0x7008], esp
    mov ax, 0x1111
    popaw
    mov [0x700C], esp
)");
    EXPECT_EQ(var(0x00), 0xABCDFFF0u);
    EXPECT_EQ(stack(0x000C), 0xA0A0A0A0u);
    EXPECT_EQ(var(0x20), 0xB3B3B3B3u);
    EXPECT_EQ(var(0x24), 0xABCD0010u);  // the original ESP, whole
    EXPECT_EQ(stack(0xFFF0), 0xD7D7D7D7u);
    EXPECT_EQ(var(0x04), 0xABCD0010u);
    EXPECT_EQ(m.r(EAX), 0xA0A0A0A0u);
    EXPECT_EQ(m.r(EBP), 0xB5B5B5B5u);
    EXPECT_EQ(m.r(EDI), 0xD7D7D7D7u);
    EXPECT_EQ(var(0x08), 0xABCDFFF4u);
    EXPECT_EQ(stack16(0x0002), 0xA0A0u);
    EXPECT_EQ(stack16(0xFFFA), 0x0004u);  // SP
    EXPECT_EQ(var(0x0C), 0xABCD0004u);
}

TEST_P(Stack16, InterruptAndIretThroughBothGateSizes) {
    run(R"(
    mov esp, 0xABCD0008
    mov dword [0x7030], ret1
    int 0x40                ; 32-bit gate: EFLAGS at 0004, CS at 0000, EIP at FFFC
ret1:
    mov [0x7004], esp
    mov esp, 0xABCD0004
    mov dword [0x7034], ret2
    int 0x41                ; 16-bit gate: FLAGS at 0002, CS at 0000, IP at FFFE
ret2:
    mov [0x700C], esp
)");
    EXPECT_EQ(m.mem32(0x7F00), 0xABCDFFFCu);
    EXPECT_EQ(m.mem32(0x7F08), var(0x30));
    EXPECT_EQ(m.mem32(0x7F0C) & 0xFFFF, 0x08u);
    EXPECT_EQ(var(0x04), 0xABCD0008u);
    EXPECT_EQ(m.mem32(0x7F04), 0xABCDFFFEu);
    EXPECT_EQ(m.mem32(0x7F10), var(0x34) & 0xFFFF);
    EXPECT_EQ(m.mem32(0x7F14), 0x08u);
    EXPECT_EQ(var(0x0C), 0xABCD0004u);
}

INSTANTIATE_TEST_SUITE_P(Engines, Stack16, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Compiled" : "Interpreted"; });

}  // namespace
}  // namespace cxvm::x86::test
