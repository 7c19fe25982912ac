#pragma once
// A test driver for the virtio PCI transport that does what Linux's virtio_pci_modern
// does: find the function through configuration mechanism #1 (0xCF8/0xCFC), size and
// program BAR 0, walk the capability list for the vendor capabilities, and then talk to
// the common configuration, ISR and notify structures through BAR MMIO.
#include "GuestRings.h"

#include "hw/GuestMemory.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "hw/PciHost.h"
#include "hw/virtio/VirtioPci.h"
#include "hw/virtio/VirtioSpec.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <thread>

namespace cxvm::test {

struct IrqProbe final : hw::IrqSink {
    bool level = false;
    unsigned rises = 0;
    void setIrqLevel(unsigned, bool l) override {
        if (l && !level) ++rises;
        level = l;
    }
};

class PciVirtioDriver {
public:
    static constexpr std::uint64_t kBarAddress = 0xE000'0000;
    struct Cap {
        unsigned at = 0;  // config-space offset
        std::uint8_t bar = 0;
        std::uint32_t offset = 0, length = 0, extra = 0;
    };

    PciVirtioDriver(hw::PciHost& host, hw::MmioBus& mmio, unsigned device) : host_(host), mmio_(mmio), dev_(device) {}

    std::uint32_t cfgRead(unsigned reg, unsigned size = 4) {
        host_.ioWrite(0xCF8, 4, 0x8000'0000u | dev_ << 11 | (reg & 0xFC));
        return host_.ioRead(static_cast<std::uint16_t>(0xCFC + (reg & 3)), size);
    }
    void cfgWrite(unsigned reg, std::uint32_t v, unsigned size = 4) {
        host_.ioWrite(0xCF8, 4, 0x8000'0000u | dev_ << 11 | (reg & 0xFC));
        host_.ioWrite(static_cast<std::uint16_t>(0xCFC + (reg & 3)), size, v);
    }

    // BAR sizing and programming, then the capability walk (Linux: pci_read_bases,
    // virtio_pci_find_capability).
    void discover() {
        cfgWrite(0x04, 0, 2);  // decode off while sizing, as Linux does
        cfgWrite(0x10, 0xFFFF'FFFF);
        barSize = ~(cfgRead(0x10) & 0xFFFF'FFF0u) + 1;
        cfgWrite(0x10, static_cast<std::uint32_t>(kBarAddress));
        cfgWrite(0x04, 0x6, 2);  // memory + bus master
        for (unsigned at = cfgRead(0x34, 1); at; at = cfgRead(at + 1, 1)) {
            if (cfgRead(at, 1) != hw::virtio::kPciCapVendor) continue;
            Cap c{at, static_cast<std::uint8_t>(cfgRead(at + 4, 1)), cfgRead(at + 8), cfgRead(at + 12), 0};
            const auto type = static_cast<std::uint8_t>(cfgRead(at + 3, 1));
            if (cfgRead(at + 2, 1) >= 20) c.extra = cfgRead(at + 16);
            caps.emplace(type, c);  // the first of each type, as Linux takes it
        }
    }
    [[nodiscard]] bool hasCap(hw::virtio::PciCapType t) const { return caps.contains(static_cast<std::uint8_t>(t)); }
    [[nodiscard]] const Cap& cap(hw::virtio::PciCapType t) const { return caps.at(static_cast<std::uint8_t>(t)); }

    std::uint64_t common(unsigned off, unsigned size) {
        return mmio_.read(kBarAddress + cap(hw::virtio::PciCapType::Common).offset + off, size);
    }
    void setCommon(unsigned off, unsigned size, std::uint64_t v) {
        mmio_.write(kBarAddress + cap(hw::virtio::PciCapType::Common).offset + off, size, v);
    }
    std::uint8_t status() { return static_cast<std::uint8_t>(common(hw::virtio::common::kDeviceStatus, 1)); }
    void setStatus(std::uint8_t s) { setCommon(hw::virtio::common::kDeviceStatus, 1, s); }
    std::uint64_t deviceFeatures() {
        setCommon(hw::virtio::common::kDeviceFeatureSelect, 4, 0);
        std::uint64_t f = common(hw::virtio::common::kDeviceFeature, 4);
        setCommon(hw::virtio::common::kDeviceFeatureSelect, 4, 1);
        return f | common(hw::virtio::common::kDeviceFeature, 4) << 32;
    }
    // 3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, re-read.
    bool negotiate(std::uint64_t features) {
        namespace st = hw::virtio::status;
        setStatus(0);
        setStatus(st::kAcknowledge);
        setStatus(st::kAcknowledge | st::kDriver);
        setCommon(hw::virtio::common::kDriverFeatureSelect, 4, 0);
        setCommon(hw::virtio::common::kDriverFeature, 4, features & 0xFFFF'FFFF);
        setCommon(hw::virtio::common::kDriverFeatureSelect, 4, 1);
        setCommon(hw::virtio::common::kDriverFeature, 4, features >> 32);
        setStatus(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
        return status() & st::kFeaturesOk;
    }
    // Queue setup as Linux's vp_modern_find_vqs: 64-bit addresses as two dwords.
    void setupQueue(std::uint16_t index, const GuestRings& r) {
        namespace c = hw::virtio::common;
        setCommon(c::kQueueSelect, 2, index);
        setCommon(c::kQueueSize, 2, r.size);
        for (auto [off, v] : {std::pair{c::kQueueDesc, r.desc}, {c::kQueueDriver, r.avail}, {c::kQueueDevice, r.used}}) {
            setCommon(off, 4, v & 0xFFFF'FFFF);
            setCommon(off + 4, 4, v >> 32);
        }
        setCommon(c::kQueueEnable, 2, 1);
    }
    void driverOk() {
        namespace st = hw::virtio::status;
        setStatus(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
    }
    void notify(std::uint16_t queue) {
        const Cap& n = cap(hw::virtio::PciCapType::Notify);
        setCommon(hw::virtio::common::kQueueSelect, 2, queue);
        const auto off = static_cast<std::uint32_t>(common(hw::virtio::common::kQueueNotifyOff, 2));
        mmio_.write(kBarAddress + n.offset + off * n.extra, 2, queue);
    }
    std::uint8_t readIsr() {
        return static_cast<std::uint8_t>(mmio_.read(kBarAddress + cap(hw::virtio::PciCapType::Isr).offset, 1));
    }
    std::uint64_t deviceConfig(unsigned off, unsigned size) {
        return mmio_.read(kBarAddress + cap(hw::virtio::PciCapType::Device).offset + off, size);
    }

    std::uint64_t barSize = 0;
    std::map<std::uint8_t, Cap> caps;

private:
    hw::PciHost& host_;
    hw::MmioBus& mmio_;
    unsigned dev_;
};

// Polls `done` with the device's poll() in between (the VM loop's role) for up to 5 s.
template <typename Poll, typename Done>
bool waitFor(Poll&& poll, Done&& done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        poll();
        if (done()) return true;
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

}  // namespace cxvm::test
