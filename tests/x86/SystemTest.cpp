// System-level tests: bare-metal programs (tests/x86/asm/*.asm) started from the reset
// vector through the interp engine; they report through ports 0xF4 (exit), 0xF5 (number
// of the failed check) and 0x80 (POST codes).
#include "CpuTestSupport.h"
#include "engine/InterpEngine.h"
#include "x86/X87Unit.h"

#include <fmt/format.h>

#include <fstream>

namespace cxvm::x86::test {
namespace {

class ResultPorts final : public hw::IoDevice {
public:
    std::uint32_t ioRead(std::uint16_t, unsigned) override { return 0; }
    void ioWrite(std::uint16_t port, unsigned, std::uint32_t value) override {
        if (port == 0xF4) exitCode = value;
        if (port == 0xF5) failedCheck = value;
    }
    std::string_view name() const override { return "test-result-ports"; }
    std::uint32_t exitCode = 0, failedCheck = 0;
};

struct RomRun {
    engine::Exit exit;
    std::uint32_t exitCode, failedCheck;
    std::string post;
    std::uint64_t instructions;
};

// `compiled`: every block runs compiled (x86/jit) from its first execution.
RomRun runRom(const std::string& name, bool compiled = false, std::uint64_t budget = 20'000'000) {
    hw::GuestMemory mem{16u << 20};
    hw::IoBus io;
    hw::MmioBus mmio;
    hw::CpuInterruptPins pins;
    ResultPorts ports;
    io.attach(0xF4, 2, ports);
    std::ifstream f(std::string(CXVM_X86_ROM_DIR) + "/" + name + ".bin", std::ios::binary);
    std::vector<std::uint8_t> rom((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(rom.size(), 0x10000u) << name;
    mem.addRom(0xFFFF0000u, rom, name);
    mem.write(0xF0000, rom);  // the PC's BIOS alias below 1 MiB (shadowed in RAM)
    engine::InterpEngine eng(engine::MachineBus{mem, io, mmio, pins});
    auto vcpu = eng.createVcpu(0);
    auto& iv = static_cast<engine::InterpVcpu&>(*vcpu);
    iv.cpu().setCompile(compiled, 0);
    RomRun r{};
    iv.setPostCodeHook([&](std::uint8_t c) { r.post += fmt::format("{:02x} ", c); });
    if (const char* t = std::getenv("CXVM_X86_TRACE")) {
        TraceOptions o;
        o.enabled = true;
        o.count = std::strtoull(t, nullptr, 0);
        iv.setTrace(o);
    }
    r.exit = vcpu->run(budget);
    r.exitCode = ports.exitCode;
    r.failedCheck = ports.failedCheck;
    r.instructions = vcpu->instructionsRetired();
    return r;
}

class SystemRomBothWays : public ::testing::TestWithParam<bool> {};

TEST_P(SystemRomBothWays, RealProtectedPagingRingsTasksFpuRunsToTheEnd) {
    RomRun r = runRom("system", GetParam());
    EXPECT_EQ(r.exit.reason, engine::ExitReason::Halt) << r.exit.detail;
    EXPECT_EQ(r.failedCheck, 0u) << "POST trail: " << r.post;
    EXPECT_EQ(r.exitCode, 0x600Du) << "POST trail: " << r.post;
    EXPECT_NE(r.post.find("49 50"), std::string::npos) << r.post;  // #DF task, then FPU part
    if (CXVM_HAVE_X87) {
        EXPECT_NE(r.post.find("50 51"), std::string::npos) << r.post;
    }
}

// Compiled code retires exactly the instructions the interpreter does, faults included.
TEST(SystemRom, CompiledAndInterpretedRetireTheSameInstructions) {
    const RomRun a = runRom("system", false), b = runRom("system", true);
    EXPECT_EQ(a.instructions, b.instructions);
    EXPECT_EQ(a.post, b.post);
}

INSTANTIATE_TEST_SUITE_P(Engines, SystemRomBothWays, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Compiled" : "Interpreted"; });

TEST(SystemRom, TripleFaultIsShutdown) {
    RomRun r = runRom("triple");
    EXPECT_EQ(r.exit.reason, engine::ExitReason::Shutdown);
    EXPECT_NE(r.exit.detail.find("triple fault"), std::string::npos) << r.exit.detail;
    EXPECT_EQ(r.exitCode, 0u);
}

}  // namespace
}  // namespace cxvm::x86::test
