// The default guest under `cxvm run` on the interp engine, driven through its serial
// console like a user would (issue: "cxvm run boots the guest to a login prompt").
#include "BootGate.h"
#include "ConsoleDriver.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace cxvm::testing {
namespace {

using std::chrono::seconds;

#define SKIP_UNLESS_BOOTABLE()                                 \
    do {                                                       \
        if (auto why = bootTestsBlocked()) GTEST_SKIP() << *why; \
    } while (0)

// Runs `cmd` in the guest shell and returns what it printed (the console echoes the
// command itself first; the marker's arithmetic makes the end unambiguous).
std::string shell(ConsoleDriver& c, const std::string& cmd, double timeout = 60) {
    c.sendLine(cmd + "; echo @@$((6*7))@@");
    if (!c.expect("@@42@@", seconds(static_cast<long>(timeout)))) return "<timeout: " + c.error() + ">";
    return c.lastChunk();
}

// Sum of the per-CPU counts on the /proc/interrupts line whose name contains `name`.
long interruptCount(const std::string& procInterrupts, const std::string& name) {
    std::istringstream in(procInterrupts);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find(name) == std::string::npos || line.find(':') == std::string::npos) continue;
        std::istringstream f(line.substr(line.find(':') + 1));
        long n = 0;
        if (f >> n) return n;
    }
    return -1;
}

void bootToShell(ConsoleDriver& c) {
    c.failOn("Kernel panic");
    ASSERT_TRUE(c.expect("Welcome to cxvm", seconds(static_cast<long>(bootTimeoutSeconds()))))
        << c.report();
    ASSERT_TRUE(c.expect("login:", seconds(60))) << c.report();
    c.sendLine("root");
    ASSERT_TRUE(c.expect("assword:", seconds(60))) << c.report();
    c.sendLine("root");
    c.sendLine("echo logged-$((20+3))-in");
    ASSERT_TRUE(c.expect("logged-23-in", seconds(60))) << c.report();
}

TEST(BootLinux, DefaultGuestSession) {
    SKIP_UNLESS_BOOTABLE();
    ConsoleDriver c({CXVM_EXE, "run", "--engine", "interp"});
    bootToShell(c);
    if (HasFatalFailure()) return;

    EXPECT_NE(shell(c, "uname -m").find("i686"), std::string::npos) << c.report();

    const std::string irq1 = shell(c, "cat /proc/interrupts");
    const std::string irq2 = shell(c, "sleep 1; cat /proc/interrupts");
    const long timer1 = interruptCount(irq1, "timer"), timer2 = interruptCount(irq2, "timer");
    long serial1 = interruptCount(irq1, "ttyS"), serial2 = interruptCount(irq2, "ttyS");
    if (serial1 < 0) serial1 = interruptCount(irq1, "serial"), serial2 = interruptCount(irq2, "serial");
    EXPECT_GT(timer1, 0) << irq1;
    EXPECT_GT(timer2, timer1) << irq1 << irq2;  // the timer keeps counting
    EXPECT_GT(serial1, 0) << irq1;
    EXPECT_GT(serial2, serial1) << irq1 << irq2;  // so does the console UART

    const std::string file = shell(
        c, "mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t && echo payload-$((3*3)) > /mnt/t/f && "
           "cat /mnt/t/f");
    EXPECT_NE(file.find("payload-9"), std::string::npos) << c.report();

    EXPECT_NE(shell(c, "hello").find("Hello, World!"), std::string::npos) << c.report();

    c.sendLine("poweroff");
    auto st = c.waitExit(seconds(120));
    ASSERT_TRUE(st.has_value()) << c.report();
    EXPECT_EQ(*st, 0) << c.report();
}

// Deterministic time makes two boots byte-identical -- also when one compiles hot blocks
// and the other interprets everything: compiled code retires exactly the same
// instructions, so every timer interrupt lands at the same place.
TEST(BootLinux, DeterministicBootsAreIdenticalCompiledOrInterpreted) {
    SKIP_UNLESS_BOOTABLE();
    auto boot = [](bool jit) {
        std::vector<std::string> argv{CXVM_EXE, "run", "--engine", "interp", "--deterministic"};
        if (!jit) argv.emplace_back("--no-jit");
        ConsoleDriver c(argv);
        c.failOn("Kernel panic");
        EXPECT_TRUE(c.expect("login:", seconds(static_cast<long>(bootTimeoutSeconds()))))
            << c.report();
        return c.log().substr(0, c.log().find("login:"));
    };
    const std::string a = boot(true);
    const std::string b = boot(false);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, b);
}

// Fast, never gated: the command's own errors.
TEST(RunCommand, MissingDefaultGuestTellsToRunSetup) {
    const char* old = std::getenv("CXVM_CACHE");
    const std::string saved = old ? old : "";
    setenv("CXVM_CACHE", "/nonexistent-cxvm-cache", 1);
    ConsoleDriver c({CXVM_EXE, "run"});
    auto st = c.waitExit(seconds(30));
    if (old)
        setenv("CXVM_CACHE", saved.c_str(), 1);
    else
        unsetenv("CXVM_CACHE");
    ASSERT_TRUE(st.has_value()) << c.report();
    EXPECT_EQ(*st, 1);
    EXPECT_NE(c.log().find("./setup"), std::string::npos) << c.report();
}

TEST(RunCommand, BadMemorySizeIsRejected) {
    ConsoleDriver c({CXVM_EXE, "run", "--mem", "12Q"});
    auto st = c.waitExit(seconds(30));
    ASSERT_TRUE(st.has_value()) << c.report();
    EXPECT_NE(*st, 0);
    EXPECT_NE(c.log().find("12Q"), std::string::npos) << c.report();
}

// A VM-only app boots its VM from the spec's attributes: the seed's names resolve to the
// default guest, the command line is the spec's. A few instructions are enough to see it.
TEST(RunCommand, VmOnlyAppBootsFromItsAttributes) {
    if (!std::filesystem::exists(guestCache() / "kit/bzImage"))
        GTEST_SKIP() << "no guest kit kernel in " << guestCache() << ": run ./setup";
    ConsoleDriver c({CXVM_EXE, "-v", "run", std::string(CXVM_SOURCE_DIR) + "/apps/minimal",
                     "--engine", "interp", "--max-instructions", "1000"});
    auto st = c.waitExit(seconds(60));
    ASSERT_TRUE(st.has_value()) << c.report();
    EXPECT_EQ(*st, 0) << c.report();
    EXPECT_NE(c.log().find("instance vm.vm0"), std::string::npos) << c.report();
    EXPECT_NE(c.log().find("kit/bzImage (protocol 2."), std::string::npos) << c.report();
    EXPECT_NE(c.log().find("i8042.nokbd=y"), std::string::npos) << c.report();  // the spec's
    EXPECT_NE(c.log().find("instruction limit 1000 reached"), std::string::npos) << c.report();
}

}  // namespace
}  // namespace cxvm::testing
