// Cross-VM connectors driven by real (tiny, real-mode) guests on the interp engine and
// the PC board: hostile hypercalls leave the VM running; 100,000 EMITs coalesce in the
// eventfd with a flat heap; consumed events arrive as IRQ 12 through the 8259, one at a
// time, including from a native thread while the guest idles in HLT.
#include "RealModeGuest.h"
#include "util/Error.h"
#include "vmm/crossvm/CrossVm.h"

#include <gtest/gtest.h>

#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

namespace cxvm::vmm {
namespace {

using testing::assemble16;
using testing::kGuestMacros;
using testing::kPicIrq12Setup;
using testing::read32;
using testing::realModeConfig;
using testing::startRealMode;

UniqueFd newEventfd(int flags = 0) { return UniqueFd(::eventfd(0, EFD_CLOEXEC | flags)); }

UniqueFd newMemfd(std::uint64_t size) {
    UniqueFd fd(::memfd_create("test-dataport", MFD_CLOEXEC));
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    return fd;
}

// Stops a run that hangs (the test then fails on its expectations instead of timing out).
class Watchdog {
public:
    explicit Watchdog(std::chrono::seconds limit)
        : thread_([this, limit] {
              const auto end = std::chrono::steady_clock::now() + limit;
              while (!done_.load() && std::chrono::steady_clock::now() < end)
                  std::this_thread::sleep_for(std::chrono::milliseconds(10));
              if (!done_.load()) Vm::requestStopFromSignal(SIGALRM);
          }) {}
    ~Watchdog() {
        done_.store(true);
        thread_.join();
    }

private:
    std::atomic<bool> done_{false};
    std::thread thread_;
};

TEST(CrossVmGuest, HostileHypercallsGetErrorsAndTheGuestRunsOn) {
    Vm vm(realModeConfig(1'000'000));
    UniqueFd mfd = newMemfd(0x2000), efd = newEventfd(EFD_NONBLOCK);
    CrossVmConfig cfg;
    cfg.dataports = {{1, "vm0.data (conn, t.camkes:1:1)", 0x2000, mfd.get()}};
    cfg.emits = {{1, "vm0.ready", efd.get()}};
    CrossVm cross(vm, cfg);
    // Each HC stores EAX at [di]; di += 4.
    const std::string src = std::string(kGuestMacros) + R"(
%macro T 5
    HC %1, %2, %3, %4, %5
    mov [di], eax
    add di, 4
%endmacro
    xor ax, ax
    mov ds, ax
    mov di, 0x5000
    T 1, 1, 0, 0x10000, 0x2000          ; id 0
    T 1, 1, 5, 0x10000, 0x2000          ; unknown id
    T 1, 1, 1, 0x10000, 0x1000          ; wrong size
    T 1, 1, 1, 0x10010, 0x2000          ; unaligned
    T 1, 1, 1, 0x00400000, 0x2000       ; past RAM (4 MiB)
    T 1, 1, 1, 0xFFFFF000, 0x2000       ; wraps
    T 1, 1, 1, 0x10000, 0x2000          ; ok
    T 1, 1, 1, 0x20000, 0x2000          ; shared twice
    T 2, 1, 0x003FFFFC, 0, 0            ; INIT straddles the end of RAM
    T 2, 1, 0x00500000, 0, 0            ; INIT outside RAM
    T 2, 1, 0x10000, 0, 0               ; INIT inside the dataport
    T 2, 2, 0, 0, 0                     ; ACK, nothing in flight
    T 3, 1, 0, 0, 0                     ; EMIT id 0
    T 3, 1, 9, 0, 0                     ; EMIT unknown id
    T 3, 1, 1, 0, 0                     ; EMIT ok
    T 77, 1, 2, 3, 4                    ; unknown token
    T 2, 9, 0, 0, 0                     ; unknown command
    mov ax, 0x1000                      ; real mode: 0x10000 is 1000:0000
    mov es, ax
    mov dword [es:0], 0x0D15EA5E        ; the guest's side of the dataport
    EXIT 0x2A
)";
    startRealMode(vm, assemble16(src));
    ::testing::internal::CaptureStderr();
    GuestStop s = vm.run();
    const std::string log = ::testing::internal::GetCapturedStderr();
    ASSERT_EQ(s.kind, StopKind::DebugExit) << s.detail << log;
    EXPECT_EQ(s.exitStatus, (0x2A << 1) | 1);
    const std::int32_t want[] = {CXVM_CROSSVM_ENOENT,   CXVM_CROSSVM_ENOENT, CXVM_CROSSVM_EMSGSIZE,
                                 CXVM_CROSSVM_EINVAL,   CXVM_CROSSVM_EFAULT, CXVM_CROSSVM_EFAULT,
                                 CXVM_CROSSVM_OK,       CXVM_CROSSVM_EEXIST, CXVM_CROSSVM_EFAULT,
                                 CXVM_CROSSVM_EFAULT,   CXVM_CROSSVM_EBUSY,  CXVM_CROSSVM_ENOMSG,
                                 CXVM_CROSSVM_ENOENT,   CXVM_CROSSVM_ENOENT, CXVM_CROSSVM_OK,
                                 static_cast<std::int32_t>(CXVM_HYPERCALL_ENOSYS),
                                 CXVM_CROSSVM_EOPNOTSUPP};
    for (std::size_t i = 0; i < std::size(want); ++i)
        EXPECT_EQ(static_cast<std::int32_t>(read32(vm.memory(), 0x5000 + 4 * i)), want[i]) << "call " << i;
    std::uint32_t native = 0;
    ASSERT_EQ(::pread(mfd.get(), &native, 4, 0), 4);
    EXPECT_EQ(native, 0x0D15EA5Eu);
    std::uint64_t emits = 0;
    ASSERT_EQ(::read(efd.get(), &emits, 8), 8);
    EXPECT_EQ(emits, 1u);
    EXPECT_NE(log.find("vm0.data (conn, t.camkes:1:1)"), std::string::npos) << log;
    EXPECT_NE(log.find("unknown token 77"), std::string::npos) << log;
}

TEST(CrossVmGuest, HundredThousandEmitsCoalesceWithAFlatHeap) {
    Vm vm(realModeConfig());
    UniqueFd efd = newEventfd(EFD_NONBLOCK);
    CrossVmConfig cfg;
    cfg.emits = {{1, "vm0.tick", efd.get()}};
    CrossVm cross(vm, cfg);
    std::size_t heapAtMark = 0, heapAtEnd = 0;
    vm.hypercalls().registerUser(4, "mark", [&](const engine::HypercallArgs&) {
        heapAtMark = mallinfo2().uordblks;
        return 0u;
    });
    vm.hypercalls().registerUser(5, "end", [&](const engine::HypercallArgs&) {
        heapAtEnd = mallinfo2().uordblks;
        return 0u;
    });
    const std::string src = std::string(kGuestMacros) + R"(
%macro EMITS 1
    mov ebp, %1
%%loop:
    HC 3, 1, 1, 0, 0
    test eax, eax
    jnz fail
    dec ebp
    jnz %%loop
%endmacro
    EMITS 1000                 ; warm up (first-use allocations happen here)
    HC 4, 0, 0, 0, 0
    EMITS 100000
    HC 5, 0, 0, 0, 0
    EXIT 1
fail:
    EXIT 2
)";
    startRealMode(vm, assemble16(src));
    Watchdog dog(std::chrono::seconds(120));
    GuestStop s = vm.run();
    ASSERT_EQ(s.kind, StopKind::DebugExit) << s.detail;
    EXPECT_EQ(s.exitStatus, 3);  // EXIT 1: the loop ended and no EMIT failed
    std::uint64_t count = 0;
    ASSERT_EQ(::read(efd.get(), &count, 8), 8);
    EXPECT_EQ(count, 101'000u);  // one counter, read once
    EXPECT_EQ(cross.connectors().events().emitted(), 101'000u);
    // 100,000 round trips through the VM loop allocated nothing that stayed.
    EXPECT_LT(heapAtEnd > heapAtMark ? heapAtEnd - heapAtMark : 0, 4096u)
        << "heap " << heapAtMark << " -> " << heapAtEnd;
}

// The guest: IRQ 12 handler logs each event id at 0x5100 + 4*n (n at [0x5000]) and ACKs.
const char* kIrqHandler = R"(
irq12:
    push eax
    push ebx
    push ecx
    push edx
    push esi
    push di
    mov eax, [0x6000]           ; the event page's id
    mov di, [0x5000]
    shl di, 2
    mov [0x5100 + di], eax
    inc word [0x5000]
    HC 2, 2, 0, 0, 0            ; ACK
    mov [0x5004], eax           ; last ACK result
    mov al, 0x20
    out 0xA0, al                ; EOI slave, then master
    out 0x20, al
    pop di
    pop esi
    pop edx
    pop ecx
    pop ebx
    pop eax
    iret
)";

TEST(CrossVmGuest, LatchedEventsArriveAsIrq12OneAfterTheOther) {
    Vm vm(realModeConfig(5'000'000));
    UniqueFd c1 = newEventfd(), c2 = newEventfd(), c3 = newEventfd();
    CrossVmConfig cfg;
    cfg.consumes = {{1, "vm0.a", c1.get()}, {2, "vm0.b", c2.get()}, {3, "vm0.c", c3.get()}};
    CrossVm cross(vm, cfg);
    // Before the guest runs (so before INIT): id 1 three times, id 2 once, id 3 once.
    const std::uint64_t one = 1;
    for (int i = 0; i < 3; ++i) ASSERT_EQ(::write(c1.get(), &one, 8), 8);
    ASSERT_EQ(::write(c2.get(), &one, 8), 8);
    ASSERT_EQ(::write(c3.get(), &one, 8), 8);
    // Let the waiter thread latch them (it does so within microseconds).
    for (int i = 0; i < 1000; ++i) {
        pollfd p[3] = {{c1.get(), POLLIN, 0}, {c2.get(), POLLIN, 0}, {c3.get(), POLLIN, 0}};
        if (::poll(p, 3, 0) == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const std::string src = std::string(kGuestMacros) + R"(
    cli
    xor ax, ax
    mov ds, ax
    mov dword [0x5000], 0
)" + kPicIrq12Setup + R"(
    HC 2, 1, 0x6000, 0, 0       ; INIT: the latched events start arriving
    mov [0x5008], eax
.wait:
    cli
    cmp word [0x5000], 3
    jae .done
    sti
    hlt                         ; sti; hlt: no wake-up is lost in between
    jmp .wait
.done:
    mov eax, [0x6004]
    mov [0x500C], eax           ; the magic
    EXIT 5
)" + kIrqHandler;
    startRealMode(vm, assemble16(src));
    GuestStop s = vm.run();
    ASSERT_EQ(s.kind, StopKind::DebugExit) << s.detail;
    EXPECT_EQ(s.exitStatus, 11);
    EXPECT_EQ(read32(vm.memory(), 0x5008), 0u);   // INIT ok
    EXPECT_EQ(read32(vm.memory(), 0x500C), 42u);  // magic
    EXPECT_EQ(read32(vm.memory(), 0x5000), 3u);   // three deliveries: id 1's three coalesced
    EXPECT_EQ(read32(vm.memory(), 0x5100), 1u);
    EXPECT_EQ(read32(vm.memory(), 0x5104), 2u);
    EXPECT_EQ(read32(vm.memory(), 0x5108), 3u);
    EXPECT_EQ(read32(vm.memory(), 0x5004), 0u);   // the last ACK succeeded
    EXPECT_EQ(read32(vm.memory(), 0x6000), 0u);   // and cleared the id
    EXPECT_EQ(cross.connectors().events().delivered(), 3u);
}

TEST(CrossVmGuest, NativeThreadPingPongsWithAHaltedGuest) {
    Vm vm(realModeConfig());
    UniqueFd toNative = newEventfd(), toGuest = newEventfd(), stop = newEventfd();
    CrossVmConfig cfg;
    cfg.emits = {{1, "vm0.ping", toNative.get()}};
    cfg.consumes = {{1, "vm0.pong", toGuest.get()}, {2, "vm0.stop", stop.get()}};
    CrossVm cross(vm, cfg);
    constexpr int kRounds = 200;
    std::atomic<int> rounds{0};
    std::thread native([&] {
        const std::uint64_t one = 1;
        for (int i = 0; i < kRounds; ++i) {
            pollfd p{toNative.get(), POLLIN, 0};
            if (::poll(&p, 1, 20'000) != 1) return;
            std::uint64_t v;
            if (::read(toNative.get(), &v, 8) != 8) return;
            rounds.fetch_add(1);
            if (::write(toGuest.get(), &one, 8) != 8) return;
        }
        pollfd p{toNative.get(), POLLIN, 0};
        if (::poll(&p, 1, 20'000) != 1) return;
        [[maybe_unused]] ssize_t n = ::write(stop.get(), &one, 8);
    });
    // Emits, sleeps in HLT until the IRQ, and again; event id 2 ends it.
    const std::string src = std::string(kGuestMacros) + R"(
    cli
    xor ax, ax
    mov ds, ax
    mov dword [0x5000], 0
)" + kPicIrq12Setup + R"(
    HC 2, 1, 0x6000, 0, 0       ; INIT
    xor si, si                  ; events seen so far
.emit:
    push si
    HC 3, 1, 1, 0, 0            ; EMIT ping
    pop si
.wait:
    cli
    cmp [0x5000], si
    jne .got
    sti
    hlt
    jmp .wait
.got:
    inc si
    mov di, si
    dec di
    shl di, 2
    cmp dword [0x5100 + di], 2  ; the stop event
    jne .emit
    EXIT 7
)" + kIrqHandler;
    startRealMode(vm, assemble16(src));
    GuestStop s;
    {
        Watchdog dog(std::chrono::seconds(60));
        const auto t0 = std::chrono::steady_clock::now();
        s = vm.run();
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - t0).count();
        RecordProperty("microseconds_per_round_trip", static_cast<int>(us / kRounds));
        // The guest sleeps in HLT with no timer: without the kick each round would wait
        // out the loop's longest idle wait (100 ms), 20 s in all.
        EXPECT_LT(us, 5'000'000) << us / kRounds << " us per round trip";
    }
    native.join();
    ASSERT_EQ(s.kind, StopKind::DebugExit) << s.detail;
    EXPECT_EQ(s.exitStatus, 15);
    EXPECT_EQ(rounds.load(), kRounds);
    EXPECT_EQ(read32(vm.memory(), 0x5000), static_cast<std::uint32_t>(kRounds + 1));
    for (int i = 0; i < kRounds; ++i) ASSERT_EQ(read32(vm.memory(), 0x5100 + 4 * i), 1u) << i;
}

TEST(CrossVmGuest, IrqLineIsWiredOrWithTheI8042) {
    Vm vm(realModeConfig(1000));
    UniqueFd c1 = newEventfd();
    CrossVmConfig cfg;
    cfg.consumes = {{1, "vm0.a", c1.get()}};
    CrossVm cross(vm, cfg);
    auto& io = vm.io();
    io.write(0x4D1, 1, 0x10);  // ELCR: IRQ 12 level-triggered, so IRR follows the line
    auto irq12Requested = [&] {
        io.write(0xA0, 1, 0x0A);  // OCW3: read IRR
        return (io.read(0xA0, 1) & 0x10) != 0;
    };
    // The i8042 raises its AUX IRQ for a byte in its output buffer (AUX loopback, command
    // 0xD3, with AUX interrupts enabled) and lowers it when the byte is read.
    auto auxByte = [&] {
        io.write(0x64, 1, 0xD3);
        io.write(0x60, 1, 0x5A);
    };
    io.write(0x64, 1, 0x60);  // command byte: AUX interrupts on
    io.write(0x60, 1, 0x47);
    auxByte();
    EXPECT_TRUE(irq12Requested());
    (void)io.read(0x60, 1);
    EXPECT_FALSE(irq12Requested());  // the i8042 alone drives and releases the line

    auto& ev = cross.connectors().events();
    ASSERT_EQ(cross.connectors().hypercall({2, 1, 0x6000, 0, 0}), 0u);  // INIT
    auxByte();                     // the i8042 raises first...
    ev.latch(0);
    ev.deliverPending();           // ...then an event arrives
    EXPECT_EQ(ev.inFlight(), 1u);
    (void)io.read(0x60, 1);        // the i8042 lowers its source...
    EXPECT_TRUE(irq12Requested()); // ...but the event still holds IRQ 12
    ASSERT_EQ(cross.connectors().hypercall({2, 2, 0, 0, 0}), 0u);  // ACK
    EXPECT_FALSE(irq12Requested());
}

TEST(CrossVmGuest, ConnectorTokensAreTakenOnceAndFreedWithTheCrossVm) {
    Vm vm(realModeConfig(1000));
    {
        CrossVm a(vm, {});
        EXPECT_TRUE(vm.hypercalls().has(1));
        EXPECT_THROW(CrossVm second(vm, {}), Error);
        EXPECT_TRUE(vm.hypercalls().has(3));  // the failed second one took nothing away
    }
    EXPECT_FALSE(vm.hypercalls().has(1));
    EXPECT_FALSE(vm.hypercalls().has(2));
    CrossVm again(vm, {});
    EXPECT_TRUE(vm.hypercalls().has(2));
}

// ---- register-level user handlers (the reference's vmcall_handler) ----

TEST(UserRegsHandler, ChangesRegistersAndResumes) {
    Vm vm(realModeConfig(100'000));
    std::uint32_t seenEbx = 0, seenEdi = 0;
    vm.hypercalls().registerUserRegs(4, "poke", [&](engine::Regs& r) {
        seenEbx = static_cast<std::uint32_t>(r.rbx);
        seenEdi = static_cast<std::uint32_t>(r.rdi);
        r.rbx = r.rbx * 2;  // 21 -> 42
        r.rbp = 0x1234;
        r.rax = 0x77;
        r.rsp = 0;  // not the handler's: put back
        return 0;
    });
    const std::string src = std::string(kGuestMacros) + R"(
    mov edi, 0xABCD
    HC 4, 21, 0, 0, 0
    cmp eax, 0x77
    jne bad
    cmp bp, 0x1234
    jne bad
    push ax                      ; the stack still works: ESP was put back
    pop ax
    mov al, bl
    mov dx, 0x501
    out dx, al
    hlt
bad:
    EXIT 0x7F
)";
    startRealMode(vm, assemble16(src));
    GuestStop s = vm.run();
    ASSERT_EQ(s.kind, StopKind::DebugExit) << s.detail;
    EXPECT_EQ(s.exitStatus, (42 << 1) | 1);
    EXPECT_EQ(seenEbx, 21u);
    EXPECT_EQ(seenEdi, 0xABCDu);
}

TEST(UserRegsHandler, NonZeroResultStopsTheVmNamingTokenHandlerAndEip) {
    Vm vm(realModeConfig(100'000));
    vm.hypercalls().registerUserRegs(6, "fussy_handler", [](engine::Regs&) { return 1; });
    const std::string src = std::string(kGuestMacros) + R"(
    HC 6, 0, 0, 0, 0
    EXIT 1
)";
    startRealMode(vm, assemble16(src));
    GuestStop s = vm.run();
    EXPECT_EQ(s.kind, StopKind::HandlerFailed);
    EXPECT_EQ(s.exitStatus, 1);
    EXPECT_NE(s.detail.find("hypercall 6"), std::string::npos) << s.detail;
    EXPECT_NE(s.detail.find("fussy_handler"), std::string::npos) << s.detail;
    // HC is 5 movs (6 bytes each with the 0x66 prefix) + vmcall (3): EIP after it.
    EXPECT_NE(s.detail.find("eip 0x1021"), std::string::npos) << s.detail;
}

}  // namespace
}  // namespace cxvm::vmm
