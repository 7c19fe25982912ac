// The VM run loop on a scripted engine and board: exits, hypercalls, halts, clocks.
#include "FakeMachine.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace cxvm::vmm {
namespace {

using testing::FakeVm;
using testing::quietConfig;
using testing::Step;

engine::Exit exitOf(engine::ExitReason r) { return {r, {}, {}}; }
engine::Exit hypercall(std::uint32_t token, std::uint32_t a0 = 0) {
    engine::Exit e{engine::ExitReason::Hypercall, {}, {}};
    e.hypercall = {token, a0, 0, 0, 0};
    return e;
}

TEST(VmLoop, HypercallRoundTripReachesUserHandlerAndReturnsEax) {
    FakeVm f(quietConfig());
    std::uint32_t seenArg = 0;
    f.vm->hypercalls().registerUser(4, "poke", [&](const engine::HypercallArgs& a) {
        seenArg = a.arg0;
        return 0x1234u;
    });
    f.vcpu->script = {{10, hypercall(4, 77)}, {10, exitOf(engine::ExitReason::Shutdown)}};
    GuestStop s = f.vm->run();
    EXPECT_EQ(seenArg, 77u);
    ASSERT_EQ(f.vcpu->hypercallResults.size(), 1u);
    EXPECT_EQ(f.vcpu->hypercallResults[0], 0x1234u);
    EXPECT_EQ(s.kind, StopKind::TripleFault);
    EXPECT_NE(s.exitStatus, 0);
}

TEST(VmLoop, UnknownHypercallResumesGuestWithEnosys) {
    FakeVm f(quietConfig());
    f.vcpu->script = {{5, hypercall(99)}, {5, hypercall(99)},
                      {5, exitOf(engine::ExitReason::Shutdown)}};
    f.vm->run();
    ASSERT_EQ(f.vcpu->hypercallResults.size(), 2u);
    EXPECT_EQ(f.vcpu->hypercallResults[0], HypercallTable::kUnknownTokenResult);
    EXPECT_EQ(f.vm->hypercalls().unknownCount(), 2u);
}

TEST(VmLoop, CliHltIsPowerOffWithStatusZero) {
    FakeVm f(quietConfig());
    Step halt{100, exitOf(engine::ExitReason::Halt)};
    halt.rflags = 0x2;  // IF clear
    f.vcpu->script = {halt};
    GuestStop s = f.vm->run();
    EXPECT_EQ(s.kind, StopKind::Halted);
    EXPECT_EQ(s.exitStatus, 0);
}

TEST(VmLoop, DeviceStopRequestEndsLoopWithItsStatus) {
    FakeVm f(quietConfig());
    Step st{100, exitOf(engine::ExitReason::SliceEnd)};
    st.during = [&] { f.vm->stops().request(StopKind::Reset, 0, "i8042 reset"); };
    f.vcpu->script = {st, {1'000'000'000, exitOf(engine::ExitReason::Shutdown)}};
    GuestStop s = f.vm->run();
    EXPECT_EQ(s.kind, StopKind::Reset);
    EXPECT_EQ(s.exitStatus, 0);
    EXPECT_EQ(s.detail, "i8042 reset");
}

TEST(VmLoop, TripleFaultDetailIsKept) {
    FakeVm f(quietConfig());
    engine::Exit e = exitOf(engine::ExitReason::Shutdown);
    e.detail = "triple fault at eip 0x1000";
    f.vcpu->script = {{1, e}};
    GuestStop s = f.vm->run();
    EXPECT_EQ(s.detail, "triple fault at eip 0x1000");
    EXPECT_EQ(s.exitStatus, 2);
}

TEST(VmLoop, DeterministicSlicesEndAtTheNextDeviceDeadline) {
    VmConfig c = quietConfig();
    c.deterministic = true;
    c.maxInstructions = 10'000;
    FakeVm f(c);
    f.board->periodNs = 1000;  // 1 ns per instruction: a deadline every 1000 instructions
    f.board->nextNs = 1000;
    GuestStop s = f.vm->run();
    EXPECT_EQ(s.kind, StopKind::InstructionLimit);
    EXPECT_EQ(f.vcpu->retired, 10'000u);
    for (auto b : f.vcpu->budgets) EXPECT_EQ(b, 1000u);
    EXPECT_EQ(f.board->ticks, 10u);
}

TEST(VmLoop, DeterministicHaltSkipsTimeToTheDeadline) {
    VmConfig c = quietConfig();
    c.deterministic = true;
    FakeVm f(c);
    f.board->periodNs = 1'000'000'000;  // one tick per guest second
    f.board->nextNs = 1'000'000'000;
    Step halt{10, exitOf(engine::ExitReason::Halt)};
    Step dead{10, exitOf(engine::ExitReason::Halt)};
    dead.rflags = 0x2;
    f.vcpu->script = {halt, dead};
    f.vm->run();
    // The halted guest reached the 1 s tick without running a billion instructions.
    EXPECT_EQ(f.board->ticks, 1u);
    EXPECT_EQ(f.vcpu->retired, 20u);
    EXPECT_GE(f.vm->clock().nowNs(), 1'000'000'000u);
}

TEST(VmLoop, DeterministicRunsAreIdentical) {
    auto once = [] {
        VmConfig c = quietConfig();
        c.deterministic = true;
        c.maxInstructions = 50'000;
        FakeVm f(c);
        f.board->periodNs = 3333;
        f.board->nextNs = 3333;
        f.vm->run();
        return std::make_pair(f.vcpu->budgets, f.board->advancedTo);
    };
    EXPECT_EQ(once(), once());
}

TEST(VmLoop, ConsoleInputWaitsForRoomInTheUart) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    const std::string typed(40, 'k');
    ASSERT_EQ(write(p[1], typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
    close(p[1]);  // EOF after the bytes: must not stop the guest
    VmConfig c = quietConfig();
    c.console.inFd = p[0];
    c.maxInstructions = 3'000'000;
    FakeVm f(c);
    f.board->rxCapacity = 16;
    GuestStop s = f.vm->run();
    close(p[0]);
    EXPECT_EQ(s.kind, StopKind::InstructionLimit);  // EOF did not end the run
    EXPECT_EQ(f.board->rx.size(), 16u);             // the FIFO filled, nothing dropped...
    EXPECT_EQ(f.vm->console().pendingInput().size(), 24u);  // ...the rest still queued
    EXPECT_EQ(f.vm->console().inputFd(), -1);
}

TEST(VmLoop, RegisterDumpNamesRegisters) {
    engine::Regs r{};
    r.rip = 0xc0100000;
    r.rax = 0xdeadbeef;
    engine::Sregs s{};
    s.cs.selector = 0x10;
    std::string d = formatRegisterDump(r, s);
    EXPECT_NE(d.find("eip=c0100000"), std::string::npos);
    EXPECT_NE(d.find("eax=deadbeef"), std::string::npos);
    EXPECT_NE(d.find("cs=0010"), std::string::npos);
}

}  // namespace
}  // namespace cxvm::vmm
