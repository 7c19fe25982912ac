// A tiny real-mode guest in a firmware ROM on the real PC board and a real engine: it
// prints to COM1, makes hypercall 4 (vmcall on interp, the port gate on kvm), and writes
// the handler's answer to the debug-exit port, which ends the run with that status.
#include "boot/FirmwareRom.h"
#include "engine/EngineSelect.h"
#include "engine/HypercallGate.h"
#include "util/Error.h"
#include "vmm/GuestBoot.h"
#include "vmm/Vm.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace cxvm::vmm {
namespace {

// 4 KiB ROM ending at 4 GiB; code at IP 0xFF80 (ROM offset 0xF80), reset vector at 0xFFF0.
std::vector<std::uint8_t> tinyGuestRom(bool portGate) {
    std::vector<std::uint8_t> rom(4096, 0xF4);  // hlt everywhere else
    std::vector<std::uint8_t> code = {
        0xBA, 0xF8, 0x03,                    // mov dx, 0x3f8
        0xB0, 'H', 0xEE,                     // mov al, 'H'; out dx, al
        0xB0, 'i', 0xEE,                     // mov al, 'i'; out dx, al
        0xB0, '\n', 0xEE,                    // mov al, '\n'; out dx, al
        0x66, 0xB8, 4, 0, 0, 0,              // mov eax, 4       (token)
        0x66, 0xBB, 21, 0, 0, 0,             // mov ebx, 21      (argument)
    };
    if (portGate)
        code.insert(code.end(), {0x66, 0xE7, static_cast<std::uint8_t>(engine::kHypercallPort)});
    else
        code.insert(code.end(), {0x0F, 0x01, 0xC1});  // vmcall
    code.insert(code.end(), {
        0xBA, 0x01, 0x05,                    // mov dx, 0x501   (debug exit)
        0xEE,                                // out dx, al      (status = al*2+1)
        0xF4,                                // hlt
    });
    std::copy(code.begin(), code.end(), rom.begin() + 0xF80);
    rom[0xFF0] = 0xEB;                                        // jmp short 0xFF80
    rom[0xFF1] = static_cast<std::uint8_t>(0xFF80 - 0xFFF2);  // rel8 = -0x72
    return rom;
}

std::string drain(int fd) {
    std::string s;
    char buf[256];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<std::size_t>(n));
    return s;
}

void runTinyGuest(EngineChoice engine) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
    VmConfig cfg;
    cfg.ramBytes = 4 << 20;
    cfg.engine = engine;
    cfg.console.inFd = -1;
    cfg.console.outFd = p[1];
    cfg.maxInstructions = 100'000;  // a broken engine stops here instead of hanging
    std::unique_ptr<Vm> vm;
    try {
        vm = std::make_unique<Vm>(cfg);
    } catch (const Error& e) {
        close(p[0]);
        close(p[1]);
        if (std::string(e.what()).find("not part of this build") == std::string::npos) throw;
        GTEST_SKIP() << e.what();
    }
    std::uint32_t seen = 0;
    vm->hypercalls().registerUser(4, "double", [&](const engine::HypercallArgs& a) {
        seen = a.arg0;
        return a.arg0 * 2 + 7;  // 49 = 0x31 -> debug-exit status 99
    });
    const auto rom = tinyGuestRom(vm->engineKind() == engine::EngineKind::Kvm);
    boot::loadFirmwareRom(vm->memory(), rom, "tiny");
    vm->vcpu().reset();
    GuestStop s = vm->run();
    close(p[1]);
    const std::string out = drain(p[0]);
    close(p[0]);
    EXPECT_EQ(seen, 21u);
    EXPECT_EQ(s.kind, StopKind::DebugExit) << s.detail;
    EXPECT_EQ(s.exitStatus, 99) << s.detail;
    EXPECT_EQ(out, "Hi\n");
}

TEST(TinyGuest, InterpSerialHypercallDebugExit) { runTinyGuest(EngineChoice::Interp); }

TEST(TinyGuest, KvmSerialHypercallDebugExit) {
    engine::KvmProbe probe = engine::probeKvm();
    if (!probe.opened) GTEST_SKIP() << "/dev/kvm unusable: " << probe.detail;
    runTinyGuest(EngineChoice::Kvm);
}

}  // namespace
}  // namespace cxvm::vmm
