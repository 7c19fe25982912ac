// Strings, control flow, interrupts through the pins, hypercalls, stop requests, the
// retired-instruction clock, MSRs/CPUID and SYSENTER/SYSEXIT.
#include "CpuTestSupport.h"

#include <thread>

namespace cxvm::x86::test {
namespace {

TEST(Strings, RepMovsStosScasCmpsWithOverride) {
    Machine m;
    auto r = m.runFlat(R"(
        mov edi, 0x3000
        mov ecx, 16
        mov eax, 0x11223344
        cld
        rep stosd                  ; 64 bytes at 0x3000
        mov byte [0x3020], 0x99
        mov esi, 0x3000
        mov edi, 0x4000
        mov ecx, 64
        rep fs movsb               ; FS override on the source (flat)
        mov edi, 0x4000
        mov al, 0x99
        mov ecx, 64
        repne scasb                ; stops after the 0x99 at offset 0x20
        mov ebx, ecx
        mov esi, 0x3000
        mov edi, 0x4000
        mov ecx, 64
        repe cmpsb                 ; all equal: ECX runs out
        setz dl
        std
        mov esi, 0x3003
        lodsb
        cld
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.mem32(0x403C), 0x11223344u);
    EXPECT_EQ(m.r(EBX), 64u - 0x21);
    EXPECT_EQ(m.r(ECX), 0u);
    EXPECT_EQ(m.r(EDX) & 0xFF, 1u);
    EXPECT_EQ(m.r(EAX) & 0xFF, 0x11u);
    EXPECT_EQ(m.r(ESI), 0x3002u);
}

TEST(Flow, CallRetEnterLeaveLoopPushPop) {
    Machine m;
    auto r = m.runFlat(R"(
        mov ecx, 5
        xor eax, eax
    .l: add eax, ecx
        loop .l                    ; 15
        push eax
        call f
        pop edx
        pushad
        mov eax, 0
        popad
        hlt
    f:  enter 8, 0
        mov dword [ebp-4], 7
        mov ebx, [ebp-4]
        leave
        ret)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.r(EAX), 15u);
    EXPECT_EQ(m.r(EDX), 15u);
    EXPECT_EQ(m.r(EBX), 7u);
    EXPECT_EQ(m.r(ESP), 0x80000u);
}

TEST(Flow, HypercallExitsWithRegistersAndResumes) {
    Machine m;
    auto r = m.runFlat("mov eax, 4\nmov ebx, 1\nmov ecx, 2\nmov edx, 3\nmov esi, 5\nvmcall\nmov edi, eax\nvmmcall\nhlt");
    ASSERT_EQ(r.reason, StopReason::Hypercall);
    EXPECT_EQ(m.r(EAX), 4u);
    EXPECT_EQ(m.r(ESI), 5u);
    EXPECT_EQ(m.cpu.eip(), 0x1000u + 5 * 5 + 3);  // past VMCALL
    m.cpu.completeHypercall(0x77);
    r = m.cpu.run(100);
    ASSERT_EQ(r.reason, StopReason::Hypercall);
    EXPECT_EQ(m.r(EDI), 0x77u);
    EXPECT_EQ(m.cpu.run(100).reason, StopReason::Halt);
}

class FixedVector final : public hw::InterruptAcknowledge {
public:
    explicit FixedVector(hw::CpuInterruptPins& p) : pins(p) {}
    std::uint8_t acknowledge() override {
        ++acks;
        pins.intr = false;
        return 0x20;
    }
    hw::CpuInterruptPins& pins;
    int acks = 0;
};

// Flat IDT at 0x5000 with vector 0x20 -> handler that counts in EBP.
const char* kIdtSetup = R"(
        mov eax, handler
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
        inc ebp
        iret
    start:
)";

TEST(Interrupts, IntrIsAcknowledgedAndDeliveredWhenIfIsSet) {
    Machine m;
    FixedVector pic(m.pins);
    m.pins.controller = &pic;
    m.pins.intr = true;
    auto r = m.runFlat(std::string(kIdtSetup) + R"(
        xor ebp, ebp
        nop
        nop
        sti
        nop                        ; STI shadow: delivered after this one
        mov ebx, ebp
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(pic.acks, 1);
    EXPECT_EQ(m.r(EBP), 1u);
    EXPECT_EQ(m.r(EBX), 1u);
}

// INTR raised by another thread while compiled blocks chain from one to the next: the
// interrupt is delivered and the loop that waits for it ends.
TEST(Interrupts, IntrStopsAChainOfCompiledBlocks) {
    Machine m;
    m.cpu.setCompile(true, 0);
    FixedVector pic(m.pins);
    m.pins.controller = &pic;
    std::thread t([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        m.pins.intr = true;
    });
    auto r = m.runFlat(std::string(kIdtSetup) + R"(
        xor ebp, ebp
        sti
    spin:
        add eax, 1
        jmp next
    next:
        test ebp, ebp
        jz spin
        hlt)",
                       UINT64_MAX / 2);
    t.join();
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(pic.acks, 1);
    EXPECT_EQ(m.r(EBP), 1u);
    EXPECT_GT(m.cpu.blockStats().compiled, 1u);
}

TEST(Interrupts, HltWaitsAndWakesOnIntr) {
    Machine m;
    FixedVector pic(m.pins);
    m.pins.controller = &pic;
    auto r = m.runFlat(std::string(kIdtSetup) + "xor ebp, ebp\nsti\nhlt\nmov ebx, 0x55\nhlt");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_TRUE(m.cpu.halted());
    EXPECT_EQ(m.cpu.run(100).reason, StopReason::Halt);  // still nothing pending
    m.pins.intr = true;
    r = m.cpu.run(100);
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.r(EBP), 1u);
    EXPECT_EQ(m.r(EBX), 0x55u);
}

class CountingPort final : public hw::IoDevice {
public:
    explicit CountingPort(const Cpu& c) : cpu(c) {}
    std::uint32_t ioRead(std::uint16_t, unsigned) override { return 0; }
    void ioWrite(std::uint16_t, unsigned, std::uint32_t) override {
        seen.push_back(cpu.instructionsRetired());
    }
    std::string_view name() const override { return "counting"; }
    const Cpu& cpu;
    std::vector<std::uint64_t> seen;
};

TEST(Clock, InstructionsRetiredIsExactInsideIoHandlers) {
    Machine m;
    CountingPort port(m.cpu);
    m.io.attach(0x99, 1, port);
    auto r = m.runFlat("out 0x99, al\nnop\nnop\nout 0x99, al\nhlt");
    ASSERT_EQ(r.reason, StopReason::Halt);
    ASSERT_EQ(port.seen.size(), 2u);
    EXPECT_EQ(port.seen[0], 0u);  // instructions before the OUT
    EXPECT_EQ(port.seen[1], 3u);
    EXPECT_EQ(m.cpu.instructionsRetired(), 5u);
}

TEST(Clock, BudgetEndsSliceExactly) {
    Machine m;
    auto r = m.runFlat("l: inc eax\njmp l", 1000);
    EXPECT_EQ(r.reason, StopReason::SliceEnd);
    EXPECT_EQ(m.cpu.instructionsRetired(), 1000u);
    EXPECT_EQ(m.r(EAX), 500u);
}

TEST(Stop, RequestStopFromAnotherThread) {
    Machine m;
    m.load(0x1000, assemble("l: jmp l"));
    m.cpu.setFlat32(0x1000, 0x80000);
    std::thread t([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        m.cpu.requestStop();
    });
    auto r = m.cpu.run(UINT64_MAX / 2);
    t.join();
    EXPECT_EQ(r.reason, StopReason::Stopped);
}

TEST(System, CpuidMsrsAndUnknownMsrFaults) {
    Machine m;
    m.cpu.setExceptionExit(true);
    auto r = m.runFlat(R"(
        xor eax, eax
        cpuid
        mov [0x2000], ebx
        mov [0x2004], edx
        mov [0x2008], ecx
        mov eax, 1
        cpuid
        mov [0x2010], edx
        mov ecx, 0x175
        mov eax, 0x12345678
        xor edx, edx
        wrmsr
        xor eax, eax
        rdmsr
        mov [0x2014], eax
        mov ecx, 0xC0000080        ; EFER: not on this CPU
        rdmsr
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, vec::GP);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.mem.span(0x2000, 12).data()), 12),
              "GenuineIntel");
    const std::uint32_t features = m.mem32(0x2010);
    // FPU PSE TSC MSR CX8 SEP PGE CMOV CLFSH MMX FXSR SSE SSE2 (SseTest.cpp checks the rest)
    for (unsigned bit : {0u, 3u, 4u, 5u, 8u, 11u, 13u, 15u, 19u, 23u, 24u, 25u, 26u})
        EXPECT_TRUE(features & (1u << bit)) << bit;
    for (unsigned bit : {6u, 9u, 12u}) EXPECT_FALSE(features & (1u << bit)) << bit;  // PAE APIC MTRR
    EXPECT_EQ(m.mem32(0x2014), 0x12345678u);
}

TEST(System, PortIoFromRing3NeedsIoplOrBitmap) {
    Machine m;
    m.cpu.setExceptionExit(true);
    m.load(0x1000, assemble("in al, 0x80\nhlt"));
    m.cpu.setFlat32(0x1000, 0x80000, 3);
    auto r = m.cpu.run(10);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, vec::GP);
    EXPECT_EQ(r.fault.code, 0u);
    m.cpu.setEflags(0x3002);  // IOPL 3
    r = m.cpu.run(10);
    EXPECT_EQ(r.reason, StopReason::Exception);  // HLT at CPL 3: #GP
    EXPECT_EQ(m.cpu.eip(), 0x1002u);
}

TEST(System, SysenterSysexitRoundTrip) {
    Machine m;
    auto r = m.runFlat(R"(
        mov ecx, 0x174
        mov eax, 0x08
        xor edx, edx
        wrmsr
        mov ecx, 0x175
        mov eax, 0x70000
        wrmsr
        mov ecx, 0x176
        mov eax, kernel
        wrmsr
        mov ecx, 0x60000          ; user ESP
        mov edx, user             ; user EIP
        sysexit
    user:
        mov ebx, cs
        sysenter
    kernel:
        mov esi, cs
        mov edi, esp
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.r(EBX), 0x1Bu);  // SYSENTER_CS + 16, RPL 3
    EXPECT_EQ(m.r(ESI), 0x08u);
    EXPECT_EQ(m.r(EDI), 0x70000u);
}

TEST(Paging, UserWriteToSupervisorPageErrorCodeAndCr2) {
    Machine m;
    m.cpu.setExceptionExit(true);
    // Page directory at 0x10000, identity PT at 0x11000 (user RW) but page 0x5000 supervisor.
    for (std::uint32_t i = 0; i < 1024; ++i) {
        std::uint32_t pte = (i << 12) | 7;
        if (i == 5) pte = (i << 12) | 3;
        m.mem.write(0x11000 + 4 * i, {reinterpret_cast<std::uint8_t*>(&pte), 4});
    }
    std::uint32_t pde = 0x11000 | 7;
    m.mem.write(0x10000, {reinterpret_cast<std::uint8_t*>(&pde), 4});
    m.load(0x1000, assemble("mov dword [0x5008], 1\nhlt"));
    m.cpu.setFlat32(0x1000, 0x80000, 3);
    m.cpu.setCr(3, 0x10000);
    m.cpu.setCr(0, m.cpu.cr(0) | cr0::PG);
    auto r = m.cpu.run(10);
    ASSERT_EQ(r.reason, StopReason::Exception);
    EXPECT_EQ(r.fault.vector, vec::PF);
    EXPECT_EQ(r.fault.code, 7u);  // present | write | user
    EXPECT_EQ(m.cpu.cr(2), 0x5008u);
}

}  // namespace
}  // namespace cxvm::x86::test

namespace cxvm::x86::test {
namespace {

TEST(Strings, BulkRepStosAndMovsAcrossPagesAndOverlap) {
    Machine m;
    auto r = m.runFlat(R"(
        mov edi, 0x20F00           ; crosses into the next page
        mov ecx, 0x300
        mov eax, 0xA5A5A5A5
        rep stosd
        mov esi, 0x20F00
        mov edi, 0x30F04
        mov ecx, 0xC00
        rep movsb
        mov byte [0x40000], 0x7E   ; overlapping forward copy replicates the byte
        mov esi, 0x40000
        mov edi, 0x40001
        mov ecx, 15
        rep movsb
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.mem32(0x20F00 + 0xBFC), 0xA5A5A5A5u);
    EXPECT_EQ(m.mem32(0x20F00 + 0xC00), 0u);
    EXPECT_EQ(m.mem32(0x30F04 + 0xBFC), 0xA5A5A5A5u);
    EXPECT_EQ(m.mem32(0x30F04 + 0xC00), 0u);
    EXPECT_EQ(m.r(EDI), 0x40010u);
    EXPECT_EQ(m.mem32(0x4000C), 0x7E7E7E7Eu);
    EXPECT_EQ(m.r(ECX), 0u);
}

}  // namespace
}  // namespace cxvm::x86::test
