// `--firmware` on the real PC board and a real engine: a BIOS-style ROM (asm/bios_post.asm)
// far-jumps from the reset vector into its alias below 1 MiB, checks that the alias is
// read-only and that RAM around it is RAM, and writes POST codes 01 02 55 to port 0x80
// before the debug exit. Both engines must agree (the alias is a region of its own,
// a read-only memory slot on kvm).
#include "engine/EngineSelect.h"
#include "util/Error.h"
#include "util/File.h"
#include "vmm/GuestBoot.h"
#include "vmm/Vm.h"

#include "../support/Nasm.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace cxvm::vmm {
namespace {

std::filesystem::path biosRom() {
    std::ifstream in(std::string(CXVM_SOURCE_DIR) + "/tests/vmm/asm/bios_post.asm");
    const std::string src((std::istreambuf_iterator<char>(in)), {});
    const auto rom = cxvm::testing::assemble(src, 16, 0);
    EXPECT_EQ(rom.size(), 0x10000u);
    const std::filesystem::path p =
        std::filesystem::temp_directory_path() / ("cxvm-bios-post-" + std::to_string(::getpid()) + ".bin");
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(rom.data()),
                                             static_cast<std::streamsize>(rom.size()));
    return p;
}

void runBiosRom(EngineChoice engine) {
    VmConfig cfg;
    cfg.ramBytes = 4 << 20;
    cfg.engine = engine;
    cfg.console.inFd = -1;
    cfg.console.outFd = -1;
    cfg.maxInstructions = 100'000;  // a broken engine stops here instead of hanging
    std::unique_ptr<Vm> vm;
    try {
        vm = std::make_unique<Vm>(cfg);
    } catch (const Error& e) {
        if (std::string(e.what()).find("not part of this build") == std::string::npos) throw;
        GTEST_SKIP() << e.what();
    }
    const auto rom = biosRom();
    GuestBootSpec spec;
    spec.firmware = rom;
    bootGuest(*vm, spec);
    const GuestStop s = vm->run();
    std::filesystem::remove(rom);
    EXPECT_EQ(s.kind, StopKind::DebugExit) << s.detail;
    EXPECT_EQ(s.exitStatus, 99) << "failed check " << (s.exitStatus - 1) / 2 << ": " << s.detail;
    EXPECT_EQ(vm->postCodes().writes, 3u);
    EXPECT_EQ(vm->postCodes().last, 0x55);
}

TEST(FirmwareRom, InterpRunsTheBiosAliasBelowOneMegabyte) { runBiosRom(EngineChoice::Interp); }

TEST(FirmwareRom, KvmRunsTheBiosAliasBelowOneMegabyte) {
    engine::KvmProbe probe = engine::probeKvm();
    if (!probe.opened) GTEST_SKIP() << "/dev/kvm unusable: " << probe.detail;
    runBiosRom(EngineChoice::Kvm);
}

}  // namespace
}  // namespace cxvm::vmm
