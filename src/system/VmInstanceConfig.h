#pragma once
// What a VM instance process is told on its command line (docs/crossvm.md "VM
// instances"): runApp writes it from the spec (VmInstanceConfig::args), the VM instance
// main reads it back (VmInstanceConfig::parse). One definition, so the two cannot drift.
// The connection descriptors themselves come through CXVM_IFACES, as for a native
// component; the ids and sizes they stand for come from here (CrossVmLayout).
#include "hw/vfio/PassthroughSpec.h"
#include "hw/virtio/DiskImage.h"
#include "net/NetOptions.h"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::system {

struct VmCrossVmEntry {
    std::uint32_t id = 0;
    std::uint64_t size = 0;  // dataports only
    std::string iface;       // CXVM_IFACES key, device /dev/camkes_<iface>
    std::string label;       // for the VMM's messages: "vm.vm0.data (vm.conn_data, file:9:5)"
};

struct VmInstanceConfig {
    std::string instance;  // the spec's instance name ("vm.vm0")
    // The guest: a Linux kernel (+ initrd, command line) or a firmware ROM (tests).
    std::filesystem::path kernel, initrd, firmware;
    std::string cmdline;
    std::uint64_t ramBytes = 128ull << 20;
    std::string engine = "auto";  // auto, interp, kvm
    bool noJit = false;
    bool deterministic = false;
    bool noUnpackKernel = false;  // the bzImage's own decompressor runs in the guest
    bool postCodes = false;       // print each write to the POST port 0x80
    std::uint64_t maxInstructions = 0;  // 0: unlimited
    std::filesystem::path consoleLog;   // every byte of the guest's console
    bool consoleOnTerminal = false;     // stdin/stdout are the user's terminal
    int logLevel = 1;                   // log::Level of the VMM's messages (1: warnings)
    std::vector<VmCrossVmEntry> dataports, emits, consumes;
    std::vector<hw::virtio::DiskOptions> disks;  // the spec's `disks`, absolute paths
    std::vector<net::NicOptions> nics;           // the spec's `nics`
    // The spec's pci_devices (with their ioports and irqs), one --pci-passthrough word
    // each (system/VmPassthrough passthroughArg): opened, DMA-mapped and given to the
    // guest before the sandbox (docs/passthrough.md "System runs").
    std::vector<hw::vfio::PassthroughSpec> passthrough;

    // The command-line words (without argv[0]).
    [[nodiscard]] std::vector<std::string> args() const;
    // Throws cxvm::Error naming the bad word.
    static VmInstanceConfig parse(std::span<const std::string_view> args);
};

}  // namespace cxvm::system
