#pragma once
// virtio-net (virtio 1.2, 5.1): one receive queue (0) and one transmit queue (1) of
// kQueueSize, a MAC address (VIRTIO_NET_F_MAC), link status (VIRTIO_NET_F_STATUS,
// always up), the MTU (VIRTIO_NET_F_MTU, 1500) and mergeable receive buffers
// (VIRTIO_NET_F_MRG_RXBUF). No checksum or segmentation offloads: the backends (slirp,
// a tap device) would have to compute checksums or segment on the host for them, and a
// 1500-byte MTU keeps every frame within a fixed ring slot (docs/network.md says more).
// No control queue, no multiqueue.
//
// Data path: frames cross to the backend's thread through its preallocated rings
// (net::NetBackend). The VM thread copies a transmitted frame out of the guest's
// buffers into a tx() slot in notify(), and copies received frames from rx() into the
// guest's receive buffers in notify() (new buffers) and poll() (new frames, after the
// backend's Vm::kick). Nothing is allocated per frame.
//
// Guest errors: a broken chain (SplitVirtqueue's checks) or a receive buffer with
// device-readable descriptors gets a rate-limited log line and DEVICE_NEEDS_RESET
// (2.1.2); a transmitted frame the device cannot send (shorter than the header, larger
// than the MTU allows, asking for offloads that were not negotiated) is dropped, counted
// and logged, and its buffer returned.
#include "hw/GuestMemory.h"
#include "hw/virtio/NetHeader.h"
#include "hw/virtio/VirtioDevice.h"
#include "net/NetBackend.h"
#include "net/NetOptions.h"
#include "util/WarnLimiter.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cxvm::hw::virtio {

class VirtioNet final : public VirtioDevice {
public:
    static constexpr std::uint16_t kQueueSize = 256;
    static constexpr unsigned kRxQueue = 0, kTxQueue = 1;
    static constexpr std::uint16_t kMtu = 1500;
    // struct virtio_net_config (5.1.4) up to mtu: mac[6], status, max_virtqueue_pairs, mtu.
    static constexpr std::size_t kConfigSize = 12;

    struct Counters {
        std::uint64_t rxFrames = 0, rxBytes = 0;
        std::uint64_t rxDroppedSmallBuffer = 0;  // the guest's buffer could not hold the frame
        std::uint64_t txFrames = 0, txBytes = 0;
        std::uint64_t txDroppedMalformed = 0;  // shorter than header + Ethernet header, or offloads asked
        std::uint64_t txDroppedOversize = 0;   // larger than net::kMaxFrameBytes
    };

    // `backend` is started by the owner (NetBackend::start with Vm::kick).
    VirtioNet(std::unique_ptr<cxvm::net::NetBackend> backend, const cxvm::net::MacAddress& mac,
              const GuestMemory& memory, std::string name);
    ~VirtioNet() override;

    [[nodiscard]] std::string_view name() const override { return name_; }
    [[nodiscard]] DeviceType type() const override { return DeviceType::Net; }
    [[nodiscard]] std::uint64_t features() const override { return features_; }
    [[nodiscard]] std::span<SplitVirtqueue> queues() override { return queues_; }
    [[nodiscard]] std::span<const std::uint8_t> config() const override { return config_; }
    void bind(VirtioTransport& transport) override { transport_ = &transport; }
    void notify(unsigned index) override;
    void reset() override;
    void poll() override;

    [[nodiscard]] cxvm::net::NetBackend& backend() { return *backend_; }
    [[nodiscard]] const Counters& counters() const { return counters_; }
    // Received frames dropped because the guest gave no buffers (the backend's count).
    [[nodiscard]] std::uint64_t rxDroppedNoBuffers() const { return backend_->rxDroppedFull(); }

private:
    // A receive buffer popped for the frame at the head of rx(): its writable segments.
    struct HeldBuffer {
        std::uint16_t head = 0;
        std::uint32_t firstSegment = 0, segments = 0;
        std::uint64_t bytes = 0;
    };
    [[nodiscard]] bool live() const;
    void transmit();
    void receive();
    // Places one frame in guest receive buffers; false when the guest has not given
    // enough buffers yet (the frame stays in rx()) or the device broke.
    enum class Place : std::uint8_t { Done, Dropped, Waiting };
    Place place(std::span<const std::uint8_t> frame);
    void returnHeld(std::span<const std::uint8_t> header, std::span<const std::uint8_t> frame);
    void broken(unsigned queue, const ChainFault& fault);
    void signal();

    std::string name_;
    const GuestMemory& memory_;
    std::unique_ptr<cxvm::net::NetBackend> backend_;
    std::uint64_t features_ = 0;
    std::array<std::uint8_t, kConfigSize> config_{};
    std::vector<SplitVirtqueue> queues_;
    std::vector<ChainSegment> chainStorage_;  // the chain being popped
    // Receive buffers held for the frame being placed. Only segments up to the bytes the
    // frame needs are kept, each at least one byte: at most header + frame of them.
    std::vector<ChainSegment> heldSegments_;
    std::vector<HeldBuffer> held_;
    std::uint64_t heldBytes_ = 0;
    bool txBlocked_ = false;   // tx() was full: resume in poll()
    bool needsReset_ = false;  // this device asked for DEVICE_NEEDS_RESET
    VirtioTransport* transport_ = nullptr;
    WarnLimiter warnings_;  // VM thread
    Counters counters_;
};

}  // namespace cxvm::hw::virtio
