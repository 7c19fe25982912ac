// Translated blocks (docs/x86.md "Blocks"): decoded code must never outlive the bytes it
// came from, whoever writes them -- the CPU itself (self-modifying code, also inside the
// running block), a device through GuestMemory, or another process through a dataport.
#include "CpuTestSupport.h"

#include "hw/Clock.h"
#include "util/UniqueFd.h"

#include <sys/mman.h>
#include <unistd.h>

namespace cxvm::x86::test {

// A loop whose body is patched by the code it runs: the store changes the immediate of an
// instruction later in the same block, which must execute with the new value.
TEST(Blocks, SelfModifyingStoreInsideTheRunningBlock) {
    Machine m;
    auto r = m.runFlat(R"(
        xor ebx, ebx
        mov ecx, 3
    again:
        mov byte [patch + 2], 7    ; rewrites the imm8 of the ADD below (83 C3 ib)
        add ebx, 1                 ; patch
    patch equ $ - 3
        dec ecx
        jnz again
        hlt)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.r(EBX), 21u);  // 3 x 7: never the stale 1
}

TEST(Blocks, CodeRewrittenBetweenRunsIsRedecoded) {
    Machine m;
    ASSERT_EQ(m.runFlat("mov eax, 1\nhlt").reason, StopReason::Halt);
    EXPECT_EQ(m.r(EAX), 1u);
    // A device (or the loader) writes new code over the same page: GuestMemory::write.
    m.load(0x1000, assemble("mov eax, 2\nhlt"));
    m.cpu.reset();  // (leaves HLT)
    m.cpu.setFlat32(0x1000, 0x80000);
    ASSERT_EQ(m.cpu.run(100).reason, StopReason::Halt);
    EXPECT_EQ(m.r(EAX), 2u);
    // DMA through a span + noteWrite, the contract for devices.
    auto code = assemble("mov eax, 3\nhlt");
    std::memcpy(m.mem.span(0x1000, code.size()).data(), code.data(), code.size());
    m.mem.noteWrite(0x1000, code.size());
    m.cpu.reset();  // (leaves HLT)
    m.cpu.setFlat32(0x1000, 0x80000);
    ASSERT_EQ(m.cpu.run(100).reason, StopReason::Halt);
    EXPECT_EQ(m.r(EAX), 3u);
}

TEST(Blocks, StoresThroughAnAliasMappingInvalidateCode) {
    // The same physical page mapped twice (as user code and a kernel alias): a store
    // through the second mapping must reach the code run through the first.
    Machine m;
    auto r = m.runFlat(R"(
        ; page directory at 0x10000, one page table at 0x11000 mapping 0-4 MiB 1:1,
        ; plus linear 0x400000 -> physical 0x1000 (the code page) through a second table
        mov edi, 0x10000
        mov dword [edi], 0x11003
        mov dword [edi + 4], 0x12003
        mov edi, 0x11000
        mov eax, 3
        mov ecx, 1024
    fill:
        mov [edi], eax
        add eax, 0x1000
        add edi, 4
        loop fill
        mov dword [0x12000], 0x1003
        mov eax, 0x10000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        xor ebx, ebx
        mov esi, 2
    twice:
        call target
        mov byte [0x400000 + (imm - 0x1000)], 5   ; patch through the alias
        dec esi
        jnz twice
        hlt
    target:
        add ebx, 1
    imm equ $ - 1
        ret)");
    ASSERT_EQ(r.reason, StopReason::Halt);
    EXPECT_EQ(m.r(EBX), 6u);  // 1 + 5
}

TEST(Blocks, CodeInADataportIsNeverCached) {
    // A dataport page is written by other processes behind the CPU's back.
    Machine m;
    UniqueFd fd(::memfd_create("dp", MFD_CLOEXEC));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
    m.mem.overlay(0x40000, fd.get(), 4096, "dp");
    void* other = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    ASSERT_NE(other, MAP_FAILED);
    auto a = assemble("mov eax, 1\nhlt");
    std::memcpy(other, a.data(), a.size());
    m.cpu.reset();  // (leaves HLT)
    m.cpu.setFlat32(0x40000, 0x80000);
    ASSERT_EQ(m.cpu.run(100).reason, StopReason::Halt);
    EXPECT_EQ(m.r(EAX), 1u);
    auto b = assemble("mov eax, 9\nhlt");
    std::memcpy(other, b.data(), b.size());  // no noteWrite: another process did it
    m.cpu.reset();  // (leaves HLT)
    m.cpu.setFlat32(0x40000, 0x80000);
    ASSERT_EQ(m.cpu.run(100).reason, StopReason::Halt);
    EXPECT_EQ(m.r(EAX), 9u);
    ::munmap(other, 4096);
}

class FixedClock final : public hw::Clock {
public:
    [[nodiscard]] std::uint64_t nowNs() const override { return 0; }
};

TEST(Cpuid, HypervisorLeavesAndTscRate) {
    hw::GuestMemory mem{16u << 20};
    hw::IoBus io;
    hw::MmioBus mmio;
    hw::CpuInterruptPins pins;
    FixedClock clock;
    Cpu cpu{CpuBus{mem, io, mmio, pins, &clock}};
    mem.write(0x1000, assemble(R"(
        xor eax, eax
        cpuid
        mov [0x2000], eax
        mov eax, 0x15
        cpuid
        mov [0x2004], eax
        mov [0x2008], ebx
        mov [0x200c], ecx
        mov eax, 0x40000000
        cpuid
        mov [0x2010], eax
        mov [0x2014], ebx
        mov [0x2018], ecx
        mov [0x201c], edx
        mov eax, 0x40000001
        cpuid
        mov [0x2020], eax
        hlt)"));
    cpu.setFlat32(0x1000, 0x80000);
    ASSERT_EQ(cpu.run(1000).reason, StopReason::Halt);
    auto at = [&](std::uint32_t gpa) {
        std::uint32_t v;
        std::memcpy(&v, mem.span(gpa, 4).data(), 4);
        return v;
    };
    EXPECT_EQ(at(0x2000), 0x15u);
    EXPECT_EQ(std::uint64_t{at(0x200c)} * at(0x2008) / at(0x2004), 1'000'000'000u);  // 1 GHz
    EXPECT_EQ(at(0x2010), 0x40000001u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(mem.span(0x2014, 12).data()), 12),
              "cxvmCXVMcxvm");  // guest/include/cxvm/hypercall_abi.h, same as kvm
    EXPECT_EQ(at(0x2020), 1u);  // CXVM_FEATURE_VMCALL
}

}  // namespace cxvm::x86::test
