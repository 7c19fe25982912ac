#pragma once
// For the tests that run inside the nested L1 (tests/passthrough/vfio-l1-test):
// the device under test (CXVM_VFIO_DEVICE, the e1000 bound to vfio-pci) and a
// passthrough spec built from its sysfs resources, as `cxvm pci-info` would print it.
#include "host/pci/PciSysfs.h"
#include "hw/vfio/PassthroughSpec.h"

#include <cstdint>
#include <cstdlib>

namespace cxvm::hw::vfio::l1 {

inline const char* deviceUnderTest() { return std::getenv("CXVM_VFIO_DEVICE"); }

inline PassthroughSpec specFromSysfs(const host::pci::SysfsPciDevice& d, unsigned dest) {
    PassthroughSpec s;
    s.vm = "vm0";
    s.name = "Ethernet";
    s.address = d.address;
    s.origin = "l1.camkes:1:1";
    for (const auto& b : d.bars) {
        if (b.kind == host::pci::PciBar::Kind::Memory)
            s.memory.push_back({b.start, b.size, "l1.camkes:2:1"});
        else
            s.ioports.push_back({static_cast<std::uint32_t>(b.start), static_cast<std::uint32_t>(b.end()),
                                 "l1.camkes:3:1"});
    }
    s.irq = PassthroughIrq{"Ethernet", d.irq, dest, true, true, "l1.camkes:4:1", "l1.camkes:4:2", "l1.camkes:4:3"};
    return s;
}

}  // namespace cxvm::hw::vfio::l1
