#include "vmm/GuestBoot.h"

#include "boot/FirmwareRom.h"
#include "boot/LinuxBoot.h"
#include "boot/LinuxBoot64.h"
#include "util/Error.h"
#include "util/File.h"
#include "util/Log.h"
#include "vmm/Vm.h"

namespace cxvm::vmm {

void bootGuest(Vm& vm, const GuestBootSpec& spec) {
    if (!spec.firmware.empty()) {
        if (!spec.kernel.empty())
            throw Error("--firmware and --kernel exclude each other: a ROM starts at the reset "
                        "vector, a kernel is booted directly");
        const auto rom = readFile(spec.firmware);
        const boot::FirmwareLayout at = boot::loadFirmwareRom(vm.memory(), rom, spec.firmware.string());
        vm.vcpu().reset();
        log::info("boot: firmware {} at {:#x}, alias {:#x}-{:#x}", spec.firmware.string(), at.base,
                  at.aliasBase, boot::kLegacyBiosEnd - 1);
        return;
    }
    if (spec.kernel.empty()) throw Error("no kernel to boot (--kernel) and no --firmware");
    const auto kernel = readFile(spec.kernel);
    std::vector<std::uint8_t> initrd;
    if (!spec.initrd.empty()) initrd = readFile(spec.initrd);
    boot::LinuxBootOptions opts;
    opts.cpuHasLongMode = vm.engineKind() == engine::EngineKind::Kvm;
    // Unpacking pays where the guest's own decompressor is expensive: on interp it is 2.3 G
    // emulated instructions; on kvm it runs at hardware speed (and keeps KASLR), about as
    // fast as liblzma on the host (measured in the nested L1: boot 0.69x QEMU's without,
    // 0.80x with).
    const bool interp = vm.engineKind() == engine::EngineKind::Interp;
    opts.unpackKernel = spec.unpackKernel && interp;
    opts.noUnpackReason = !spec.unpackKernel ? "host unpacking is off (--no-unpack-kernel)"
                                             : "on kvm the kernel decompresses itself at hardware speed";
    boot::LinuxBootLayout layout;
    try {
        layout = boot::loadLinux(vm.memory(), {kernel, initrd, spec.cmdline}, opts);
    } catch (const Error& e) {
        throw e.withContext(fmt::format("booting {}", spec.kernel.string()));
    }
    // A CPU with long mode enters a 64-bit kernel at startup_64 (64-bit boot protocol);
    // its startup_32 would also work, but hardware users expect the 64-bit path.
    const bool entry64 = opts.cpuHasLongMode && boot::hasLinux64Entry(vm.memory(), layout);
    if (entry64)
        boot::setLinux64EntryState(vm.memory(), vm.vcpu(), layout);
    else
        boot::setLinuxEntryState(vm.vcpu(), layout);
    log::info("kernel: {}", layout.kernelLoad.describe());
    log::info("boot: {}-bit entry at {:#x}", entry64 ? 64 : 32,
              entry64 ? layout.kernelAddr + boot::LongModeLayout::kStartup64Offset : layout.entry);
    log::info("boot: {} (protocol {}.{:02}) at {:#x}..{:#x}, initrd {:#x}+{:#x}, cmdline \"{}\"",
              spec.kernel.string(), layout.protocol >> 8, layout.protocol & 0xFF,
              layout.kernelAddr, layout.kernelEnd, layout.initrdAddr, layout.initrdSize,
              spec.cmdline);
}

}  // namespace cxvm::vmm
