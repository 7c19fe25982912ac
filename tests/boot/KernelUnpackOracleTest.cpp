// The oracle for host-side unpacking: the kit bzImage's own decompressor, run on the
// interp engine, must leave in guest memory exactly the kernel cxvm unpacks on the host,
// jump to the same entry point, and hand over the same boot_params.
//
// The decompressor's last instructions (arch/x86/boot/compressed/head_32.S, after
// extract_kernel returns the entry in EAX) are "xorl %ebx,%ebx; jmp *%eax" (31 db ff e0).
// The test replaces that jmp with "hlt; nop" in its copy of the image: with IF = 0 the
// vCPU halts right there, EAX = the entry, the kernel not yet started. "nokaslr" keeps
// the decompressor at the load address.
#include "boot/LinuxBoot.h"
#include "boot/UnpackedKernel.h"
#include "engine/InterpEngine.h"
#include "SyntheticImages.h"
#include "util/File.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace cxvm::boot {
namespace {


struct Machine {
    hw::GuestMemory memory{64 * testing::kMiB};  // the kit kernel needs 0x1000000 + init_size
    hw::IoBus io;
    hw::MmioBus mmio;
    hw::CpuInterruptPins pins;
};

TEST(KernelUnpackOracle, InGuestDecompressorLeavesTheSameKernel) {
    // About 2.3 G guest instructions: ~20-30 s on a 2-core machine. In the default run:
    // it is the proof that the host-side unpack (the default boot path) is right.
    const auto path = testing::kitKernelPath();
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "no guest kit kernel at " << path;
    auto image = readFile(path);
    const BzImage bz = BzImage::parse(image);
    const KernelUnpack host = unpackKernel(bz);
    ASSERT_TRUE(host.kernel) << host.notUnpacked;
    const UnpackedKernel& k = *host.kernel;

    // Find the decompressor's final jump (once in the image) and make it a HLT.
    const std::uint8_t jump[] = {0x31, 0xDB, 0xFF, 0xE0};
    std::vector<std::size_t> hits;
    for (auto it = image.begin(); (it = std::search(it, image.end(), std::begin(jump), std::end(jump))) != image.end(); ++it)
        hits.push_back(static_cast<std::size_t>(it - image.begin()));
    ASSERT_EQ(hits.size(), 1u) << "expected head_32.S's \"xorl %ebx,%ebx; jmp *%eax\" once";
    image[hits[0] + 2] = 0xF4;  // hlt
    image[hits[0] + 3] = 0x90;  // nop

    Machine m;
    engine::InterpEngine engine({m.memory, m.io, m.mmio, m.pins});
    const auto vcpu = engine.createVcpu(0);
    LinuxBootOptions inGuest;
    inGuest.unpackKernel = false;
    const std::string cmdline = "nokaslr console=ttyS0";
    const LinuxBootLayout l = loadLinux(m.memory, {image, {}, cmdline}, inGuest);
    setLinuxEntryState(*vcpu, l);

    const auto t0 = std::chrono::steady_clock::now();
    engine::Exit exit;
    constexpr std::uint64_t kLimit = 10'000'000'000;
    while (vcpu->instructionsRetired() < kLimit) {
        exit = vcpu->run(200'000'000);
        if (exit.reason != engine::ExitReason::SliceEnd) break;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("in-guest decompressor: %.2f G instructions in %.1f s; host unpack %.2f s\n",
                static_cast<double>(vcpu->instructionsRetired()) / 1e9, secs, k.took.count());
    ASSERT_EQ(exit.reason, engine::ExitReason::Halt) << "exit " << static_cast<int>(exit.reason)
                                                     << " " << exit.detail << " after "
                                                     << vcpu->instructionsRetired();
    const engine::Regs r = vcpu->regs();
    EXPECT_EQ(r.rax, k.elf.entry) << "the decompressor jumps elsewhere";
    EXPECT_EQ(r.rbx, 0u);
    EXPECT_EQ(r.rsi, LinuxBootLayout::kBootParamsAddr);

    // Every PT_LOAD's file bytes, as the decompressor left them (its .bss tails hold
    // leftovers; the kernel clears its .bss itself).
    for (const VmlinuxSegment& s : k.elf.segments) {
        const auto want = k.bytesOf(s);
        std::vector<std::uint8_t> got(want.size());
        m.memory.read(s.paddr, got);
        const auto diff = std::mismatch(got.begin(), got.end(), want.begin());
        EXPECT_TRUE(diff.first == got.end())
            << "segment at " << std::hex << s.paddr << ": first difference at "
            << s.paddr + static_cast<std::uint64_t>(diff.first - got.begin());
    }

    // boot_params as the decompressor hands them over vs. what cxvm writes when it
    // unpacks; only the scratch word (0x1E4, head_32.S's temporary stack to find its own
    // address) may differ.
    Machine unpackedMachine;
    const LinuxBootLayout u = loadLinux(unpackedMachine.memory, {readFile(path), {}, cmdline});
    ASSERT_TRUE(u.kernelLoad.unpacked);
    EXPECT_EQ(u.regs.rip, r.rax);
    std::vector<std::uint8_t> a(4096), b(4096);
    m.memory.read(l.bootParamsAddr, a);
    unpackedMachine.memory.read(u.bootParamsAddr, b);
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i >= 0x1E4 && i < 0x1E8) continue;
        EXPECT_EQ(a[i], b[i]) << "boot_params byte " << std::hex << i;
    }
}

}  // namespace
}  // namespace cxvm::boot
