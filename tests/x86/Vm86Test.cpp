// Virtual-8086 mode (EFLAGS.VM; SDM Vol. 3 ch. 20, 6.12; Vol. 2 IRET/INT/PUSHF/POPF/
// CLI/STI/IN/OUT): entry by IRET from CPL 0, 16-bit code with 66/67 prefixes, the
// IOPL-sensitive instructions at IOPL 0 (#GP(0) to the CPL-0 monitor) and 3 (executed),
// I/O through the TSS permission bitmap whatever the IOPL, INT n through the IDT to
// ring 0, a page fault and its retry, a #GP reflected the way a DOS emulator does, #UD
// for the protected-mode-only instructions, and the exit rules (only to a non-conforming
// CPL-0 code segment). Every test runs interpreted and with every block compiled (vm86
// blocks are never compiled; the protected-mode monitor's are).
//
// The guest (flat 32-bit, CPL 0, code at 0x1000) sets up a GDT (08 code, 10 data, 18 TSS,
// 20 conforming code DPL 0, 28 code DPL 3, 30 a second TSS at 0x12000), an IDT at 0x10000 whose 256 32-bit interrupt
// gates (DPL 0) lead to per-vector stubs, and a TSS at 0x11000 (ring-0 stack top 0x13000,
// an I/O bitmap for ports 0-0x3FF that allows only port 0x300). The stubs go to one
// monitor entry that logs every exit -- vector, ESP at entry, the 11 dwords from there
// (the frame: [error code,] EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS), the data segment
// selectors at entry (null after a vm86 exit) and the handler's EFLAGS -- and then jumps
// to the vector's action from a table, or HLTs when there is none. vm86 code is entered
// with IRETD (CS = its paragraph, SS 2000 SP 1000 with ESP[31:16] = ABCD, DS 3000,
// ES 3100, FS 3200, GS 3300) and ends with VMCALL, which stops the run in vm86.
#include "CpuTestSupport.h"

#include <array>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <sstream>
#include <sys/wait.h>

namespace cxvm::x86::test {
namespace {

constexpr std::uint32_t kStack0 = 0x13000;  // TSS.ESP0
constexpr std::uint32_t kLog = 0x15000, kVar = 0x16000;
constexpr std::uint32_t kDs = 0x30000, kEs = 0x31000;
constexpr std::uint32_t kVm = fl::VM, kIf = fl::IF, kIopl3 = fl::IOPL;

// The exit monitor is shared with the QEMU oracle ROM (asm/vm86_monitor.inc).
const std::string kMonitorPath =
    std::string("%define VM86_MONITOR \"") + CXVM_X86_ASM_SRC_DIR + "/vm86_monitor.inc\"\n";

const char* const kPrologue = R"(
IDT     equ 0x10000
TSS     equ 0x11000
STACK0  equ 0x13000
ACTIONS equ 0x14000
LOG     equ 0x15000
VAR     equ 0x16000   ; +0 ESP at entry, +4 vector, +8 exits, +0xC resume index,
                      ; +0x10 DS/ES at entry, +0x14 FS/GS, +0x20.. expected values
V86CS   equ ((v86 - $$) + 0x1000) >> 4

%macro ACTION 2       ; vector, monitor action
    mov dword [ACTIONS + (%1) * 4], %2
%endmacro
%macro GATE 3         ; vector, code selector, attributes (0xEE00: interrupt gate, DPL 3)
    mov word [IDT + (%1) * 8 + 2], %2
    mov word [IDT + (%1) * 8 + 4], %3
%endmacro
%macro EXPECT 2       ; VAR slot (0x20..), value: what the test compares with
    mov dword [VAR + (%1)], %2
%endmacro
%macro ENTER_V86 1    ; IOPL
    push dword 0x3300                 ; GS
    push dword 0x3200                 ; FS
    push dword 0x3000                 ; DS
    push dword 0x3100                 ; ES
    push dword 0x2000                 ; SS
    push dword 0xABCD1000             ; ESP
    push dword 0x00020202 | ((%1) << 12)  ; VM, IF, IOPL
    push dword V86CS
    push dword 0                      ; EIP
    iretd
%endmacro

    jmp start
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF   ; 08 code, DPL 0
    dq 0x00CF92000000FFFF   ; 10 data, DPL 0
    dq 0x00008901100000E8   ; 18 32-bit TSS, base 0x11000, limit 0xE8
    dq 0x00CF9E000000FFFF   ; 20 conforming code, DPL 0
    dq 0x00CFFA000000FFFF   ; 28 code, DPL 3
    dq 0x0000890120000067   ; 30 32-bit TSS, base 0x12000, limit 0x67 (a vm86 task)
gdt_ptr:
    dw 7*8-1
    dd gdt
idt_ptr:
    dw 256*8-1
    dd IDT
start:
    lgdt [gdt_ptr]
    jmp 0x08:.cs
.cs:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    cld
    mov edi, IDT            ; every vector: its stub, 32-bit interrupt gate, DPL 0
    mov eax, v86_stubs
    xor ecx, ecx
.idt:
    mov edx, eax
    mov [edi], dx
    mov word [edi+2], 0x08
    mov word [edi+4], 0x8E00
    shr edx, 16
    mov [edi+6], dx
    add eax, 16
    add edi, 8
    inc ecx
    cmp ecx, 256
    jne .idt
    lidt [idt_ptr]
    mov edi, TSS
    xor eax, eax
    mov ecx, 0x68/4
    rep stosd
    mov dword [TSS+4], STACK0
    mov dword [TSS+8], 0x10
    mov word [TSS+0x66], 0x68
    mov edi, TSS+0x68       ; I/O bitmap: ports 0-0x3FF denied, then the 0xFF end byte
    mov al, 0xFF
    mov ecx, 129
    rep stosb
    and byte [TSS+0x68+0x300/8], 0xFE   ; port 0x300 allowed (0x301 stays denied)
    mov ax, 0x18
    ltr ax
    jmp body

MON_VAR equ VAR
MON_LOG equ LOG
%include VM86_MONITOR
    mov eax, [VAR+4]
    mov ebx, [ACTIONS + eax*4]
    test ebx, ebx
    jz .stop
    jmp ebx
.stop:
    hlt
    jmp .stop

; Actions. resume_ec/resume_noec: continue vm86 at the next offset of resume_table
; (after a fault with / without an error code); ret_noec: return where the frame says.
resume_ec:
    mov eax, [VAR+0xC]
    inc dword [VAR+0xC]
    movzx eax, word [resume_table + eax*2]
    mov esi, [VAR]
    mov [esi+4], eax
    popad
    add esp, 4
    iretd
resume_noec:
    mov eax, [VAR+0xC]
    inc dword [VAR+0xC]
    movzx eax, word [resume_table + eax*2]
    mov esi, [VAR]
    mov [esi], eax
    popad
    iretd
ret_noec:
    popad
    iretd

body:
)";

class Vm86 : public ::testing::TestWithParam<bool> {
protected:
    Machine m;

    // `pm`: 32-bit CPL-0 code that ends by entering vm86; `v86`: the 16-bit code there;
    // `resume`: the resume_table's offsets (labels minus v86).
    RunResult run(const std::string& pm, const std::string& v86, const std::string& resume = "0",
                  StopReason want = StopReason::Hypercall) {
        m.cpu.setCompile(GetParam(), 0);  // compiled: every block from its first run
        const std::string src = kMonitorPath + std::string(kPrologue) + pm + "\nalign 16\nv86:\nbits 16\n" + v86 +
                                "\nbits 32\nresume_table:\n    dw " + resume + "\n";
        const RunResult r = m.runFlat(src);
        EXPECT_EQ(r.reason, want) << "eip " << std::hex << m.cpu.eip() << " cs "
                                  << m.cpu.segment(CS).selector << " exits " << exits();
        return r;
    }
    std::uint32_t var(std::uint32_t off) const { return m.mem32(kVar + off); }
    std::uint32_t exits() const { return var(8); }
    std::uint32_t vmCs() const { return var(0x40); }  // stored by every test's pm part
    std::uint16_t ds16(std::uint32_t off) const { return std::uint16_t(m.mem32(kDs + off)); }
    std::uint32_t ds32(std::uint32_t off) const { return m.mem32(kDs + off); }

    struct Exit {
        std::uint32_t vector, espAtEntry;
        std::array<std::uint32_t, 11> stack;  // from ESP at entry upwards
        std::uint16_t ds, es, fs, gs;         // at the handler's entry
        std::uint32_t handlerFlags;
    };
    Exit exit(unsigned n) const {
        const std::uint32_t b = kLog + 64 * n;
        Exit e{};
        e.vector = m.mem32(b);
        e.espAtEntry = m.mem32(b + 4);
        for (unsigned i = 0; i < 11; ++i) e.stack[i] = m.mem32(b + 8 + 4 * i);
        e.ds = std::uint16_t(m.mem32(b + 52));
        e.es = std::uint16_t(m.mem32(b + 52) >> 16);
        e.fs = std::uint16_t(m.mem32(b + 56));
        e.gs = std::uint16_t(m.mem32(b + 56) >> 16);
        e.handlerFlags = m.mem32(b + 60);
        return e;
    }
    // The vm86 exit frame, word by word (SDM Vol. 3 6.12.1, Figure 6-4 with GS, FS, DS,
    // ES above SS when the interrupted code ran in vm86): [error code,] EIP,
    // CS, EFLAGS, ESP, SS, ES, DS, FS, GS, each a dword with selectors zero-extended, at
    // the top of the ring-0 stack from the TSS; the data segment registers null.
    void expectVm86Frame(const Exit& e, std::uint8_t vector, bool hasCode, std::uint32_t code,
                         std::uint32_t eip, std::uint32_t flagsSet, std::uint32_t flagsClear,
                         std::uint32_t esp = 0xABCD1000) const {
        SCOPED_TRACE(::testing::Message() << "vector " << unsigned(vector) << " eip " << std::hex << eip);
        EXPECT_EQ(e.vector, vector);
        EXPECT_EQ(e.espAtEntry, kStack0 - (hasCode ? 40u : 36u));
        unsigned i = 0;
        if (hasCode) {
            EXPECT_EQ(e.stack[i++], code);
        }
        EXPECT_EQ(e.stack[i++], eip);
        EXPECT_EQ(e.stack[i++], vmCs());
        const std::uint32_t flags = e.stack[i++];
        EXPECT_EQ(flags & (flagsSet | flagsClear), flagsSet) << std::hex << flags;
        EXPECT_EQ(e.stack[i++], esp);
        EXPECT_EQ(e.stack[i++], 0x2000u);
        EXPECT_EQ(e.stack[i++], 0x3100u);
        EXPECT_EQ(e.stack[i++], 0x3000u);
        EXPECT_EQ(e.stack[i++], 0x3200u);
        EXPECT_EQ(e.stack[i++], 0x3300u);
        EXPECT_EQ(e.ds, 0u);
        EXPECT_EQ(e.es, 0u);
        EXPECT_EQ(e.fs, 0u);
        EXPECT_EQ(e.gs, 0u);
        EXPECT_EQ(e.handlerFlags & kIf, 0u);  // interrupt gates clear IF
    }
    // Still (or again) in vm86 at the VMCALL.
    void expectInVm86(std::uint32_t iopl) const {
        EXPECT_EQ(m.cpu.cpl(), 3u);
        EXPECT_TRUE(m.cpu.eflags() & kVm);
        EXPECT_EQ(m.cpu.eflags() & fl::IOPL, iopl << 12);
        EXPECT_EQ(m.cpu.segment(CS).selector, vmCs());
        EXPECT_EQ(m.cpu.segment(CS).base, vmCs() << 4);
        EXPECT_EQ(m.cpu.segment(DS).base, kDs);
        EXPECT_EQ(m.cpu.segment(SS).base, 0x20000u);
    }
};

const char* const kStoreCs = "    EXPECT 0x40, V86CS\n";

TEST_P(Vm86, IretFromCpl0EntersWithRealModeSegments) {
    run(std::string(kStoreCs) + R"(
    EXPECT 0x20, done - v86
    ENTER_V86 3
)", R"(
    mov [0x00], cs
    mov [0x02], ss
    mov [0x04], ds
    mov [0x06], es
    mov [0x08], fs
    mov [0x0A], gs
    mov [0x0C], sp
    mov byte [es:0x10], 0xE5    ; base = selector * 16 for each
    mov byte [fs:0x10], 0xF5
    mov byte [gs:0x10], 0x65
    mov byte [ss:0x10], 0x55
    vmcall
done:
)");
    expectInVm86(3);
    EXPECT_EQ(ds16(0x00), vmCs());
    EXPECT_EQ(ds16(0x02), 0x2000u);
    EXPECT_EQ(ds16(0x04), 0x3000u);
    EXPECT_EQ(ds16(0x06), 0x3100u);
    EXPECT_EQ(ds16(0x08), 0x3200u);
    EXPECT_EQ(ds16(0x0A), 0x3300u);
    EXPECT_EQ(ds16(0x0C), 0x1000u);
    EXPECT_EQ(m.mem32(0x31010) & 0xFF, 0xE5u);
    EXPECT_EQ(m.mem32(0x32010) & 0xFF, 0xF5u);
    EXPECT_EQ(m.mem32(0x33010) & 0xFF, 0x65u);
    EXPECT_EQ(m.mem32(0x20010) & 0xFF, 0x55u);
    EXPECT_EQ(m.r(ESP), 0xABCD1000u);  // ESP popped whole; vm86 uses SP
    EXPECT_EQ(m.cpu.eip(), var(0x20));
    for (unsigned s : {ES, CS, SS, DS, FS, GS}) {
        SCOPED_TRACE(s);
        const SegCache& c = m.cpu.segment(s);
        EXPECT_EQ(c.limit, 0xFFFFu);
        EXPECT_EQ(c.db, 0);
        EXPECT_EQ(c.dpl, 3);
        EXPECT_TRUE(c.writable);
    }
    EXPECT_EQ(exits(), 0u);
}

TEST_P(Vm86, SixteenBitCodeWithOperandAndAddressSizePrefixes) {
    run(std::string(kStoreCs) + R"(
    EXPECT 0x20, gp_here - v86
    ENTER_V86 3
)", R"(
    xor ecx, ecx
.fill:                          ; 16 dwords at DS:0x100 through a 32-bit address
    mov eax, ecx
    imul eax, eax, 0x01010101
    mov [ecx*4 + 0x100], eax
    inc ecx
    cmp ecx, 16
    jb .fill
    xor ebx, ebx                ; summed by a 16-bit LOOP over CX
    mov si, 0x100
    mov cx, 16
.sum:
    add ebx, [si]
    add si, 4
    loop .sum
    mov [0x00], ebx
    mov esi, 0x100              ; REP MOVSD with 32-bit addresses: ESI, EDI, ECX
    mov edi, 0x200
    mov ecx, 16
    a32 rep movsd
    mov [0x04], ecx
    mov [0x08], esi
    mov [0x0C], edi
    push ebx                    ; a 32-bit push on the 16-bit stack: SP only
    pop edx
    mov [0x10], edx
    mov [0x14], esp
    mov eax, 0x12345678
    mov edx, 0x100
    mul edx
    mov [0x18], eax
    mov [0x1C], edx
    mov ebx, 0xFFFE             ; a dword at DS:FFFE crosses the 64 KiB limit: #GP(0)
gp_here:
    mov eax, [ebx]
    vmcall
)", "0", StopReason::Halt);
    EXPECT_EQ(ds32(0x00), 0x78787878u);
    EXPECT_EQ(ds32(0x04), 0u);
    EXPECT_EQ(ds32(0x08), 0x140u);
    EXPECT_EQ(ds32(0x0C), 0x240u);
    for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(m.mem32(kEs + 0x200 + 4 * i), i * 0x01010101u);
    EXPECT_EQ(ds32(0x10), 0x78787878u);
    EXPECT_EQ(ds32(0x14), 0xABCD1000u);
    EXPECT_EQ(ds32(0x18), 0x34567800u);
    EXPECT_EQ(ds32(0x1C), 0x12u);
    ASSERT_EQ(exits(), 1u);
    expectVm86Frame(exit(0), vec::GP, true, 0, var(0x20), kVm | kIopl3 | kIf, 0);
}

// IOPL 0: CLI, STI, PUSHF, POPF, INT n and IRET (both operand sizes) raise #GP(0) without
// any effect; INT3 and INTO are not IOPL-sensitive and go through the IDT (DPL 3 gates).
TEST_P(Vm86, IoplSensitiveInstructionsFaultAtIopl0) {
    run(std::string(kStoreCs) + R"(
    ACTION 13, resume_ec
    ACTION 3, ret_noec
    ACTION 4, ret_noec
    GATE 3, 0x08, 0xEE00
    GATE 4, 0x08, 0xEE00
    GATE 0x30, 0x08, 0xEE00     ; DPL 3: the #GP comes from IOPL, not from the gate
    EXPECT 0x20, i1 - v86
    EXPECT 0x24, n1 - v86
    EXPECT 0x28, n2 - v86
    EXPECT 0x2C, n3 - v86
    EXPECT 0x30, n4 - v86
    EXPECT 0x34, n5 - v86
    EXPECT 0x38, n6 - v86
    EXPECT 0x3C, n7 - v86
    EXPECT 0x44, n8 - v86
    EXPECT 0x48, after_int3 - v86
    EXPECT 0x4C, after_into - v86
    ENTER_V86 0
)", R"(
i1: cli
n1: sti
n2: pushf
n3: popf
n4: int 0x30
n5: iret
n6: pushfd
n7: popfd
n8: iretd
n9: mov [0x00], sp
    int3
after_int3:
    mov al, 0x7F
    add al, 1                   ; OF
    into
after_into:
    vmcall
)", "n1 - v86, n2 - v86, n3 - v86, n4 - v86, n5 - v86, n6 - v86, n7 - v86, n8 - v86, n9 - v86");
    expectInVm86(0);
    EXPECT_TRUE(m.cpu.eflags() & kIf);  // CLI did nothing
    EXPECT_EQ(ds16(0x00), 0x1000u);     // PUSHF pushed nothing, POPF popped nothing
    ASSERT_EQ(exits(), 11u);
    const std::uint32_t at[9] = {var(0x20), var(0x24), var(0x28), var(0x2C), var(0x30),
                                 var(0x34), var(0x38), var(0x3C), var(0x44)};
    for (unsigned i = 0; i < 9; ++i)
        expectVm86Frame(exit(i), vec::GP, true, 0, at[i], kVm | kIf, fl::IOPL);
    // The last frame (INTO: no error code) as it sits at the top of the TSS's ring-0
    // stack, dword by dword.
    const std::uint32_t f = kStack0 - 36;
    EXPECT_EQ(m.mem32(f + 0), var(0x4C));
    EXPECT_EQ(m.mem32(f + 4), vmCs());
    EXPECT_EQ(m.mem32(f + 8) & (kVm | kIf | fl::IOPL | fl::OF), kVm | kIf | fl::OF);
    EXPECT_EQ(m.mem32(f + 12), 0xABCD1000u);
    EXPECT_EQ(m.mem32(f + 16), 0x2000u);
    EXPECT_EQ(m.mem32(f + 20), 0x3100u);
    EXPECT_EQ(m.mem32(f + 24), 0x3000u);
    EXPECT_EQ(m.mem32(f + 28), 0x3200u);
    EXPECT_EQ(m.mem32(f + 32), 0x3300u);
    expectVm86Frame(exit(9), vec::BP, false, 0, var(0x48), kVm | kIf, fl::IOPL);
    expectVm86Frame(exit(10), vec::OF, false, 0, var(0x4C), kVm | kIf | fl::OF, fl::IOPL);
}

// IOPL 3: the same instructions execute; POPF/IRET never change VM or IOPL in vm86.
TEST_P(Vm86, IoplSensitiveInstructionsRunAtIopl3) {
    run(std::string(kStoreCs) + R"(
    ACTION 0x30, ret_noec
    GATE 0x30, 0x08, 0xEE00
    ENTER_V86 3
)", R"(
    cli
    pushf
    pop ax
    mov [0x00], ax              ; IF clear, IOPL 3
    sti
    pushfd
    pop eax
    mov [0x04], eax             ; IF set; VM and RF never pushed
    push word 0x0003            ; IOPL 0, IF 0, CF
    popf
    pushf
    pop ax
    mov [0x08], ax              ; IOPL still 3, IF now clear, CF set
    push dword 0x00020200       ; VM, IF
    popfd
    pushfd
    pop eax
    mov [0x0C], eax             ; IF set, CF clear
    pushf                       ; 16-bit IRET: pops IP, CS, FLAGS
    push cs
    push word back16 - v86
    iret
    hlt
back16:
    mov word [0x10], 0x1616
    pushfd                      ; 32-bit IRET
    xor eax, eax
    mov ax, cs
    push eax
    push dword back32 - v86
    iretd
    hlt
back32:
    mov word [0x12], 0x3232
    push word 0x0000            ; an IRET image with IOPL 0 and IF clear
    push cs
    push word back16b - v86
    iret
back16b:
    pushf
    pop ax
    mov [0x14], ax              ; IOPL kept at 3, IF now clear
    sti
    int 0x30                    ; through the IDT to ring 0 and back (IRETD)
    mov word [0x16], 0x3030
    mov [0x18], sp
    vmcall
)");
    expectInVm86(3);
    EXPECT_EQ(ds16(0x00) & (kIf | fl::IOPL), kIopl3);
    EXPECT_EQ(ds32(0x04) & (kIf | fl::IOPL | kVm | fl::RF), kIf | kIopl3);
    EXPECT_EQ(ds16(0x08) & (kIf | fl::IOPL | fl::CF), kIopl3 | fl::CF);
    EXPECT_EQ(ds32(0x0C) & (kIf | fl::IOPL | fl::CF), kIf | kIopl3);
    EXPECT_EQ(ds16(0x10), 0x1616u);
    EXPECT_EQ(ds16(0x12), 0x3232u);
    EXPECT_EQ(ds16(0x14) & (kIf | fl::IOPL), kIopl3);
    EXPECT_EQ(ds16(0x16), 0x3030u);
    EXPECT_EQ(ds16(0x18), 0x1000u);
    ASSERT_EQ(exits(), 1u);
    EXPECT_EQ(exit(0).vector, 0x30u);
}

// INT n at IOPL 3: through a DPL-3 interrupt gate to ring 0 with the whole vm86 frame;
// the monitor's IRETD returns to vm86. A DPL-0 gate is #GP(vector * 8 + 2); a gate to a
// conforming or a DPL-3 code segment is #GP(selector) (SDM Vol. 3 6.12.1, INT).
TEST_P(Vm86, IntNGoesThroughTheIdtToRing0Only) {
    run(std::string(kStoreCs) + R"(
    ACTION 0x30, ret_noec
    ACTION 13, resume_ec
    GATE 0x30, 0x08, 0xEE00
    GATE 0x32, 0x20, 0xEE00     ; to conforming code
    GATE 0x33, 0x28, 0xEE00     ; to DPL-3 code
    GATE 0x34, 0x08, 0xEF00     ; trap gate: IF stays set in the handler
    ACTION 0x34, ret_noec
    EXPECT 0x20, after30 - v86
    EXPECT 0x24, i31 - v86
    EXPECT 0x28, i32 - v86
    EXPECT 0x2C, i33 - v86
    EXPECT 0x30, after34 - v86
    ENTER_V86 3
)", R"(
    mov ax, 0x1234
    int 0x30
after30:
    mov [0x00], ax
i31: int 0x31
r31:
i32: int 0x32
r32:
i33: int 0x33
r33:
    int 0x34
after34:
    vmcall
)", "r31 - v86, r32 - v86, r33 - v86");
    expectInVm86(3);
    EXPECT_EQ(ds16(0x00), 0x1234u);
    ASSERT_EQ(exits(), 5u);
    expectVm86Frame(exit(0), 0x30, false, 0, var(0x20), kVm | kIf | kIopl3, 0);
    expectVm86Frame(exit(1), vec::GP, true, 0x31 * 8 + 2, var(0x24), kVm | kIf | kIopl3, 0);
    expectVm86Frame(exit(2), vec::GP, true, 0x20, var(0x28), kVm | kIf | kIopl3, 0);
    expectVm86Frame(exit(3), vec::GP, true, 0x28, var(0x2C), kVm | kIf | kIopl3, 0);
    const Exit trap = exit(4);
    EXPECT_EQ(trap.vector, 0x34u);
    EXPECT_EQ(trap.stack[0], var(0x30));
    EXPECT_TRUE(trap.handlerFlags & kIf);
}

// A 16-bit gate from vm86 pushes the same frame in words (SDM Vol. 3 6.12.1: the gate
// size sets the push size); its handler cannot IRET back (a 16-bit EFLAGS image has no
// VM), so the monitor stops and the test reads the frame.
TEST_P(Vm86, SixteenBitGatePushesAWordFrame) {
    run(std::string(kStoreCs) + R"(
    GATE 0x35, 0x08, 0xE600     ; 16-bit interrupt gate, DPL 3
    EXPECT 0x20, after35 - v86
    ENTER_V86 3
)", R"(
    int 0x35
after35:
    vmcall
)", "0", StopReason::Halt);
    ASSERT_EQ(exits(), 1u);
    const Exit e = exit(0);
    EXPECT_EQ(e.vector, 0x35u);
    EXPECT_EQ(e.espAtEntry, kStack0 - 18);
    auto word = [&](unsigned i) { return std::uint16_t(m.mem32(kStack0 - 18 + 2 * i)); };
    EXPECT_EQ(word(0), var(0x20));                          // IP
    EXPECT_EQ(word(1), vmCs());                             // CS
    EXPECT_EQ(word(2) & (kIf | fl::IOPL), kIf | kIopl3);    // FLAGS
    EXPECT_EQ(word(3), 0x1000u);                            // SP
    EXPECT_EQ(word(4), 0x2000u);                            // SS
    EXPECT_EQ(word(5), 0x3100u);                            // ES
    EXPECT_EQ(word(6), 0x3000u);                            // DS
    EXPECT_EQ(word(7), 0x3200u);                            // FS
    EXPECT_EQ(word(8), 0x3300u);                            // GS
    EXPECT_EQ(e.ds, 0u);
    EXPECT_EQ(e.gs, 0u);
    EXPECT_EQ(m.cpu.cpl(), 0u);
    EXPECT_FALSE(m.cpu.eflags() & kVm);
}

class PortLog final : public hw::IoDevice {
public:
    std::uint32_t ioRead(std::uint16_t port, unsigned size) override {
        reads.push_back({port, size, 0});
        return 0xA5A5A5A5u;
    }
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override {
        writes.push_back({port, size, value});
    }
    std::string_view name() const override { return "port-log"; }
    struct Access {
        std::uint16_t port;
        unsigned size;
        std::uint32_t value;
        bool operator==(const Access&) const = default;
    };
    std::vector<Access> reads, writes;
};

// IN/OUT/INS/OUTS in vm86 consult the TSS I/O bitmap even at IOPL 3 (SDM Vol. 3
// 20.2.8.1): port 0x300 is allowed, 0x301, 0x2FF and 0x80 are not; a word access needs
// both bits clear.
TEST_P(Vm86, PortIoFollowsTheTssBitmapWhateverTheIopl) {
    PortLog dev;
    m.io.attach(0x2F0, 0x20, dev);
    run(std::string(kStoreCs) + R"(
    ACTION 13, resume_ec
    EXPECT 0x20, i1 - v86
    EXPECT 0x24, i2 - v86
    EXPECT 0x28, i3 - v86
    EXPECT 0x2C, i4 - v86
    ENTER_V86 3
)", R"(
    mov dx, 0x300
    mov al, 0x5A
    out dx, al
    in al, dx
    mov [0x00], al
i1: out 0x80, al                ; the imm8 form: port 0x80 is denied too
r1: mov dx, 0x2FF
i2: in ax, dx
r2: mov dx, 0x300
i3: in ax, dx
r3: mov byte [0x40], 0x77
    mov si, 0x40
    outsb
    mov dx, 0x301
    mov di, 0x50
i4: insb
r4: vmcall
)", "r1 - v86, r2 - v86, r3 - v86, r4 - v86");
    expectInVm86(3);
    EXPECT_EQ(ds16(0x00) & 0xFF, 0xA5u);
    using A = PortLog::Access;
    EXPECT_EQ(dev.writes, (std::vector<A>{{0x300, 1, 0x5A}, {0x300, 1, 0x77}}));
    EXPECT_EQ(dev.reads, (std::vector<A>{{0x300, 1, 0}}));
    ASSERT_EQ(exits(), 4u);
    for (unsigned i = 0; i < 4; ++i)
        expectVm86Frame(exit(i), vec::GP, true, 0, var(0x20 + 4 * i), kVm | kIopl3, 0);
}

// A page fault in vm86 (CPL 3: a user access) reaches the ring-0 handler with CR2 and the
// error code; the handler maps the page and IRETs, and the instruction is retried.
TEST_P(Vm86, PageFaultIsHandledAndTheInstructionRetried) {
    run(std::string(kStoreCs) + R"(
    mov edi, 0x51000            ; identity page table for 0-4 MiB, user/write
    mov eax, 7
    mov ecx, 1024
.pt:
    stosd
    add eax, 0x1000
    loop .pt
    and dword [0x51000 + 0x40*4], ~1   ; 0x40000 not present
    mov dword [0x50000], 0x51000 | 7
    mov eax, 0x50000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    ACTION 14, map_page
    EXPECT 0x20, i1 - v86
    ENTER_V86 3
map_page:
    or dword [0x51000 + 0x40*4], 1
    mov eax, cr2
    mov [VAR+0x24], eax
    popad
    add esp, 4
    iretd
)", R"(
    mov ax, 0x4000
    mov es, ax
i1: mov word [es:0x10], 0xBEEF
    mov ax, [es:0x10]
    mov [0x00], ax
    vmcall
)");
    expectInVm86(3);
    EXPECT_EQ(ds16(0x00), 0xBEEFu);
    EXPECT_EQ(m.mem32(0x40010) & 0xFFFF, 0xBEEFu);
    EXPECT_EQ(var(0x24), 0x40010u);
    ASSERT_EQ(exits(), 1u);
    const Exit e = exit(0);
    EXPECT_EQ(e.vector, vec::PF);
    EXPECT_EQ(e.stack[0], 6u);  // write, user, not present
    EXPECT_EQ(e.stack[1], var(0x20));
    EXPECT_EQ(e.stack[6], 0x4000u);  // ES as loaded in vm86
    EXPECT_EQ(e.stack[7], 0x3000u);  // DS
    EXPECT_EQ(e.ds, 0u);
}

// A DOS emulator's monitor: INT 21h at IOPL 0 traps with #GP(0); the monitor reads the
// instruction at the frame's CS:IP, emulates AH=30h (DOS version 5.0) in the saved
// registers, steps EIP past it and IRETs back to vm86.
TEST_P(Vm86, GpIsReflectedTheWayADosEmulatorDoes) {
    run(std::string(kStoreCs) + R"(
    ACTION 13, dos_monitor
    EXPECT 0x20, i1 - v86
    EXPECT 0x24, i2 - v86
    ENTER_V86 0
dos_monitor:
    mov esi, [VAR]              ; error code, EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS
    movzx eax, word [esi+8]
    shl eax, 4
    add eax, [esi+4]            ; linear CS:IP of the faulting instruction
    cmp word [eax], 0x21CD      ; INT 21h
    jne .stop
    cmp byte [esp+29], 0x30     ; AH of the EAX saved by PUSHAD
    jne .stop
    mov word [esp+28], 0x0005   ; AX: version 5.0
    add dword [esi+4], 2
    popad
    add esp, 4
    iretd
.stop:
    hlt
)", R"(
    mov ax, 0x3000
i1: int 0x21
    mov [0x00], ax
    mov ah, 0x30
i2: int 0x21
    mov [0x02], ax
    mov [0x04], ds
    vmcall
)");
    expectInVm86(0);
    EXPECT_EQ(ds16(0x00), 5u);
    EXPECT_EQ(ds16(0x02), 5u);
    EXPECT_EQ(ds16(0x04), 0x3000u);  // DS back from the frame (null in the monitor)
    ASSERT_EQ(exits(), 2u);
    expectVm86Frame(exit(0), vec::GP, true, 0, var(0x20), kVm | kIf, fl::IOPL);
    expectVm86Frame(exit(1), vec::GP, true, 0, var(0x24), kVm | kIf, fl::IOPL);
}

// Protected-mode-only instructions are #UD in vm86; privileged ones are #GP(0) (CPL 3).
TEST_P(Vm86, SystemInstructionsFaultInVm86) {
    run(std::string(kStoreCs) + R"(
    ACTION 6, resume_noec
    ACTION 13, resume_ec
    ENTER_V86 3
)", R"(
u0: lar ax, bx
u1: lsl ax, bx
u2: verr bx
u3: verw bx
u4: arpl [0x10], bx
u5: sldt ax
u6: str ax
u7: lldt ax
u8: ltr ax
g0: hlt
g1: mov eax, cr0
g2: mov cr0, eax
g3: lgdt [0x20]
g4: lmsw ax
g5: clts
g6: invlpg [0x10]
g7: wrmsr
end:
    smsw ax                     ; not privileged
    mov [0x00], ax
    vmcall
)", "u1 - v86, u2 - v86, u3 - v86, u4 - v86, u5 - v86, u6 - v86, u7 - v86, u8 - v86, g0 - v86, "
    "g1 - v86, g2 - v86, g3 - v86, g4 - v86, g5 - v86, g6 - v86, g7 - v86, end - v86");
    expectInVm86(3);
    EXPECT_EQ(ds16(0x00) & 1, 1u);  // PE
    ASSERT_EQ(exits(), 17u);
    for (unsigned i = 0; i < 9; ++i) {
        EXPECT_EQ(exit(i).vector, vec::UD) << i;
        EXPECT_EQ(exit(i).espAtEntry, kStack0 - 36) << i;
    }
    for (unsigned i = 9; i < 17; ++i) {
        EXPECT_EQ(exit(i).vector, vec::GP) << i;
        EXPECT_EQ(exit(i).stack[0], 0u) << i;
    }
}

// A hardware interrupt while in vm86 exits to ring 0 like INT n, with the frame.
TEST_P(Vm86, HardwareInterruptExitsToRing0) {
    struct Vector40 final : hw::InterruptAcknowledge {
        explicit Vector40(hw::CpuInterruptPins& p) : pins(p) {}
        std::uint8_t acknowledge() override {
            pins.intr = false;
            return 0x40;
        }
        hw::CpuInterruptPins& pins;
    } pic{m.pins};
    m.pins.controller = &pic;
    run(std::string(kStoreCs) + R"(
    ACTION 0x40, ret_noec
    EXPECT 0x20, after - v86
    ENTER_V86 0
)", R"(
    vmcall
after:
    mov word [0x00], 0x4040
    vmcall
)");
    expectInVm86(0);
    m.pins.intr = true;
    ASSERT_EQ(m.cpu.run(1000).reason, StopReason::Hypercall);
    expectInVm86(0);
    EXPECT_EQ(ds16(0x00), 0x4040u);
    ASSERT_EQ(exits(), 1u);
    expectVm86Frame(exit(0), 0x40, false, 0, var(0x20), kVm | kIf, fl::IOPL);
}

// A task switch to a TSS whose EFLAGS image has VM set starts the task in vm86 (SDM
// Vol. 3 7.3, 20.2.1): real-mode segments from the TSS's selectors, CPL 3. Its exits use
// the ring-0 stack of the new TSS.
TEST_P(Vm86, TaskSwitchIntoAVm86Task) {
    run(std::string(kStoreCs) + R"(
TSS2 equ 0x12000
    mov edi, TSS2
    xor eax, eax
    mov ecx, 0x68/4
    rep stosd
    mov dword [TSS2+0x04], STACK0
    mov dword [TSS2+0x08], 0x10
    mov dword [TSS2+0x20], 0              ; EIP
    mov dword [TSS2+0x24], 0x00023202     ; VM, IOPL 3, IF
    mov dword [TSS2+0x28], 0x11111111     ; EAX
    mov dword [TSS2+0x38], 0xABCD1000     ; ESP
    mov dword [TSS2+0x48], 0x3100         ; ES
    mov dword [TSS2+0x4C], V86CS          ; CS
    mov dword [TSS2+0x50], 0x2000         ; SS
    mov dword [TSS2+0x54], 0x3000         ; DS
    mov dword [TSS2+0x58], 0x3200         ; FS
    mov dword [TSS2+0x5C], 0x3300         ; GS
    mov word [TSS2+0x66], 0x68            ; no I/O bitmap (beyond the limit)
    EXPECT 0x20, gp - v86
    jmp 0x30:0
)", R"(
    mov [0x00], eax
    vmcall
gp: hlt
)");
    expectInVm86(3);
    EXPECT_EQ(ds32(0x00), 0x11111111u);
    EXPECT_EQ(m.cpu.tr().selector, 0x30u);
    EXPECT_EQ(m.r(ESP), 0xABCD1000u);
    EXPECT_EQ(m.cpu.segment(ES).base, kEs);
    EXPECT_EQ(m.cpu.segment(GS).base, 0x33000u);
    EXPECT_EQ(m.cpu.segment(CS).limit, 0xFFFFu);
    EXPECT_EQ(m.mem32(0x11000 + 0x4C) & 0xFFFF, 0x08u);  // the old task's CS, saved
    ASSERT_EQ(m.cpu.run(1000).reason, StopReason::Halt);
    ASSERT_EQ(exits(), 1u);
    expectVm86Frame(exit(0), vec::GP, true, 0, var(0x20), kVm | kIf | kIopl3, 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, Vm86, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Compiled" : "Interpreted"; });

// No VME: CPUID.1:EDX bit 1 is clear and CR4.VME is reserved (#GP).
TEST(Vm86Support, NoVirtualModeExtensions) {
    Machine m;
    m.cpu.setExceptionExit(true);
    const RunResult r = m.runFlat(R"(
    mov eax, 1
    cpuid
    mov esi, edx
    mov eax, 1                  ; CR4.VME
    mov cr4, eax
    hlt
)");
    EXPECT_EQ(m.r(ESI) & 2, 0u);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, vec::GP);
    EXPECT_EQ(m.cpu.cr(4), 0u);
}

// IRET with VM set in the image from CPL 3 is an ordinary return: VM is not loaded.
TEST(Vm86Support, IretAtCpl3CannotEnterVm86) {
    Machine m;
    m.cpu.setExceptionExit(true);
    m.load(0x1000, assemble(R"(
    push dword 0x00020202       ; VM, IF
    push cs
    push dword next
    iretd
next:
    pushfd
    pop eax
    hlt
)"));
    m.cpu.setFlat32(0x1000, 0x80000, 3);
    // Flat CPL-3 segments without a GDT: the IRET's CS check reads the GDT, so give it one.
    hw::GuestMemory& mem = m.mem;
    const std::uint64_t gdt[4] = {0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF, 0x00CFFA000000FFFF};
    mem.write(0x9000, std::span(reinterpret_cast<const std::uint8_t*>(gdt), sizeof gdt));
    m.cpu.setGdtr({0x9000, sizeof gdt - 1});
    SegCache cs = m.cpu.segment(CS);
    cs.selector = 0x1B;
    m.cpu.setSegment(CS, cs);
    const RunResult r = m.cpu.run(100);
    // HLT at CPL 3 faults: the run stops there, after the IRET, not in vm86.
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, vec::GP);
    EXPECT_EQ(m.r(EAX) & kVm, 0u);
    EXPECT_FALSE(m.cpu.eflags() & kVm);
    EXPECT_EQ(m.cpu.cpl(), 3u);
}

// ---------------------------------------------------------------- oracle: QEMU

// The oracle ROM (asm/vm86_oracle.asm) prints its vm86 exits and results on COM1.
class Com1Capture final : public hw::IoDevice {
public:
    std::uint32_t ioRead(std::uint16_t port, unsigned) override {
        return port == 0x3FD ? 0x60 : 0;  // LSR: transmitter empty
    }
    void ioWrite(std::uint16_t port, unsigned, std::uint32_t value) override {
        if (port == 0x3F8) text += char(value);
        if (port == 0x501) exitValue = value;
    }
    std::string_view name() const override { return "com1-capture"; }
    std::string text;
    std::uint32_t exitValue = 0;
};

std::string oracleRom() { return std::string(CXVM_X86_ROM_DIR) + "/vm86_oracle.bin"; }

std::string runOracleOnCxvm(bool compiled) {
    Machine m;
    std::ifstream f(oracleRom(), std::ios::binary);
    const std::vector<std::uint8_t> rom((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(rom.size(), 0x10000u);
    m.mem.addRom(0xFFFF0000u, rom, "vm86 oracle");
    // As on a PC (and QEMU): the BIOS alias below 1 MiB, where pm_boot.inc's real-mode
    // IRET lands (CS = F000, base F0000).
    m.mem.addRomAlias(0xF0000u, 0xFFFF0000u, 0x10000, "vm86 oracle alias");
    Com1Capture com1;
    m.io.attach(0x3F8, 8, com1);
    m.io.attach(0x501, 1, com1);
    m.cpu.setCompile(compiled, 0);
    m.cpu.reset();
    if (const char* t = std::getenv("CXVM_X86_TRACE")) {
        TraceOptions o;
        o.enabled = true;
        o.count = std::strtoull(t, nullptr, 0);
        m.cpu.setTrace(o);
    }
    const RunResult r = m.cpu.run(10'000'000);
    EXPECT_EQ(r.reason, StopReason::Halt) << std::hex << m.cpu.segment(CS).selector << ":" << m.cpu.eip();
    EXPECT_EQ(com1.exitValue, 0x31u);
    return com1.text;
}

// QEMU's system emulator runs the same image as its BIOS (TCG: an independent
// implementation of vm86, not hardware). Empty when QEMU is not installed.
std::string runOracleOnQemu(std::string& why) {
    if (std::system("command -v qemu-system-i386 >/dev/null 2>&1") != 0) {
        why = "qemu-system-i386 not installed";
        return {};
    }
    const std::string out = (std::filesystem::temp_directory_path() /
                             ("cxvm-vm86-oracle-" + std::to_string(::getpid()) + ".txt"))
                                .string();
    const std::string cmd = "timeout 120 qemu-system-i386 -nodefaults -display none -machine pc "
                            "-m 16 -bios " + oracleRom() + " -serial file:" + out +
                            " -device isa-debug-exit,iobase=0x501,iosize=1 -no-reboot";
    const int status = std::system(cmd.c_str());
    std::ifstream f(out);
    std::string text((std::istreambuf_iterator<char>(f)), {});
    std::filesystem::remove(out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 99) {
        why = "qemu-system-i386 exited with status " + std::to_string(WEXITSTATUS(status)) +
              " (want 99, the ROM's debug exit); output:\n" + text;
        return {};
    }
    return text;
}

// Every exit frame (vector, ESP at entry, the frame, DS..GS at entry, the monitor's
// EFLAGS) and every result the vm86 script stored, compared with QEMU's, line by line.
TEST(Vm86Oracle, ExitFramesAndResultsMatchQemu) {
    std::string why;
    const std::string qemu = runOracleOnQemu(why);
    if (qemu.empty() && why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_FALSE(qemu.empty()) << why;
    ASSERT_NE(qemu.find("END"), std::string::npos) << qemu;
    for (bool compiled : {false, true}) {
        SCOPED_TRACE(compiled ? "compiled" : "interpreted");
        const std::string ours = runOracleOnCxvm(compiled);
        std::istringstream a(ours), b(qemu);
        std::string la, lb;
        unsigned line = 0;
        while (std::getline(b, lb)) {
            ++line;
            ASSERT_TRUE(std::getline(a, la)) << "cxvm's output ends before QEMU's line " << line;
            EXPECT_EQ(la, lb) << "line " << line;
        }
        EXPECT_FALSE(std::getline(a, la)) << "cxvm prints more than QEMU: " << la;
        EXPECT_EQ(std::count(ours.begin(), ours.end(), '\n'), 26) << ours;  // 24 exits, data, END
    }
}

}  // namespace
}  // namespace cxvm::x86::test
