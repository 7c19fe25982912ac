// Compiled blocks (x86/jit/BlockCompiler.h): inline fast paths must agree with the
// handlers, including where they leave the fast path -- faults unwinding through the
// compiled frame, self-modifying stores, TLB misses -- and retire exactly as many
// instructions as the interpreter. The differential bench runs its cases compiled too.
#include "CpuTestSupport.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

namespace cxvm::x86::test {
namespace {

struct CompiledMachine : Machine {
    CompiledMachine() { cpu.setCompile(true, 0); }  // compiled from the first run
};
// The reference the compiled runs are compared with; `exceptionExit`: a fault ends the run.
struct InterpretedMachine : Machine {
    explicit InterpretedMachine(bool exceptionExit = false) {
        cpu.setCompile(false);
        cpu.setExceptionExit(exceptionExit);
    }
};

// The compiled run and its interpreted reference agree on every register, the flags,
// EIP and the retired count; `where` names the step in a failure.
void expectSameCpu(const Machine& m, const Machine& plain, const std::string& where = {}) {
    for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(m.r(i), plain.r(i)) << where << " register " << i;
    EXPECT_EQ(m.flags(), plain.flags()) << where;
    EXPECT_EQ(m.cpu.eip(), plain.cpu.eip()) << where;
    EXPECT_EQ(m.cpu.instructionsRetired(), plain.cpu.instructionsRetired()) << where;
}

// Runs `source` flat, except segment `s` with the given type and limit.
RunResult runWithSegment(Machine& m, const std::string& source, unsigned s, std::uint8_t type,
                         std::uint32_t limit) {
    m.load(0x1000, assemble(source));
    m.cpu.setFlat32(0x1000, 0x80000);
    SegCache c = m.cpu.segment(s);
    c.type = type;
    c.limit = limit;
    c.derive();
    m.cpu.setSegment(s, c);
    return m.cpu.run(1'000'000);
}

// Page directory at 0x10000 with one table at 0x11000 mapping 0..2 MiB 1:1 (2 MiB and
// up not present); the PDE's and PTEs' low flag bits as given. Paging stays off.
std::string identityMap2MiB(unsigned pdeFlags, unsigned pteFlags) {
    return fmt::format(R"(
        mov edi, 0x10000
        mov dword [edi], 0x11000 + {}
        mov edi, 0x11000
        mov eax, {}
        mov ecx, 512
    fill:
        mov [edi], eax
        add eax, 0x1000
        add edi, 4
        dec ecx
        jnz fill
)",
                       pdeFlags, pteFlags);
}

// The same, user/writable, with paging turned on (CR3 = 0x10000).
std::string pagedIdentity2MiB() {
    return identityMap2MiB(3, 3) + R"(
        mov eax, 0x10000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
)";
}

TEST(CompiledBlocks, HotLoopOfInlineFormsMatchesTheInterpreter) {
    const char* program = R"(
        mov ebp, 0x20000
        mov dword [ebp - 8], 5
        mov ecx, 1000
        xor eax, eax
        mov edx, 0x12345678
    again:
        mov ebx, [ebp - 8]        ; load
        add eax, ebx              ; ALU r, r
        sub edx, [ebp - 8]        ; ALU r, [m]
        lea esi, [eax + ecx * 4 + 3]
        xor esi, edx
        mov [ebp + ecx * 4], esi  ; store with SIB
        cmp dword [ebp - 8], 5    ; CMP [m], imm
        and edi, 0x0F0F
        or edi, esi
        test esi, 1
        inc ebx
        inc dword [ebp + ecx * 4] ; INC/DEC r/m32 (FF /0 /1) on memory
        dec dword [ebp - 8]
        inc dword [ebp - 8]
        mov [ebp - 8], ebx        ; changes the loaded value each round
        dec ebx
        mov [ebp - 8], ebx
        dec ecx
        jnz again
        hlt)";
    InterpretedMachine plain;
    CompiledMachine jit;
    ASSERT_EQ(plain.runFlat(program).reason, StopReason::Halt);
    ASSERT_EQ(jit.runFlat(program).reason, StopReason::Halt);
    for (unsigned r = 0; r < 8; ++r) EXPECT_EQ(jit.r(r), plain.r(r)) << "register " << r;
    EXPECT_EQ(jit.flags(), plain.flags());
    EXPECT_EQ(jit.cpu.instructionsRetired(), plain.cpu.instructionsRetired());
    for (std::uint32_t a = 0x20000; a < 0x20000 + 4004; a += 4) ASSERT_EQ(jit.mem32(a), plain.mem32(a)) << a;
    EXPECT_GT(jit.cpu.blockStats().compiled, 0u);
    EXPECT_EQ(plain.cpu.blockStats().compiled, 0u);
}

// Byte forms (MOV, the ALU group with ADC/SBB, TEST, INC/DEC; AH..BH included), the
// 16-bit MOV forms and ROL/ROR, compiled and interpreted: every op's flags are logged
// (PUSHFD after each), so each lazy-flag state the compiled code leaves is checked, not
// just the last.
TEST(CompiledBlocks, ByteWordAndRotateFormsMatchTheInterpreterFlagByFlag) {
    const char* program = R"(
        mov esp, 0x80000
        mov ebp, 0x20000          ; operands
        mov edi, 0x40000          ; flag log
        mov ecx, 300
        mov eax, 0x80FF7F01
        mov ebx, 0x00010203
        mov edx, 0xFEDCBA98
        mov esi, 0x11223344
        mov dword [ebp], 0x7F80FF01
        mov dword [ebp + 4], 0x01020304
    again:
        mov [ebp + 8], cl         ; byte store
        mov bl, [ebp + 1]         ; byte load into BL...
        mov bh, [ebp + ecx]       ; ...and into BH, SIB
        add al, bl
        pushfd
        pop dword [edi]
        adc ah, dh
        pushfd
        pop dword [edi + 4]
        sub dl, [ebp + 2]         ; r8 op= [m]
        pushfd
        pop dword [edi + 8]
        sbb [ebp + 3], bh         ; [m] op= r8
        pushfd
        pop dword [edi + 12]
        cmp [ebp], cl             ; CMP [m], r8 (a = [m])
        pushfd
        pop dword [edi + 16]
        cmp dh, [ebp + 1]         ; CMP r8, [m] (a = r8)
        pushfd
        pop dword [edi + 20]
        xor al, 0x5A              ; AL, imm8
        pushfd
        pop dword [edi + 24]
        add byte [ebp + 5], 0x81  ; 80 /0 on memory
        pushfd
        pop dword [edi + 28]
        and dh, 0xF7              ; 80 /4 on a high byte register
        pushfd
        pop dword [edi + 32]
        or bl, ah
        pushfd
        pop dword [edi + 36]
        test cl, 0x80
        pushfd
        pop dword [edi + 40]
        test [ebp + 2], al
        pushfd
        pop dword [edi + 44]
        cmp al, 0x7F
        pushfd
        pop dword [edi + 48]
        inc byte [ebp + 7]
        pushfd
        pop dword [edi + 52]
        dec ch
        pushfd
        pop dword [edi + 56]
        inc ch
        sub [ebp + 6], dl
        pushfd
        pop dword [edi + 60]
        mov ah, 0x80              ; B4: MOV r8, imm8
        mov byte [ebp + 9], 0x7E  ; C6 /0
        mov dh, bl                ; 88/8A mod 3
        mov [ebp + 10], dx        ; 16-bit store
        mov si, [ebp + 2]         ; 16-bit load keeps ESI[31:16]
        mov word [ebp + 12], 0xBEEF
        mov dx, 0x1234            ; 66 B8+r
        mov bx, si                ; 66 89/8B mod 3
        add esi, edx
        rol esi, 7                ; ROL/ROR keep SF ZF AF PF of the ADD
        pushfd
        pop dword [edi + 64]
        ror edx, 1
        pushfd
        pop dword [edi + 68]
        sub ebx, esi
        ror ebx, 31
        pushfd
        pop dword [edi + 72]
        rol eax, 1
        pushfd
        pop dword [edi + 76]
        add edi, 80
        dec ecx
        jnz again
        hlt)";
    InterpretedMachine plain;
    CompiledMachine jit;
    ASSERT_EQ(plain.runFlat(program, 10'000'000).reason, StopReason::Halt);
    ASSERT_EQ(jit.runFlat(program, 10'000'000).reason, StopReason::Halt);
    for (unsigned r = 0; r < 8; ++r) EXPECT_EQ(jit.r(r), plain.r(r)) << "register " << r;
    EXPECT_EQ(jit.flags(), plain.flags());
    EXPECT_EQ(jit.cpu.instructionsRetired(), plain.cpu.instructionsRetired());
    for (std::uint32_t a = 0x20000; a < 0x20000 + 16; a += 4) EXPECT_EQ(jit.mem32(a), plain.mem32(a)) << a;
    for (std::uint32_t a = 0x40000; a < 0x40000 + 300 * 80; a += 4)
        ASSERT_EQ(jit.mem32(a), plain.mem32(a)) << "flag log at " << std::hex << a;
    EXPECT_GT(jit.cpu.blockStats().compiled, 0u);
}

// Calls, returns, frames and the carry/multiply/condition forms, compiled and
// interpreted: same registers, flags, memory and retired count.
TEST(CompiledBlocks, CallsFramesAndCarryChainsMatchTheInterpreter) {
    const char* program = R"(
        mov esp, 0x80000
        mov edi, 0x30000
        mov ecx, 200
    outer:
        push ecx
        push 10
        call fib                   ; recursion: CALL/RET/PUSH/POP/LEAVE
        add esp, 4
        push 6
        mov edx, fib
        call edx                   ; indirect through a register...
        add esp, 4
        push dword [seven]         ; ...and through memory; PUSH r/m
        call [fibptr]
        add esp, 4
        add [edi - 4], eax
        pop ecx
        mov [edi + ecx * 4], eax
        ; a 64-bit multiply-accumulate with a carry chain
        mov eax, ecx
        imul eax, eax, 0x9E3779B1
        imul edx, eax
        add ebx, eax
        adc esi, edx
        sub ebx, ecx
        sbb esi, 0
        cmp eax, edx
        cmovb eax, edx
        cmovl edx, [edi + ecx * 4]
        setz bl
        setg bh
        setbe byte [edi]
        xor ebp, eax
        dec ecx
        jnz outer
        hlt
    fib:                           ; fib(n) with a frame pointer
        push ebp
        mov ebp, esp
        push ebx
        mov eax, [ebp + 8]
        cmp eax, 2
        jl .done
        dec eax
        push eax
        call fib
        add esp, 4
        mov ebx, eax
        mov eax, [ebp + 8]
        sub eax, 2
        push eax
        call fib
        add esp, 4
        add eax, ebx
    .done:
        pop ebx
        leave
        ret
    fibptr: dd fib
    seven: dd 7)";
    InterpretedMachine plain;
    CompiledMachine jit;
    ASSERT_EQ(plain.runFlat(program, 10'000'000).reason, StopReason::Halt);
    ASSERT_EQ(jit.runFlat(program, 10'000'000).reason, StopReason::Halt);
    for (unsigned r = 0; r < 8; ++r) EXPECT_EQ(jit.r(r), plain.r(r)) << "register " << r;
    EXPECT_EQ(jit.flags(), plain.flags());
    EXPECT_EQ(jit.cpu.instructionsRetired(), plain.cpu.instructionsRetired());
    for (std::uint32_t a = 0x30000; a < 0x30000 + 804; a += 4) ASSERT_EQ(jit.mem32(a), plain.mem32(a)) << a;
    EXPECT_EQ(jit.mem32(0x30000 + 4), 13u);  // fib(7), the last call of each round
}

// Carry chains: ADC/SBB/SETB/SETAE right after ALU ops in register and memory forms,
// one of them always through its slow path (a dword across a page boundary), a
// read-modify-write, and a logic op's CF = 0; against the interpreter.
TEST(CompiledBlocks, CarryChainsThroughSlowPathsMatchTheInterpreter) {
    const char* program = R"(
        mov esi, 0x20FFE               ; [esi]: a dword across 0x21000
        mov dword [esi], 0x9ABCDEF0
        mov dword [0x20000], 0x80000001
        mov ecx, 3000
        xor edi, edi
        xor ebp, ebp
    again:
        mov eax, ecx
        imul eax, eax, 0x9E3779B1
        mov edx, eax
        add eax, [esi]                 ; slow path (page crossing), then ADC on its carry
        adc edi, edx
        add eax, [0x20000]             ; inline memory form
        adc edi, 0
        sub edx, eax                   ; register forms
        sbb ebp, ecx
        cmp edx, eax
        setb bl
        add bl, bh
        cmp eax, edx
        setae bh
        add [0x20000], eax             ; read-modify-write, then SBB
        sbb edi, ebx
        xor edx, edx                   ; logic: CF = 0
        adc edx, edx
        add edi, edx
        dec ecx
        jnz again
        hlt)";
    CompiledMachine m;
    InterpretedMachine plain;
    const RunResult r = m.runFlat(program, 10'000'000);
    const RunResult p = plain.runFlat(program, 10'000'000);
    ASSERT_EQ(r.reason, StopReason::Halt);
    ASSERT_EQ(p.reason, StopReason::Halt);
    expectSameCpu(m, plain);
    EXPECT_EQ(m.mem32(0x20000), plain.mem32(0x20000));
    EXPECT_GT(m.cpu.blockStats().compiled, 0u);
}

TEST(CompiledBlocks, AFullCodeArenaFlushesAndCarriesOn) {
    // Room for a couple of blocks only: the run keeps flushing blocks and code, and
    // must still compute what the interpreter computes.
    const char* program = R"(
        xor eax, eax
        mov ecx, 100
    again:
    %rep 40                        ; 40 small blocks, more than the arena holds
        add eax, ecx
        imul eax, eax, 3
        jmp $ + 2
    %endrep
        dec ecx
        jnz again
        hlt)";
    InterpretedMachine plain;
    Machine tiny;
    // The compiler wants 16 KiB free for any block: this arena holds a few small ones.
    tiny.cpu.setCompile(true, 0, (16 << 10) + 1024);
    ASSERT_EQ(plain.runFlat(program).reason, StopReason::Halt);
    ASSERT_EQ(tiny.runFlat(program).reason, StopReason::Halt);
    EXPECT_EQ(tiny.r(EAX), plain.r(EAX));
    EXPECT_EQ(tiny.cpu.instructionsRetired(), plain.cpu.instructionsRetired());
    EXPECT_GT(tiny.cpu.blockStats().flushes, 50u);
    EXPECT_GT(tiny.cpu.blockStats().compiled, 200u);
}

TEST(CompiledBlocks, StackFaultOnAnInlinePushIsPrecise) {
    // An expand-down SS whose lowest valid offset is 0x10010: the fifth push from
    // ESP 0x10020 leaves the segment, #SS(0), with ESP that of the faulting push.
    CompiledMachine m;
    m.cpu.setExceptionExit(true);
    const RunResult r = runWithSegment(m, R"(
        mov esp, 0x10020
    again:
        push eax
        jmp again)", SS, 0x7 /* data, expand-down, writable */, 0x1000F);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, 12);
    EXPECT_EQ(m.r(ESP), 0x10010u);
    EXPECT_EQ(m.cpu.instructionsRetired(), 1u + 2 * 4);  // MOV, then four PUSH/JMP
}

TEST(CompiledBlocks, DwordStoreIntoTheRunningBlockLeavesIt) {
    // The inline store finds no write tag for a code page, takes the slow path, and the
    // patched instruction later in the same block runs with its new immediate.
    CompiledMachine m;
    auto r = m.runFlat(R"(
        xor ebx, ebx
        mov ecx, 3
    again:
        mov eax, [patch]
        and eax, 0xFF00FFFF
        or eax, 0x00070000         ; imm8 of the ADD below = 7
        mov [patch], eax           ; inline store form (89 /r) hitting code
        add ebx, 1                 ; patch: 83 C3 ib
        nop
    patch equ $ - 4
        dec ecx
        jnz again
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.r(EBX), 21u);
    EXPECT_GT(m.cpu.blockStats().codePageWrites, 0u);
}

TEST(CompiledBlocks, PageFaultInsideACompiledBlockIsPrecise) {
    // Paging on; the loop's load walks into a not-present page. The #PF unwinds through
    // the compiled frame: EIP and ESP are the faulting instruction's, the instructions
    // before it retired, CR2 is the address.
    const std::string program = pagedIdentity2MiB() + R"(
        mov esi, 0x1FF000
        xor edx, edx
    walk:
        bswap esi                  ; handlers between inline forms
        bswap esi
        mov eax, [esi]             ; faults at 0x200000
        add edx, 1
        add esi, 0x800
        jmp walk)";
    CompiledMachine m;
    m.cpu.setExceptionExit(true);
    auto r = m.runFlat(program);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, 14);
    EXPECT_EQ(m.cpu.cr(2), 0x200000u);
    EXPECT_EQ(m.r(ESI), 0x200000u);
    EXPECT_EQ(m.r(EDX), 2u);                // two loads completed
    EXPECT_EQ(m.r(ESP), 0x80000u);
    std::uint8_t op[2] = {};
    ASSERT_TRUE(m.cpu.readLinear(m.cpu.eip(), op, 2));
    EXPECT_EQ(op[0], 0x8B);                 // EIP at the faulting MOV
    EXPECT_EQ(op[1], 0x06);

    // The same program interpreted retires the same number of instructions.
    InterpretedMachine plain(true);
    ASSERT_EQ(plain.runFlat(program).reason, StopReason::Exception);
    EXPECT_EQ(m.cpu.instructionsRetired(), plain.cpu.instructionsRetired());
}

// Flag liveness: an ALU result whose flags the next ALU op replaces is not stored, but
// one followed by an instruction that may fault is. The #PF here must see the flags of
// the SUB right before the faulting load (not those of an older op), and the flag-dead
// ADD/XOR pairs must still leave the right final flags and registers.
TEST(CompiledBlocks, FlagsStayExactAtAFaultBetweenDeadFlagWrites) {
    const std::string program = pagedIdentity2MiB() + R"(
        mov esi, 0x1FC000
        mov ebx, 0x7FFFFFF0
        xor edx, edx
    walk:
        add ebx, 0x10              ; flags dead: the XOR replaces them
        xor ecx, ebx
        lea edi, [ecx + 1]
        sub edx, 0x3FFFFFFF        ; flags live: the load may fault
        mov eax, [esi]             ; faults at 0x200000
        add ebx, eax               ; dead again (the INC keeps its CF: live CF only)
        inc ecx
        adc edi, 0
        add esi, 0x1000
        jmp walk)";
    CompiledMachine m;
    m.cpu.setExceptionExit(true);
    InterpretedMachine plain(true);
    auto r = m.runFlat(program);
    ASSERT_EQ(plain.runFlat(program).reason, StopReason::Exception);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, 14);
    EXPECT_EQ(m.cpu.cr(2), 0x200000u);
    expectSameCpu(m, plain);
    EXPECT_GT(m.cpu.blockStats().compiled, 0u);
}

TEST(CompiledBlocks, SegmentLimitOnTheInlinePathRaisesGp) {
    // DS with a 64 KiB limit: the inline window check must send the access to the
    // handler, which raises #GP(0), and ECX shows how far the loop got.
    CompiledMachine m;
    m.cpu.setExceptionExit(true);
    const RunResult r = runWithSegment(m, R"(
        mov ebx, 0xFFF0
        xor ecx, ecx
    next:
        mov eax, [ebx]
        inc ecx
        add ebx, 4
        jmp next)", DS, 0x3 /* data, writable */, 0xFFFF);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, 13);
    EXPECT_EQ(m.r(EBX), 0x10000u);  // FFF0, FFF4, FFF8, FFFC fit; 0x10000 does not
    EXPECT_EQ(m.r(ECX), 4u);
}

// A block compiled while a segment is flat tests that it still is on every access (the
// window check skipped, the base added only if it was not zero): a segment reloaded
// with another base, a limit, or read-only after the block was compiled is used exactly
// as the interpreter uses it.
TEST(CompiledBlocks, SegmentsFlatAtCompileTimeAreCheckedAtRunTime) {
    InterpretedMachine plain(true);
    CompiledMachine m;
    m.cpu.setExceptionExit(true);
    const auto withSegment = [](Machine& x, unsigned s, std::uint32_t base, std::uint32_t limit,
                                std::uint8_t type) {
        SegCache c = x.cpu.segment(s);
        c.base = base;
        c.limit = limit;
        c.type = type;
        c.derive();
        x.cpu.setSegment(s, c);
    };
    for (Machine* x : {static_cast<Machine*>(&m), static_cast<Machine*>(&plain)}) {
        x->load(0x1000, assemble(R"(
            xor ecx, ecx
            xor edx, edx
            mov ebx, 0x8000
        again:
            mov eax, [fs:0x100]        ; FS: flat with a base
            add edx, eax
            mov [fs:0x104], ecx
            mov eax, [ebx]             ; DS: flat, base 0
            mov [ebx], eax
            inc ecx
            add ebx, 4
            jmp again)"));
        for (std::uint32_t base : {0x0u, 0x2000u, 0x3000u}) {
            const std::uint32_t v = 1 + base / 0x1000;
            x->load(base + 0x100, {static_cast<std::uint8_t>(v), 0, 0, 0});
        }
        x->cpu.setFlat32(0x1000, 0x80000);
    }
    const auto slice = [&](const char* phase) {
        const RunResult a = m.cpu.run(4000), b = plain.cpu.run(4000);
        EXPECT_EQ(a.reason, b.reason) << phase;
        EXPECT_EQ(a.fault.vector, b.fault.vector) << phase;
        expectSameCpu(m, plain, phase);
        for (std::uint32_t at : {0x104u, 0x2104u, 0x3104u})
            EXPECT_EQ(m.mem32(at), plain.mem32(at)) << phase << ": at " << at;
        return a;
    };
    for (Machine* x : {static_cast<Machine*>(&m), static_cast<Machine*>(&plain)})
        withSegment(*x, FS, 0x2000, 0xFFFFFFFF, 0x3);
    EXPECT_EQ(slice("FS base 0x2000").reason, StopReason::SliceEnd);
    EXPECT_GT(m.cpu.blockStats().compiled, 0u);
    EXPECT_TRUE(m.r(EDX) > 0 && m.r(EDX) % 3 == 0) << "FS reads 3 at 0x2100: " << m.r(EDX);
    for (Machine* x : {static_cast<Machine*>(&m), static_cast<Machine*>(&plain)})
        withSegment(*x, FS, 0x3000, 0xFFFFFFFF, 0x3);
    EXPECT_EQ(slice("FS base 0x3000").reason, StopReason::SliceEnd);
    EXPECT_NE(m.mem32(0x3104), 0u) << "the store went through the new base";
    for (Machine* x : {static_cast<Machine*>(&m), static_cast<Machine*>(&plain)})
        withSegment(*x, FS, 0, 0xFFFFFFFF, 0x3);
    EXPECT_EQ(slice("FS base 0").reason, StopReason::SliceEnd);
    EXPECT_NE(m.mem32(0x104), 0u);
    // FS read-only: the store faults.
    for (Machine* x : {static_cast<Machine*>(&m), static_cast<Machine*>(&plain)})
        withSegment(*x, FS, 0, 0xFFFFFFFF, 0x1);
    const RunResult ro = slice("FS read-only");
    EXPECT_EQ(ro.reason, StopReason::Exception);
    EXPECT_EQ(ro.fault.vector, 13);
    // DS with a limit that the loop's EBX reaches: #GP at the same instruction.
    const std::uint32_t limit = m.r(EBX) + 0x3F;
    for (Machine* x : {static_cast<Machine*>(&m), static_cast<Machine*>(&plain)}) {
        withSegment(*x, FS, 0, 0xFFFFFFFF, 0x3);  // (on from the faulting store)
        withSegment(*x, DS, 0, limit, 0x3);
    }
    const RunResult lim = slice("DS limit");
    EXPECT_EQ(lim.reason, StopReason::Exception);
    EXPECT_EQ(lim.fault.vector, 13);
    EXPECT_EQ(m.r(EBX), limit + 1);
}

// The flat test is made once per straight run of inline code; a handler in the middle
// of the block (here MOV DS) may change any segment, so the next access tests again:
// #GP(0) where the interpreter raises it, not a read past the new limit.
TEST(CompiledBlocks, ASegmentLoadMidBlockIsSeenByTheNextAccess) {
    const char* program = R"(
        lgdt [gdtr]
        mov dx, 0x18               ; data, limit 0xFFFF
        mov ebx, 0x20000
        mov ecx, 3
    again:
        mov eax, [ebx]             ; DS flat: tested here
        add esi, eax
        mov ds, dx                 ; a handler mid-block
        mov eax, [ebx + 4]         ; beyond the new limit: #GP(0)
        add esi, eax
        jmp again
    gdtr: dw 31
          dd gdt
    gdt:  dq 0
          dq 0x00CF9B000000FFFF
          dq 0x00CF93000000FFFF
          dq 0x000093000000FFFF)";  // (accessed already: no store to this code page)
    InterpretedMachine plain(true);
    CompiledMachine m;
    m.cpu.setExceptionExit(true);
    for (Machine* x : {static_cast<Machine*>(&m), static_cast<Machine*>(&plain)}) {
        x->load(0x1000, assemble(program));
        x->load(0x20000, {1, 0, 0, 0, 2, 0, 0, 0});
        x->cpu.setFlat32(0x1000, 0x80000);
    }
    const RunResult a = m.cpu.run(100'000), b = plain.cpu.run(100'000);
    ASSERT_EQ(b.reason, StopReason::Exception);
    EXPECT_EQ(b.fault.vector, 13);
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.fault.vector, b.fault.vector);
    expectSameCpu(m, plain);
    EXPECT_EQ(m.r(ESI), 1u);  // the first read only
    EXPECT_GT(m.cpu.blockStats().compiled, 0u);
}

TEST(CompiledBlocks, UserModeUsesTheUserTlbTags) {
    // At CPL 3 the compiled loads must use the user tags: a supervisor-only page faults
    // with a user-mode error code even after the kernel touched it (kernel tag filled).
    CompiledMachine m;
    m.cpu.setExceptionExit(true);
    auto r = m.runFlat(identityMap2MiB(7, 7) + R"(  ; user, writable
        mov dword [0x11000 + 0x30 * 4], 0x30003   ; page 0x30000: supervisor only
        mov eax, 0x10000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        mov eax, [0x30000]         ; the kernel reads it: TLB holds a supervisor tag
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    // Now user code reads the same page in a loop.
    auto user = assemble(R"(
        xor ecx, ecx
    again:
        mov eax, [0x2F000 + ecx]
        add ecx, 0x400
        jmp again)", 32, 0x2000);
    m.load(0x2000, user);
    m.cpu.halted_ = false;
    m.cpu.setCpl(3);  // same TLB: the kernel's tag for 0x30000 is still there
    m.cpu.setEip(0x2000);
    r = m.cpu.run(1'000'000);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, 14);
    EXPECT_EQ(m.cpu.cr(2), 0x30000u);
    EXPECT_EQ(r.fault.code, 0x5u);  // present, read, user
}

// Direct jumps between compiled blocks of one page (Block::jumpAt): once linked, a jump
// goes to its target's code with no lookup. A write to the page must still break the
// link -- by the guest's own store inside the chain, and by a device writing RAM from an
// I/O handler in the middle of a block (no blockExit_ then: the block checks the page's
// generation after each handler).
TEST(CompiledBlocks, DirectLinksBreakWhenTheirTargetPageIsWritten) {
    const char* guestStore = R"(
        xor ebx, ebx
        mov ecx, 100
    again:
        cmp ecx, 50
        jne next                   ; direct, linked by now when ECX reaches 50
        mov byte [patch], 7        ; ECX = 50: the ADD below becomes ADD EBX, 7
        jmp next
    next:
        add ebx, 1                 ; 83 C3 ib
    patch equ $ - 1
        dec ecx
        jnz again
        hlt)";
    // The device writes 7 at the address the guest sends it (0: nothing).
    struct Patcher final : hw::IoDevice {
        explicit Patcher(hw::GuestMemory& m) : mem(m) {}
        std::uint32_t ioRead(std::uint16_t, unsigned) override { return 0; }
        void ioWrite(std::uint16_t, unsigned, std::uint32_t v) override {
            if (!v) return;
            const std::uint8_t seven = 7;
            mem.write(v, {&seven, 1});  // as DMA: GuestMemory::write notes the write
        }
        std::string_view name() const override { return "patcher"; }
        hw::GuestMemory& mem;
    };
    const char* deviceWrite = R"(
        xor ebx, ebx
        mov ecx, 100
    again:
        xor eax, eax
        mov edx, patch
        cmp ecx, 50
        cmove eax, edx             ; ECX = 50: the device patches the ADD below
        out 0xE0, eax              ; a handler in the middle of the block
        jmp next                   ; direct, linked before ECX reaches 50
    next:
        add ebx, 1
    patch equ $ - 1
        dec ecx
        jnz again
        hlt)";
    for (const char* program : {guestStore, deviceWrite}) {
        CompiledMachine m;
        Patcher dev(m.mem);
        m.io.attach(0xE0, 1, dev);
        ASSERT_EQ(m.runFlat(program).reason, StopReason::Halt);
        EXPECT_EQ(m.r(EBX), 50u * 1 + 50u * 7);
        EXPECT_GT(m.cpu.blockStats().links, 0u);
    }
}

// A chain of directly linked blocks still stops where runBlocks would: exactly at the
// instruction budget (check points, slices), for requestStop(), and for INTR with IF
// set -- not while IF is clear.
TEST(CompiledBlocks, DirectLinksHonourTheBudgetStopAndIntr) {
    class Vector20 final : public hw::InterruptAcknowledge {
    public:
        explicit Vector20(hw::CpuInterruptPins& p) : pins(p) {}
        std::uint8_t acknowledge() override {
            pins.intr = false;
            return 0x20;
        }
        hw::CpuInterruptPins& pins;
    };
    const char* program = R"(
        mov eax, handler           ; IDT at 0x5000, vector 0x20 -> handler
        mov word [0x5000 + 0x20*8], ax
        mov word [0x5000 + 0x20*8 + 2], 0x08
        mov word [0x5000 + 0x20*8 + 4], 0x8E00
        shr eax, 16
        mov word [0x5000 + 0x20*8 + 6], ax
        lidt [idtr]
        lgdt [gdtr]
        jmp start
    idtr: dw 0x7FF
          dd 0x5000
    gdtr: dw 23
          dd gdt
    gdt:  dq 0
          dq 0x00CF9A000000FFFF
          dq 0x00CF92000000FFFF
    handler:
        mov esi, 1
        iret
    start:
        xor esi, esi
        xor eax, eax
    spin:                          ; three blocks linked in a ring (IF = 0 for now)
        inc eax
        jmp b2
    b2: add eax, 2
        jmp b3
    b3: test esi, esi
        jz spin
        hlt)";
    CompiledMachine m;
    Vector20 pic(m.pins);
    m.pins.controller = &pic;
    m.load(0x1000, assemble(program));
    m.cpu.setFlat32(0x1000, 0x80000);
    // Slices end exactly at their budget, in and out of the linked ring.
    std::uint64_t expected = 0;
    for (std::uint64_t slice : {5000u, 1u, 1023u, 4097u, 7u, 100000u}) {
        ASSERT_EQ(m.cpu.run(slice).reason, StopReason::SliceEnd);
        expected += slice;
        ASSERT_EQ(m.cpu.instructionsRetired(), expected);
    }
    EXPECT_GE(m.cpu.blockStats().links, 3u);
    // requestStop from another thread ends the ring (a check point leaves the chain).
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        m.cpu.requestStop();
    });
    EXPECT_EQ(m.cpu.run(UINT64_MAX / 2).reason, StopReason::Stopped);
    stopper.join();
    // INTR with IF clear: ignored by the linked ring, which keeps running its slice.
    m.pins.intr = true;
    ASSERT_EQ(m.cpu.run(20000).reason, StopReason::SliceEnd);
    EXPECT_EQ(m.r(ESI), 0u);
    // With IF set, INTR raised while the ring runs is taken and ends it.
    m.pins.intr = false;
    m.cpu.setEflags(m.cpu.eflags() | fl::IF);
    std::thread raiser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        m.pins.intr = true;
    });
    const RunResult r = m.cpu.run(UINT64_MAX / 2);
    raiser.join();
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.r(ESI), 1u);
}

// A direct jump lands on the budget check alone: INTR (IF set) raised in the middle of a
// linked ring -- here by a device, from an I/O handler inside a block -- is taken at the
// latest at the next check point (Cpu::kCheckInterval instructions), not left pending.
TEST(CompiledBlocks, IntrRaisedInsideALinkedRingIsTakenWithinACheckInterval) {
    struct Raiser final : hw::IoDevice, hw::InterruptAcknowledge {
        Raiser(hw::CpuInterruptPins& p, Cpu& c) : pins(p), cpu(c) {}
        std::uint32_t ioRead(std::uint16_t, unsigned) override { return 0; }
        void ioWrite(std::uint16_t, unsigned, std::uint32_t v) override {
            if (v != 5000) return;
            pins.intr = true;
            raisedAt = cpu.instructionsRetired();  // exact inside a handler
        }
        std::uint8_t acknowledge() override {
            pins.intr = false;
            return 0x20;
        }
        std::string_view name() const override { return "raiser"; }
        hw::CpuInterruptPins& pins;
        Cpu& cpu;
        std::uint64_t raisedAt = 0;
    };
    const char* program = R"(
        mov eax, handler           ; IDT at 0x5000, vector 0x20 -> handler
        mov word [0x5000 + 0x20*8], ax
        mov word [0x5000 + 0x20*8 + 2], 0x08
        mov word [0x5000 + 0x20*8 + 4], 0x8E00
        shr eax, 16
        mov word [0x5000 + 0x20*8 + 6], ax
        lidt [idtr]
        lgdt [gdtr]
        sti
        jmp start
    idtr: dw 0x7FF
          dd 0x5000
    gdtr: dw 23
          dd gdt
    gdt:  dq 0
          dq 0x00CF9A000000FFFF
          dq 0x00CF92000000FFFF
    handler:
        hlt
    start:
        xor eax, eax
        xor ebx, ebx
    spin:                          ; three blocks linked in a ring, IF = 1
        inc eax
        out 0xE0, eax              ; the 5000th iteration raises INTR
        jmp b2
    b2: add ebx, 2
        jmp b3
    b3: add ebx, eax
        jmp spin)";
    CompiledMachine m;
    Raiser dev(m.pins, m.cpu);
    m.pins.controller = &dev;
    m.io.attach(0xE0, 1, dev);
    m.load(0x1000, assemble(program));
    m.cpu.setFlat32(0x1000, 0x80000);
    ASSERT_EQ(m.cpu.run(10'000'000).reason, StopReason::Halt);
    ASSERT_GT(dev.raisedAt, 0u);
    EXPECT_GE(m.r(EAX), 5000u);
    EXPECT_GT(m.cpu.blockStats().links, 0u);
    EXPECT_LE(m.cpu.instructionsRetired() - dev.raisedAt, Cpu::kCheckInterval + 8u);
}

// Direct jumps skip the CS-limit check: runBlocks runs compiled code only with a
// page-granular CS. A ring linked under a flat CS, then run with a byte-granular limit
// that its second block crosses: #GP(0) where the interpreter raises it (the direct
// jump alone would run that block whole).
TEST(CompiledBlocks, AByteGranularCsLimitInsideALinkedPageRaisesGpExactly) {
    InterpretedMachine plain;
    CompiledMachine m;
    for (Machine* x : {static_cast<Machine*>(&m), static_cast<Machine*>(&plain)}) {
        x->cpu.setExceptionExit(true);
        x->load(0x1000, assemble(R"(
            xor ecx, ecx
            xor edx, edx
        again:
            inc ecx
            jmp tail                   ; direct, linked in the first slice
            times 0x40 - ($ - $$) nop
        tail:
            inc edx                    ; 0x1040
            inc edx
            jmp again)"));
        x->cpu.setFlat32(0x1000, 0x80000);
        ASSERT_EQ(x->cpu.run(5002).reason, StopReason::SliceEnd);  // EIP = again
        SegCache cs = x->cpu.segment(CS);
        cs.limit = 0x1040;
        cs.derive();
        x->cpu.setSegment(CS, cs);
        const RunResult r = x->cpu.run(1'000'000);
        ASSERT_EQ(r.reason, StopReason::Exception);
        EXPECT_EQ(r.fault.vector, 13);
    }
    EXPECT_GT(m.cpu.blockStats().links, 0u);
    EXPECT_EQ(m.cpu.eip(), plain.cpu.eip());
    EXPECT_EQ(m.r(EDX), plain.r(EDX));
    EXPECT_EQ(m.r(ECX), plain.r(ECX));
    EXPECT_EQ(m.cpu.instructionsRetired(), plain.cpu.instructionsRetired());
}

// Guest registers cached in host registers (EAX ECX EDX EBX EBP) across blocks linked by
// direct jumps: a #PF in the middle of a block, after the cached registers changed in it
// and in the linked blocks before it, sees every register exactly as the interpreter.
TEST(CompiledBlocks, AFaultSeesTheCachedRegistersExactly) {
    const std::string program = pagedIdentity2MiB() + R"(
        mov esi, 0x1F0000
        mov ebx, 0x11111111
        xor ecx, ecx
        mov edx, 7
        mov edi, 0x30000
    walk:                          ; three blocks linked in a ring
        add ebx, 0x01010101
        imul edx, edx, 3
        inc ecx
        jmp w2
    w2: xor eax, ebx
        lea edx, [edx + ecx * 2]
        mov [edi + ecx * 4], eax
        jmp w3
    w3: add esi, 0x400
        sub eax, ecx
        mov ebx, [esi]             ; faults at 0x200000, EBX and ESI changed just before
        add ebx, eax
        jmp walk)";
    CompiledMachine m;
    m.cpu.setExceptionExit(true);
    InterpretedMachine plain(true);
    const RunResult r = m.runFlat(program);
    ASSERT_EQ(plain.runFlat(program).reason, StopReason::Exception);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, 14);
    EXPECT_EQ(m.cpu.cr(2), 0x200000u);
    EXPECT_EQ(m.r(ESI), 0x200000u);
    expectSameCpu(m, plain);
    EXPECT_GE(m.cpu.blockStats().links, 2u);
}

// Handlers in the middle of a compiled block (BSWAP, XCHG, CPUID-free ones: MOV AH and
// the other high-byte forms of a cached register, which the block leaves to the handler)
// read the registers the inline code before them wrote, and the inline code after them
// reads what they wrote; slices of any length end with the registers in Cpu::regs_.
TEST(CompiledBlocks, HandlersMidBlockSeeAndUpdateTheCachedRegisters) {
    const char* program = R"(
        mov esp, 0x80000
        mov ebp, 3000              ; (not cached)
        mov ecx, 3000
        mov eax, 0x12345678
        xor ebx, ebx
        mov edx, 1
        mov esi, 0x20000
        mov edi, 0x9abc
    again:
        add eax, ecx               ; inline, cached
        bswap eax                  ; handler: reads the new EAX, writes EAX
        add eax, 1                 ; inline: reads the handler's EAX
        mov ah, cl                 ; high byte of a cached register: the handler
        xchg ebx, edx              ; handler on two cached registers
        add bl, ah                 ; AH again, as an operand
        inc edx
        mov dh, al                 ; DH
        rol esi, 3
        ror esi, 3                 ; CF/OF via the rotateFlags helper (caller-saved hosts kept)
        push esi                   ; inline stack forms with cached registers
        pop edi
        movzx esi, bh              ; a handler (BH)
        add esi, 0x20000
        mov [esi], eax
        setc al                    ; low byte of a cached register: inline
        setl cl                    ; (SF/OF condition: a helper call)
        jg skip                    ; Jcc through the helper, both exits linked
        add edi, 5
    skip:
        mov cl, 0
        dec edi
        sub edx, ebx
        mov ecx, [esp - 4]         ; (the pushed ESI)
        and ecx, 0xFFF
        add ecx, 1
        dec ebp
        jnz again
        hlt)";
    InterpretedMachine plain;
    CompiledMachine jit;
    ASSERT_EQ(plain.runFlat(program, 10'000'000).reason, StopReason::Halt);
    jit.load(0x1000, assemble(program));
    jit.cpu.setFlat32(0x1000, 0x80000);
    // Slices of odd lengths: each ends with every register in Cpu::regs_.
    Machine step;
    step.cpu.setCompile(false);
    step.load(0x1000, assemble(program));
    step.cpu.setFlat32(0x1000, 0x80000);
    for (std::uint64_t slice : {1000u, 1u, 333u, 4097u, 7u, 12345u}) {
        ASSERT_EQ(jit.cpu.run(slice).reason, StopReason::SliceEnd);
        ASSERT_EQ(step.cpu.run(slice).reason, StopReason::SliceEnd);
        for (unsigned i = 0; i < 8; ++i) ASSERT_EQ(jit.r(i), step.r(i)) << "register " << i << ", slice " << slice;
        ASSERT_EQ(jit.cpu.eip(), step.cpu.eip());
    }
    ASSERT_EQ(jit.cpu.run(10'000'000).reason, StopReason::Halt);
    for (unsigned r = 0; r < 8; ++r) EXPECT_EQ(jit.r(r), plain.r(r)) << "register " << r;
    EXPECT_EQ(jit.flags(), plain.flags());
    EXPECT_EQ(jit.cpu.instructionsRetired(), plain.cpu.instructionsRetired());
    for (std::uint32_t a = 0x20000; a < 0x21000; a += 4) ASSERT_EQ(jit.mem32(a), plain.mem32(a)) << a;
    EXPECT_GT(jit.cpu.blockStats().compiled, 0u);
    EXPECT_GE(jit.cpu.blockStats().links, 1u);
}

// Shifts by CL and 16-bit shifts (counts 0..31, so 16-bit ones of 16 and more too), F7
// MUL/IMUL/DIV/IDIV/NEG/NOT/TEST and MOV moffs, compiled and interpreted: every op's
// flags are logged (PUSHFD after each), undefined ones included.
TEST(CompiledBlocks, ClShiftsGroup3AndMoffsMatchTheInterpreterFlagByFlag) {
    const char* program = R"(
        mov esp, 0x80000
        mov edi, 0x40000          ; flag log
        mov dword [0x30000], 200  ; rounds
        mov ebp, 0x20000
        mov dword [ebp + 4], 0x12345
        mov dword [ebp + 20], 0x1357
        xor ecx, ecx
        mov eax, 0x80FF7F01
        mov ebx, 0x00010203
        mov edx, 0xFEDCBA98
        mov esi, 0x91223344
    again:
        add ecx, 0x1D             ; CL takes every count mod 32, 0 included
        shl eax, cl
        pushfd
        pop dword [edi]
        shr edx, cl
        pushfd
        pop dword [edi + 4]
        sar esi, cl
        pushfd
        pop dword [edi + 8]
        shl bx, cl                ; 16 bits by CL, counts 16..31 included
        pushfd
        pop dword [edi + 12]
        shr si, cl
        pushfd
        pop dword [edi + 16]
        sar dx, cl
        pushfd
        pop dword [edi + 20]
        shl ax, 5
        pushfd
        pop dword [edi + 24]
        shr bx, 1
        pushfd
        pop dword [edi + 28]
        sar si, 17
        pushfd
        pop dword [edi + 32]
        shl dx, 16
        pushfd
        pop dword [edi + 36]
        add eax, 0x9E3779B9
        add ebx, ecx
        xor esi, eax
        xor edx, eax
        mul ebx                   ; EDX:EAX
        pushfd
        pop dword [edi + 40]
        mov [0x30010], eax        ; A3
        imul esi
        pushfd
        pop dword [edi + 44]
        imul dword [0x30010]      ; F7 /5 on memory
        pushfd
        pop dword [edi + 48]
        mul dword [ebp + 4]       ; F7 /4 on memory
        pushfd
        pop dword [edi + 52]
        neg edx
        pushfd
        pop dword [edi + 56]
        not ebx
        test esi, 0x40000001      ; F7 /0
        pushfd
        pop dword [edi + 60]
        test dword [0x30010], 0x80 ; F7 /0 on memory
        pushfd
        pop dword [edi + 64]
        mov [ebp + 8], edx
        mov eax, [0x30010]        ; A1
        mov [0x30014], bl         ; A2
        mov al, [0x30011]         ; A0
        mov [0x30016], si         ; 66 A3
        mov si, [0x30012]         ; 66 A1
        or ebx, 0x10001           ; a divisor that is never 0
        and edx, 0xFFFF           ; < the divisor: the quotient fits
        div ebx
        mov [ebp + 12], eax
        mov [ebp + 16], edx
        mov eax, [ebp + 8]
        cdq
        idiv ebx                  ; signed, fits (|EDX:EAX| < 2^31)
        add [ebp + 12], eax
        add [ebp + 16], edx
        mov eax, esi
        and eax, 0x7FFFFFFF
        cdq
        mov ebx, -1
        idiv ebx                  ; by -1: the handler
        xor edx, edx
        div dword [ebp + 20]      ; F7 /6 on memory
        mov ebx, eax
        add [ebp + 12], edx
        mov eax, [ebp + 16]
        cdq
        mov esi, -7
        idiv esi                  ; negative divisor
        sub ebx, eax
        add esi, edx
        add edi, 68
        dec dword [0x30000]
        jnz again
        hlt)";
    InterpretedMachine plain;
    CompiledMachine jit;
    ASSERT_EQ(plain.runFlat(program, 10'000'000).reason, StopReason::Halt);
    ASSERT_EQ(jit.runFlat(program, 10'000'000).reason, StopReason::Halt);
    for (unsigned r = 0; r < 8; ++r) EXPECT_EQ(jit.r(r), plain.r(r)) << "register " << r;
    EXPECT_EQ(jit.flags(), plain.flags());
    EXPECT_EQ(jit.cpu.instructionsRetired(), plain.cpu.instructionsRetired());
    for (std::uint32_t a = 0x20000; a < 0x20000 + 24; a += 4) EXPECT_EQ(jit.mem32(a), plain.mem32(a)) << a;
    for (std::uint32_t a = 0x30010; a < 0x30018; a += 4) EXPECT_EQ(jit.mem32(a), plain.mem32(a)) << a;
    for (std::uint32_t a = 0x40000; a < 0x40000 + 200 * 68; a += 4)
        ASSERT_EQ(jit.mem32(a), plain.mem32(a)) << "flag log at " << std::hex << a;
    EXPECT_GT(jit.cpu.blockStats().compiled, 0u);
}

// DIV and IDIV inline raise #DE exactly as the handler: a zero divisor, a quotient that
// does not fit, INT_MIN / -1; registers (cached ones too), flags, EIP and the retired
// count at the fault are the interpreter's.
TEST(CompiledBlocks, DivideErrorsInCompiledCodeArePrecise) {
    for (const char* fault : {"div ebx", "div dword [0x30000]", "idiv esi", "idiv dword [0x30000]",
                              "mov edx, 0x40000000\n idiv ebx"}) {
        const std::string program = fmt::format(R"(
        mov esp, 0x80000
        mov dword [0x30000], 0
        mov ecx, 2000
        mov ebx, 5000              ; never 0 in the loop
        mov esi, -1
    again:
        mov eax, ecx
        imul eax, eax, 77
        xor edx, edx
        div ebx
        add edi, eax
        mov eax, ecx
        cdq
        idiv ebx
        add edi, edx
        sub ebx, 1
        cmp ecx, 3
        jne next
        mov eax, 0x80000000        ; INT_MIN / -1, and a quotient too big for DIV
        mov edx, 0xFFFFFFFF
        mov ebx, 2
        {}
    next:
        dec ecx
        jnz again
        hlt)",
                                                fault);
        CompiledMachine m;
        m.cpu.setExceptionExit(true);
        InterpretedMachine plain(true);
        const RunResult r = m.runFlat(program);
        const RunResult p = plain.runFlat(program);
        ASSERT_EQ(p.reason, StopReason::Exception) << fault;
        ASSERT_EQ(r.reason, StopReason::Exception) << fault;
        EXPECT_EQ(r.fault.vector, 0) << fault;
        EXPECT_EQ(m.r(ECX), 3u) << fault;  // at the instruction under test
        EXPECT_EQ(p.fault.vector, 0) << fault;
        expectSameCpu(m, plain, fault);
        EXPECT_GT(m.cpu.blockStats().compiled, 0u);
    }
}

}  // namespace
}  // namespace cxvm::x86::test
