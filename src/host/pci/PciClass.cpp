#include "host/pci/PciClass.h"

#include <fmt/format.h>

#include <array>
#include <string_view>

namespace cxvm::host::pci {
namespace {

struct ClassName {
    std::uint32_t code;  // base << 16 | sub << 8 | progIf
    bool matchProgIf;    // false: any programming interface
    std::string_view description;
    std::string_view shortName;
};

// Most specific first: an entry with matchProgIf precedes its subclass-wide entry.
constexpr std::array<ClassName, 34> kNames{{
    {0x010000, false, "SCSI storage controller", "SCSI"},
    {0x010100, false, "IDE interface", "IDE"},
    {0x010400, false, "RAID bus controller", "RAID"},
    {0x010601, true, "SATA controller (AHCI)", "SATA"},
    {0x010600, false, "SATA controller", "SATA"},
    {0x010700, false, "SAS controller", "SAS"},
    {0x010802, true, "Non-Volatile memory controller (NVMe)", "NVMe"},
    {0x010800, false, "Non-Volatile memory controller", "NVM"},
    {0x018000, false, "Mass storage controller", "Storage"},
    {0x020000, false, "Ethernet controller", "Ethernet"},
    {0x028000, false, "Wireless or other network controller", "Network"},
    {0x030000, false, "VGA compatible controller", "VGA"},
    {0x030200, false, "3D controller", "GPU"},
    {0x038000, false, "Display controller", "Display"},
    {0x040100, false, "Multimedia audio controller", "Audio"},
    {0x040300, false, "Audio device", "Audio"},
    {0x050000, false, "RAM memory", "RAM"},
    {0x060000, false, "Host bridge", "HostBridge"},
    {0x060100, false, "ISA bridge", "ISABridge"},
    {0x060400, false, "PCI bridge", "PCIBridge"},
    {0x068000, false, "Bridge", "Bridge"},
    {0x070000, false, "Serial controller", "Serial"},
    {0x078000, false, "Communication controller", "Comm"},
    {0x080500, false, "SD Host controller", "SD"},
    {0x088000, false, "System peripheral", "System"},
    {0x0c0330, true, "USB controller (xHCI)", "USB"},
    {0x0c0320, true, "USB controller (EHCI)", "USB"},
    {0x0c0300, false, "USB controller", "USB"},
    {0x0c0500, false, "SMBus", "SMBus"},
    {0x0c8000, false, "Serial bus controller", "SerialBus"},
    {0x0d0000, false, "IRDA controller", "IRDA"},
    {0x108000, false, "Encryption controller", "Crypto"},
    {0x110000, false, "Signal processing controller", "DSP"},
    {0xffff00, false, "Unassigned class", "PCI"},
}};

const ClassName* find(std::uint32_t classCode) {
    for (const auto& n : kNames) {
        if (n.matchProgIf ? n.code == (classCode & 0xffffff) : n.code >> 8 == (classCode >> 8 & 0xffff))
            return &n;
    }
    return nullptr;
}

}  // namespace

std::string classDescription(std::uint32_t classCode) {
    if (const auto* n = find(classCode)) return std::string(n->description);
    return fmt::format("Class {:04x}", classCode >> 8 & 0xffff);
}

std::string classShortName(std::uint32_t classCode) {
    if (const auto* n = find(classCode)) return std::string(n->shortName);
    return "PCI";
}

bool isBridgeClass(std::uint32_t classCode) {
    return (classCode >> 16 & 0xff) == 0x06 && (classCode >> 8 & 0xff) != 0x00;
}

}  // namespace cxvm::host::pci
