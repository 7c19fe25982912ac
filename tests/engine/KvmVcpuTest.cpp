// The kvm engine on tiny hand-assembled guests. Runs on any /dev/kvm (the host's slow
// PVM KVM too: these guests are a few dozen instructions) and inside the nested L1.
#include "KvmTestMachine.h"

#include "engine/HypercallGate.h"
#include "engine/KvmCpuid.h"
#include "engine/KvmVcpu.h"
#include "util/Error.h"

#include <linux/kvm_para.h>
#include <sys/mman.h>

#include <chrono>
#include <thread>

namespace cxvm::engine::test {
namespace {

using namespace std::chrono_literals;

TEST(KvmVcpu, ProtectedModeLoopRunsToHalt) {
    REQUIRE_KVM();
    KvmTestMachine m;
    // mov ecx, 100 ; 1: dec ecx ; jnz 1b ; mov eax, 0x1234 ; hlt
    m.load(kCode, {0xB9, 100, 0, 0, 0, 0x49, 0x75, 0xFD, 0xB8, 0x34, 0x12, 0, 0, 0xF4});
    m.protectedMode();
    Exit e = m.vcpu->run(0);
    ASSERT_EQ(e.reason, ExitReason::Halt);
    Regs r = m.vcpu->regs();
    EXPECT_EQ(r.rcx, 0u);
    EXPECT_EQ(r.rax, 0x1234u);
    EXPECT_EQ(r.rip, kCode + 14);  // after the HLT
}

TEST(KvmVcpu, PortIoGoesToTheIoBus) {
    REQUIRE_KVM();
    KvmTestMachine m;
    RecordingPort dev;
    dev.readValue = 0xBEEF;
    m.io->attach(0x510, 2, dev);
    // mov dx, 0x510 ; mov al, 0x42 ; out dx, al ; inc dx ; mov eax, 0x11223344 ;
    // out dx, eax ; dec dx ; in ax, dx ; hlt
    m.load(kCode, {0x66, 0xBA, 0x10, 0x05, 0xB0, 0x42, 0xEE, 0x42, 0xB8, 0x44, 0x33, 0x22, 0x11,
                   0xEF, 0x4A, 0x66, 0xED, 0xF4});
    m.protectedMode();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    ASSERT_EQ(dev.writes.size(), 2u);
    EXPECT_EQ(dev.writes[0].port, 0x510);
    EXPECT_EQ(dev.writes[0].size, 1u);
    EXPECT_EQ(dev.writes[0].value, 0x42u);
    EXPECT_EQ(dev.writes[1].port, 0x511);
    EXPECT_EQ(dev.writes[1].size, 4u);
    EXPECT_EQ(dev.writes[1].value, 0x11223344u);
    EXPECT_EQ(dev.reads, 1u);
    EXPECT_EQ(m.vcpu->regs().rax & 0xFFFF, 0xBEEFu);
    EXPECT_GE(static_cast<KvmVcpu&>(*m.vcpu).exitCount(), 3u);
}

TEST(KvmVcpu, RepOutsbDeliversEveryByteInOrder) {
    REQUIRE_KVM();
    KvmTestMachine m;
    RecordingPort dev;
    m.io->attach(0x3F8, 1, dev);
    m.load(0x2000, {'h', 'e', 'l', 'l', 'o'});
    // mov esi, 0x2000 ; mov ecx, 5 ; mov dx, 0x3f8 ; rep outsb ; hlt
    m.load(kCode, {0xBE, 0x00, 0x20, 0, 0, 0xB9, 5, 0, 0, 0, 0x66, 0xBA, 0xF8, 0x03, 0xF3, 0x6E, 0xF4});
    m.protectedMode();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    std::string got;
    for (auto& w : dev.writes) got += static_cast<char>(w.value);
    EXPECT_EQ(got, "hello");
}

struct RecordingMmio final : hw::MmioDevice {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> writes;
    std::uint64_t mmioRead(std::uint64_t offset, unsigned) override { return 0xA0A0A0A0u + offset; }
    void mmioWrite(std::uint64_t offset, unsigned, std::uint64_t value) override {
        writes.emplace_back(offset, value);
    }
    std::string_view name() const override { return "test-mmio"; }
};

TEST(KvmVcpu, MmioGoesToTheMmioBus) {
    REQUIRE_KVM();
    KvmTestMachine m;
    RecordingMmio dev;
    m.mmio->attach(0xD0000000, 0x1000, dev);
    // mov dword [0xD0000008], 0xCAFEBABE ; mov eax, [0xD0000004] ; hlt
    m.load(kCode, {0xC7, 0x05, 0x08, 0, 0, 0xD0, 0xBE, 0xBA, 0xFE, 0xCA, 0xA1, 0x04, 0, 0, 0xD0, 0xF4});
    m.protectedMode();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    ASSERT_EQ(dev.writes.size(), 1u);
    EXPECT_EQ(dev.writes[0].first, 8u);
    EXPECT_EQ(dev.writes[0].second, 0xCAFEBABEu);
    EXPECT_EQ(m.vcpu->regs().rax, 0xA0A0A0A4u);
}

TEST(KvmVcpu, HypercallGateRoundTrip) {
    REQUIRE_KVM();
    KvmTestMachine m;
    // mov eax, 7 ; mov ebx, 1 ; mov ecx, 2 ; mov edx, 3 ; mov esi, 4 ;
    // out 0xE0, eax ; mov edi, eax ; hlt
    m.load(kCode, {0xB8, 7, 0, 0, 0, 0xBB, 1, 0, 0, 0, 0xB9, 2, 0, 0, 0, 0xBA, 3, 0, 0, 0,
                   0xBE, 4, 0, 0, 0, 0xE7, kHypercallPort, 0x89, 0xC7, 0xF4});
    m.protectedMode();
    Exit e = m.vcpu->run(0);
    ASSERT_EQ(e.reason, ExitReason::Hypercall);
    EXPECT_EQ(e.hypercall.token, 7u);
    EXPECT_EQ(e.hypercall.arg0, 1u);
    EXPECT_EQ(e.hypercall.arg1, 2u);
    EXPECT_EQ(e.hypercall.arg2, 3u);
    EXPECT_EQ(e.hypercall.arg3, 4u);
    m.vcpu->completeHypercall(0x55AA);
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    Regs r = m.vcpu->regs();
    EXPECT_EQ(r.rdi, 0x55AAu);  // the guest saw the result in EAX
    EXPECT_EQ(r.rdx, 3u);       // EDX is an argument, not the port
    EXPECT_EQ(r.rip, kCode + 30);
    EXPECT_THROW(m.vcpu->completeHypercall(1), cxvm::Error);  // nothing pending any more
}

TEST(KvmVcpu, CpuidAdvertisesThePortGate) {
    REQUIRE_KVM();
    KvmTestMachine m;
    // mov eax, 0x40000000 ; cpuid ; mov [0x3000], ebx ; mov [0x3004], ecx ; mov [0x3008], edx ;
    // mov [0x300c], eax ; mov eax, 0x40000001 ; cpuid ; mov [0x3010], eax ; mov [0x3014], ebx ;
    // mov eax, 1 ; cpuid ; mov [0x3018], ecx ; mov eax, 0x80000001 ; cpuid ; mov [0x301c], ecx ; hlt
    m.load(kCode, {0xB8, 0, 0, 0, 0x40, 0x0F, 0xA2,
                   0x89, 0x1D, 0x00, 0x30, 0, 0, 0x89, 0x0D, 0x04, 0x30, 0, 0,
                   0x89, 0x15, 0x08, 0x30, 0, 0, 0xA3, 0x0C, 0x30, 0, 0,
                   0xB8, 1, 0, 0, 0x40, 0x0F, 0xA2, 0xA3, 0x10, 0x30, 0, 0, 0x89, 0x1D, 0x14, 0x30, 0, 0,
                   0xB8, 1, 0, 0, 0, 0x0F, 0xA2, 0x89, 0x0D, 0x18, 0x30, 0, 0,
                   0xB8, 1, 0, 0, 0x80, 0x0F, 0xA2, 0x89, 0x0D, 0x1C, 0x30, 0, 0, 0xF4});
    m.protectedMode();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    std::uint32_t v[8];
    m.memory->read(0x3000, {reinterpret_cast<std::uint8_t*>(v), sizeof v});
    char sig[13] = {};
    std::memcpy(sig, v, 12);
    EXPECT_STREQ(sig, "cxvmCXVMcxvm");
    EXPECT_EQ(v[3], kCpuidFeatures);
    EXPECT_EQ(v[4] & kFeaturePortGate, kFeaturePortGate);
    EXPECT_EQ(v[5], kHypercallPort);
    EXPECT_NE(v[6] & (1u << 31), 0u);  // hypervisor present
    EXPECT_EQ(v[6] & (1u << 5), 0u);   // no VMX offered
    EXPECT_EQ(v[6] & (1u << 3), 0u);   // no MONITOR/MWAIT
    EXPECT_EQ(v[7] & (1u << 2), 0u);   // no SVM offered
}

// Without the in-kernel irqchip there is no local APIC: CPUID must not claim one (KVM
// would, from its reset APIC base MSR). kvmclock is offered at 0x40000100 where KVM
// supports it.
TEST(KvmVcpu, CpuidHasNoApicWithTheUserspacePicAndOffersKvmClock) {
    REQUIRE_KVM();
    KvmTestMachine m;
    // mov eax, 1 ; cpuid ; mov [0x3020], edx ;
    // mov eax, 0x40000100 ; cpuid ; mov [0x3024], ebx ; mov [0x3028], ecx ; mov [0x302c], edx ;
    // mov [0x3030], eax ; mov eax, 0x40000101 ; cpuid ; mov [0x3034], eax ; hlt
    m.load(kCode, {0xB8, 1, 0, 0, 0, 0x0F, 0xA2, 0x89, 0x15, 0x20, 0x30, 0, 0,
                   0xB8, 0x00, 0x01, 0, 0x40, 0x0F, 0xA2, 0x89, 0x1D, 0x24, 0x30, 0, 0,
                   0x89, 0x0D, 0x28, 0x30, 0, 0, 0x89, 0x15, 0x2C, 0x30, 0, 0, 0xA3, 0x30, 0x30, 0, 0,
                   0xB8, 0x01, 0x01, 0, 0x40, 0x0F, 0xA2, 0xA3, 0x34, 0x30, 0, 0, 0xF4});
    m.protectedMode();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    std::uint32_t v[6];
    m.memory->read(0x3020, {reinterpret_cast<std::uint8_t*>(v), sizeof v});
    EXPECT_EQ(v[0] & (1u << 9), 0u) << "CPUID.1:EDX.APIC set without a local APIC";
    bool kvmHasClock = false;
    for (const auto& e : m.engine->system().supportedCpuid())
        if (e.function == KVM_CPUID_FEATURES && (e.eax & (1u << KVM_FEATURE_CLOCKSOURCE2))) kvmHasClock = true;
    if (!kvmHasClock) GTEST_SKIP() << "this KVM offers no kvmclock";
    char sig[13] = {};
    std::memcpy(sig, &v[1], 12);
    EXPECT_EQ(std::string(sig, 12), std::string("KVMKVMKVM\0\0\0", 12));
    EXPECT_EQ(v[4], kKvmParavirtCpuidBase + 1);
    EXPECT_NE(v[5] & (1u << KVM_FEATURE_CLOCKSOURCE2), 0u);
    EXPECT_NE(v[5] & (1u << KVM_FEATURE_NOP_IO_DELAY), 0u);
    EXPECT_EQ(v[5] & (1u << KVM_FEATURE_PV_EOI), 0u);  // needs an in-kernel APIC
}

TEST(KvmVcpu, TripleFaultIsShutdown) {
    REQUIRE_KVM();
    KvmTestMachine m;
    // lidt [0x2000] (limit 0) ; ud2   -> #UD, #DF, triple fault
    m.load(0x2000, {0, 0, 0, 0, 0, 0});
    m.load(kCode, {0x0F, 0x01, 0x1D, 0x00, 0x20, 0, 0, 0x0F, 0x0B});
    m.protectedMode();
    Exit e = m.vcpu->run(0);
    ASSERT_EQ(e.reason, ExitReason::Shutdown);
    EXPECT_NE(e.detail.find("triple fault"), std::string::npos) << e.detail;
}

TEST(KvmVcpu, RequestStopFromAnotherThread) {
    REQUIRE_KVM();
    KvmTestMachine m;
    m.load(kCode, {0xEB, 0xFE});  // jmp $
    m.protectedMode();
    m.vcpu->requestStop();  // before run(): the next run() returns at once
    EXPECT_EQ(m.vcpu->run(0).reason, ExitReason::Stopped);
    std::jthread stopper([&] {
        std::this_thread::sleep_for(50ms);
        m.vcpu->requestStop();
    });
    const auto t0 = std::chrono::steady_clock::now();
    Exit e = m.vcpu->run(0);
    stopper.join();
    EXPECT_EQ(e.reason, ExitReason::Stopped);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_EQ(m.vcpu->regs().rip, kCode);
}

TEST(KvmVcpu, TimeSliceEndsAGuestThatNeverExits) {
    REQUIRE_KVM();
    KvmTestMachine m;
    m.load(kCode, {0xEB, 0xFE});  // jmp $
    m.protectedMode();
    m.vcpu->setTimeSlice(20ms);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(m.vcpu->run(0).reason, ExitReason::SliceEnd);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
    EXPECT_EQ(m.vcpu->run(0).reason, ExitReason::SliceEnd);  // the timer re-arms
}

// A userspace interrupt controller as the devices' 8259 pair drives the pins.
struct OneShotController final : hw::InterruptAcknowledge {
    hw::CpuInterruptPins& pins;
    std::uint8_t vector;
    unsigned acks = 0;
    OneShotController(hw::CpuInterruptPins& p, std::uint8_t v) : pins(p), vector(v) {}
    std::uint8_t acknowledge() override {
        ++acks;
        pins.intr = false;
        return vector;
    }
};

// The handlers below end in HLT or a hypercall rather than IRET: a paravirtual KVM (as
// on the CI hosts) cannot emulate a 32-bit IRET, while delivery itself is what is tested.
// The interrupt frame on the stack proves where the guest was interrupted.
TEST(KvmVcpu, UserspaceControllerInterruptIsInjectedWhenTheGuestCanTakeIt) {
    REQUIRE_KVM();
    KvmTestMachine m;
    RecordingPort dev;
    m.io->attach(0x511, 1, dev);
    OneShotController pic(m.pins, 0x30);
    m.pins.controller = &pic;
    m.interruptGate(0x30, 0x1800);
    // handler at 0x1800: mov al, 1 ; mov dx, 0x511 ; out dx, al ; hlt
    m.load(0x1800, {0xB0, 0x01, 0x66, 0xBA, 0x11, 0x05, 0xEE, 0xF4});
    // main: cli ; mov al, 2 ; mov dx, 0x511 ; out dx, al ; sti ; hlt ; jmp $
    m.load(kCode, {0xFA, 0xB0, 0x02, 0x66, 0xBA, 0x11, 0x05, 0xEE, 0xFB, 0xF4, 0xEB, 0xFE});
    m.protectedMode();
    m.pins.intr = true;  // raised while the guest has IF=0: must wait for STI
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    ASSERT_EQ(dev.writes.size(), 2u);
    EXPECT_EQ(dev.writes[0].value, 2u);  // main ran first, IF=0 held the interrupt back
    EXPECT_EQ(dev.writes[1].value, 1u);  // then the handler for vector 0x30
    EXPECT_EQ(pic.acks, 1u);
    // Interrupt frame: EIP, CS, EFLAGS. STI's shadow lets HLT start, so the return
    // address is just after HLT, or the HLT itself if delivery came before it.
    std::uint32_t frame[3];
    m.memory->read(m.vcpu->regs().rsp, {reinterpret_cast<std::uint8_t*>(frame), sizeof frame});
    EXPECT_TRUE(frame[0] == kCode + 9 || frame[0] == kCode + 10) << std::hex << frame[0];
    EXPECT_EQ(frame[1], 0x08u);
    EXPECT_NE(frame[2] & 0x200, 0u);  // IF was set when interrupted
}

TEST(KvmVcpu, InKernelIrqchipDeliversALineRaisedByTheVmm) {
    REQUIRE_IN_KERNEL_IRQCHIP();
    const KvmOptions opt = inKernelIrqchip();
    KvmTestMachine m(opt);
    RecordingPort dev;
    m.io->attach(0x511, 1, dev);
    m.interruptGate(0x21, 0x1800);  // IRQ1 with the master PIC at vector base 0x20
    // handler: mov dx, 0x511 ; out dx, al ; mov al, 0x20 ; out 0x20, al (EOI) ;
    //          mov eax, 9 ; out 0xE0, eax (hypercall: back to the test)
    m.load(0x1800, {0x66, 0xBA, 0x11, 0x05, 0xEE, 0xB0, 0x20, 0xE6, 0x20, 0xB8, 9, 0, 0, 0, 0xE7,
                    kHypercallPort, 0xF4});
    // Program the kernel's 8259 (ICW1 0x11, ICW2 0x20, ICW3 0x04, ICW4 0x01, mask all but
    // IRQ1), then: sti ; hlt ; jmp $  (HLT blocks in the kernel until the IRQ)
    m.load(kCode, {0xB0, 0x11, 0xE6, 0x20, 0xB0, 0x20, 0xE6, 0x21, 0xB0, 0x04, 0xE6, 0x21,
                   0xB0, 0x01, 0xE6, 0x21, 0xB0, 0xFD, 0xE6, 0x21, 0xFB, 0xF4, 0xEB, 0xFE});
    m.protectedMode();
    hw::IrqSink* sink = m.engine->inKernelIrqSink();
    ASSERT_NE(sink, nullptr);
    m.vcpu->setTimeSlice(10s);  // a bound should delivery fail
    Exit e;
    {
        std::jthread raiser([&] {
            std::this_thread::sleep_for(100ms);
            sink->setIrqLevel(1, true);
            sink->setIrqLevel(1, false);
        });
        e = m.vcpu->run(0);
    }
    ASSERT_EQ(e.reason, ExitReason::Hypercall);
    EXPECT_EQ(e.hypercall.token, 9u);
    EXPECT_EQ(dev.writes.size(), 1u);  // the handler's port write; PIC ports stayed in the kernel
    std::uint32_t eip;
    m.memory->read(m.vcpu->regs().rsp, {reinterpret_cast<std::uint8_t*>(&eip), 4});
    EXPECT_EQ(eip, kCode + 22);  // interrupted in the HLT, resumes after it
}

// With the in-kernel irqchip HLT blocks inside KVM_RUN: `cli; hlt` (power-off without
// ACPI) must still come back as Halt once a slice ends, while `sti; hlt` stays a wait for
// an interrupt (SliceEnd).
TEST(KvmVcpu, InKernelIrqchipReportsCliHltAsHalt) {
    REQUIRE_IN_KERNEL_IRQCHIP();
    const KvmOptions opt = inKernelIrqchip();
    {
        KvmTestMachine m(opt);
        m.load(kCode, {0xFB, 0xF4, 0xEB, 0xFE});  // sti ; hlt ; jmp $
        m.protectedMode();
        m.vcpu->setTimeSlice(20ms);
        EXPECT_EQ(m.vcpu->run(0).reason, ExitReason::SliceEnd);
    }
    KvmTestMachine m(opt);
    m.load(kCode, {0xFA, 0xF4, 0xEB, 0xFE});  // cli ; hlt ; jmp $
    m.protectedMode();
    m.vcpu->setTimeSlice(20ms);
    EXPECT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    EXPECT_EQ(m.vcpu->regs().rip, kCode + 2);
}

TEST(KvmVcpu, MemorySlotsFollowNewRomAndRejectRomWrites) {
    REQUIRE_KVM();
    KvmTestMachine m;
    std::vector<std::uint8_t> rom(4096, 0);
    rom[0] = 0x78;
    rom[1] = 0x56;
    rom[2] = 0x34;
    rom[3] = 0x12;
    m.memory->addRom(0xC0000000, rom, "test-rom");  // after the engine exists
    // mov dword [0xC0000000], 0 ; mov eax, [0xC0000000] ; hlt
    m.load(kCode, {0xC7, 0x05, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0xA1, 0, 0, 0, 0xC0, 0xF4});
    m.protectedMode();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    EXPECT_EQ(m.vcpu->regs().rax, 0x12345678u);
}

TEST(KvmVcpu, DataportOverlayIsTheSamePagesForTheGuest) {
    REQUIRE_KVM();
    KvmTestMachine m;
    UniqueFd fd(::memfd_create("test-dataport", MFD_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
    Mapping peer = Mapping::map(4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get());
    peer.data()[0] = 0x11;
    m.memory->overlay(0x40000, fd.get(), 4096, "dataport");
    // mov eax, [0x40000] ; mov dword [0x40004], 0xFEEDF00D ; hlt
    m.load(kCode, {0xA1, 0, 0, 4, 0, 0xC7, 0x05, 4, 0, 4, 0, 0x0D, 0xF0, 0xED, 0xFE, 0xF4});
    m.protectedMode();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    EXPECT_EQ(m.vcpu->regs().rax & 0xFF, 0x11u);
    std::uint32_t seen;
    std::memcpy(&seen, peer.data() + 4, 4);
    EXPECT_EQ(seen, 0xFEEDF00Du);  // the component process sees the guest's write
}

TEST(KvmVcpu, ResetStartsAtTheResetVectorInRealMode) {
    REQUIRE_KVM();
    KvmTestMachine m;
    std::vector<std::uint8_t> rom(65536, 0xF4);  // hlt everywhere
    // at 0xFFF0: mov ax, 0x55 (real mode, 16-bit) ; hlt
    rom[0xFFF0] = 0xB8;
    rom[0xFFF1] = 0x55;
    rom[0xFFF2] = 0x00;
    rom[0xFFF3] = 0xF4;
    m.memory->addRom(0xFFFF0000, rom, "bios");
    m.protectedMode();
    m.vcpu->reset();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    Regs r = m.vcpu->regs();
    EXPECT_EQ(r.rax & 0xFFFF, 0x55u);
    EXPECT_EQ(r.rip, 0xFFF4u);
    EXPECT_EQ(m.vcpu->sregs().cs.selector, 0xF000);
}

}  // namespace
}  // namespace cxvm::engine::test
