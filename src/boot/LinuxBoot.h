#pragma once
// Linux x86 direct boot, 32-bit protocol (Documentation/arch/x86/boot.rst, "32-bit Boot
// Protocol"; protocol 2.06 or later): the protected-mode kernel at its preferred
// address, boot_params with the kernel's setup header, the e820 map, the command line
// and the initrd (as high as the kernel allows), and the CPU state of the 32-bit entry.
//
// Guest physical layout below 1 MiB (all inside the e820 RAM below 640 KiB):
//   0x00500  GDT (null, null, __BOOT_CS 0x10, __BOOT_DS 0x18)
//   0x07000  boot_params (the zero page)
//   0x20000  command line (up to the kernel's cmdline_size + NUL)
#include "boot/BzImage.h"
#include "boot/KernelPayload.h"
#include "engine/Vcpu.h"
#include "hw/GuestMemory.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cxvm::boot {

struct LinuxBootImages {
    std::span<const std::uint8_t> kernel;  // the bzImage file
    std::span<const std::uint8_t> initrd;  // empty: none
    std::string_view cmdline;
};

struct LinuxBootOptions {
    // A 64-bit kernel's startup_32 switches to long mode itself: only a CPU with long
    // mode (kvm) can run it. The interp engine is a 32-bit (i686) CPU.
    bool cpuHasLongMode = false;
    // Decompress the kernel on the host and enter it at its ELF entry point (the default;
    // boot/UnpackedKernel.h), where the image allows; else the bzImage is loaded as is
    // and its own decompressor runs in the guest.
    bool unpackKernel = true;
    // Why unpacking is off, for the log (when unpackKernel is false).
    std::string_view noUnpackReason = "host unpacking is off";
};

// How the kernel got into memory.
struct KernelLoad {
    bool unpacked = false;  // segments of the host-unpacked vmlinux, entered at e_entry
    PayloadFormat format = PayloadFormat::Unknown;
    std::uint64_t unpackedBytes = 0;  // decompressed payload
    double unpackSeconds = 0;
    std::string notUnpacked;  // !unpacked: why (option off, or what the image is)

    // One line for the log: "unpacked xz payload on the host (15.5 MiB, 0.41 s)" or
    // "payload is lz4: the kernel decompresses itself".
    [[nodiscard]] std::string describe() const;
};

// Where everything went, and the registers of the 32-bit entry.
struct LinuxBootLayout {
    static constexpr std::uint64_t kGdtAddr = 0x500;
    static constexpr std::uint64_t kBootParamsAddr = 0x7000;
    static constexpr std::uint64_t kCmdlineAddr = 0x20000;
    static constexpr std::uint16_t kBootCs = 0x10;  // boot.rst: __BOOT_CS
    static constexpr std::uint16_t kBootDs = 0x18;  // boot.rst: __BOOT_DS
    static constexpr std::uint16_t kMinProtocol = 0x0206;

    std::uint16_t protocol = 0;
    std::uint64_t kernelAddr = 0;    // protected-mode kernel (pref_address or code32_start)
    std::uint64_t kernelEnd = 0;     // kernelAddr + max(init_size, kernel size)
    std::uint64_t entry = 0;         // 32-bit entry: kernelAddr, or the unpacked ELF's e_entry
    KernelLoad kernelLoad;
    std::uint64_t initrdAddr = 0;    // 0: no initrd
    std::uint64_t initrdSize = 0;
    std::uint64_t cmdlineAddr = kCmdlineAddr;
    std::uint64_t bootParamsAddr = kBootParamsAddr;
    engine::Regs regs{};
    engine::Sregs sregs{};
};

// Loads the kernel, initrd, command line and boot_params into `memory` and returns the
// layout with the entry state. Throws cxvm::Error for: not a bzImage, protocol older
// than 2.06, a 64-bit kernel without long mode, kernel or initrd larger than RAM, an
// initrd that fits nowhere between the kernel and initrd_addr_max, a command line longer
// than cmdline_size; with unpackKernel, a corrupt gzip/xz payload or vmlinux.
LinuxBootLayout loadLinux(hw::GuestMemory& memory, const LinuxBootImages& images,
                          const LinuxBootOptions& options = {});

// The protocol's entry state: ESI = boot_params, EBP = EDI = EBX = 0, EIP = layout.entry,
// flat 4 GiB CS = 0x10 and DS = ES = FS = GS = SS = 0x18, EFLAGS.IF = 0, CR0.PE only.
void setLinuxEntryState(engine::Vcpu& vcpu, const LinuxBootLayout& layout);

}  // namespace cxvm::boot
