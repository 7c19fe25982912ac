#pragma once
// The virtio PCI transport, modern interface only (virtio 1.2, 4.1): a PCI function with
// vendor 0x1AF4, device 0x1040 + type, revision 1, and one 32-bit memory BAR (BAR 0,
// 16 KiB) holding the structures the vendor capabilities (4.1.4) point at:
//
//   0x0000  common configuration (4.1.4.3)      cap type 1
//   0x1000  ISR status, read-to-clear (4.1.4.5) cap type 3
//   0x2000  device-specific configuration       cap type 4
//   0x3000  notifications: queue q at 0x3000 + 4 q (notify_off_multiplier 4) cap type 2
//
// plus the PCI configuration access capability (type 5, 4.1.4.9), a window into the
// BAR through config space. No MSI-X: this board has no APIC, so the function raises
// INTx (pin A) on the ISA line the board routes it to; reading the ISR lowers it.
// No legacy (0.9.5) interface: Linux's virtio_pci drives the modern one, and a
// transitional device would need a second, I/O-port register file.
//
// Guest errors (bad queue layout, notifications for queues that do not exist, writes
// while a queue is live) are logged, rate-limited, and answered as the spec says:
// ignored, or DEVICE_NEEDS_RESET.
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "hw/PciFunction.h"
#include "hw/virtio/VirtioDevice.h"
#include "util/WarnLimiter.h"

#include <array>
#include <cstdint>
#include <string>

namespace cxvm::hw {
class GuestMemory;
}

namespace cxvm::hw::virtio {

class VirtioPci final : public PciFunction, public MmioDevice, public VirtioTransport {
public:
    static constexpr std::uint64_t kBarSize = 0x4000;
    static constexpr unsigned kBar = 0;
    static constexpr std::uint32_t kCommonOffset = 0x0000, kIsrOffset = 0x1000, kDeviceOffset = 0x2000,
                                   kNotifyOffset = 0x3000, kNotifyMultiplier = 4;

    // `device` must outlive the transport. The BAR is mapped on `mmio` whenever the
    // guest (or the board, as firmware) programs it with memory decoding on.
    VirtioPci(VirtioDevice& device, const GuestMemory& memory, MmioBus& mmio, IrqLine irq);
    ~VirtioPci() override;

    // ---- MmioDevice (BAR 0) ----
    std::uint64_t mmioRead(std::uint64_t offset, unsigned size) override;
    void mmioWrite(std::uint64_t offset, unsigned size, std::uint64_t value) override;
    [[nodiscard]] std::string_view name() const override { return PciFunction::name(); }

    // ---- PciFunction: the PCI configuration access window (4.1.4.9) ----
    [[nodiscard]] std::uint32_t configRead(unsigned offset, unsigned size) const override;
    void configWrite(unsigned offset, unsigned size, std::uint32_t value) override;

    // ---- VirtioTransport ----
    void interruptQueue() override;
    void deviceNeedsReset() override;
    [[nodiscard]] std::uint64_t negotiatedFeatures() const override { return driverFeatures_; }

    // VM thread, every loop iteration (the board's advanceTo).
    void poll() { device_.poll(); }

    [[nodiscard]] std::uint8_t deviceStatus() const override { return status_; }
    [[nodiscard]] std::uint8_t isr() const { return isr_; }
    [[nodiscard]] VirtioDevice& device() { return device_; }

private:
    using Image = std::array<std::uint8_t, common::kSize>;
    struct CommonField {
        unsigned offset, size;
        void (VirtioPci::*apply)(std::uint64_t value);
    };
    static const std::array<CommonField, 10> kCommonFields;

    [[nodiscard]] Image commonImage() const;
    std::uint64_t commonRead(unsigned offset, unsigned size) const;
    void commonWrite(unsigned offset, unsigned size, std::uint64_t value);
    void setDeviceFeatureSelect(std::uint64_t v) { deviceFeatureSelect_ = static_cast<std::uint32_t>(v); }
    void setDriverFeatureSelect(std::uint64_t v) { driverFeatureSelect_ = static_cast<std::uint32_t>(v); }
    void setDriverFeature(std::uint64_t v);
    void setStatus(std::uint64_t v);
    void setQueueSelect(std::uint64_t v) { queueSelect_ = static_cast<std::uint16_t>(v); }
    void setQueueSize(std::uint64_t v);
    void setQueueEnable(std::uint64_t v);
    void setQueueDesc(std::uint64_t v);
    void setQueueDriver(std::uint64_t v);
    void setQueueDevice(std::uint64_t v);
    // The selected queue if it exists and may be configured (not enabled), else nullptr
    // (logged).
    SplitVirtqueue* configurableQueue(const char* field);

    void reset();
    void notify(unsigned queue);
    void updateIrq();
    void remapBar();
    std::uint64_t barRead(std::uint64_t offset, unsigned size);
    void barWrite(std::uint64_t offset, unsigned size, std::uint64_t value);
    [[nodiscard]] bool live() const;

    VirtioDevice& device_;
    const GuestMemory& memory_;
    MmioBus& mmio_;
    IrqLine irq_;
    bool irqRaised_ = false;
    bool barMapped_ = false;
    unsigned pciCfgCap_ = 0;  // offset of the PCI configuration access capability

    std::uint32_t deviceFeatureSelect_ = 0, driverFeatureSelect_ = 0;
    std::uint64_t driverFeatures_ = 0;
    std::uint8_t status_ = 0, isr_ = 0;
    std::uint16_t queueSelect_ = 0;
    WarnLimiter warnings_;
};

}  // namespace cxvm::hw::virtio
