#pragma once
// A virtio device model (virtio 1.2 chapter 5) as the transport sees it, and what the
// transport offers the device back. The transport (VirtioPci) owns the status, feature
// negotiation, queue registers and interrupts; the device owns its queues, its config
// space and its work. blk and net implement VirtioDevice; both run on the VM thread
// (their calls come from MMIO accesses and from the board's per-iteration poll).
#include "hw/virtio/SplitVirtqueue.h"
#include "hw/virtio/VirtioSpec.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace cxvm::hw::virtio {

// Services of the transport for its device.
class VirtioTransport {
public:
    // Used buffers were returned: ISR bit 0 and the interrupt (4.1.4.5).
    virtual void interruptQueue() = 0;
    // The device met a driver error it cannot recover from: DEVICE_NEEDS_RESET and a
    // configuration change notification (2.1.2). The device stops using its queues.
    virtual void deviceNeedsReset() = 0;
    [[nodiscard]] virtual std::uint64_t negotiatedFeatures() const = 0;
    // The device status register (2.1): a device working outside notifications (from
    // poll()) checks DRIVER_OK and DEVICE_NEEDS_RESET here.
    [[nodiscard]] virtual std::uint8_t deviceStatus() const = 0;

protected:
    ~VirtioTransport() = default;
};

class VirtioDevice {
public:
    virtual ~VirtioDevice() = default;

    [[nodiscard]] virtual std::string_view name() const = 0;
    [[nodiscard]] virtual DeviceType type() const = 0;
    // Offered feature bits, including VIRTIO_F_VERSION_1 and the ring features the
    // device's queue handling supports.
    [[nodiscard]] virtual std::uint64_t features() const = 0;
    [[nodiscard]] virtual std::span<SplitVirtqueue> queues() = 0;
    // Device-specific configuration space (e.g. struct virtio_blk_config).
    [[nodiscard]] virtual std::span<const std::uint8_t> config() const = 0;
    virtual void writeConfig(unsigned /*offset*/, std::span<const std::uint8_t> /*bytes*/) {}

    // Called once by the transport that carries the device.
    virtual void bind(VirtioTransport& transport) = 0;
    // The driver kicked queue `index` (DRIVER_OK set, device not broken).
    virtual void notify(unsigned index) = 0;
    // Device reset (status written 0): stop, wait for in-flight work to end (it may be
    // writing guest memory), forget it. The transport then resets the queues.
    virtual void reset() = 0;
    // VM thread, every loop iteration: hand back work finished elsewhere (I/O threads).
    virtual void poll() {}
};

}  // namespace cxvm::hw::virtio
