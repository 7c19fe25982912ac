#pragma once
// virtio-blk (virtio 1.2, 5.2) on an image file: one request queue of kQueueSize
// entries; read, write, flush (VIRTIO_BLK_F_FLUSH -> fdatasync), get-id; read-only disks
// (VIRTIO_BLK_F_RO); capacity from the file size in 512-byte sectors.
//
// Data path: the VM thread pops and parses requests (SplitVirtqueue, blk::parseRequest)
// into a slot per head descriptor, and an IoWorker thread runs them with one preadv /
// pwritev per request on the guest's buffers. Completions come back to the VM thread
// (poll(), from the board every loop iteration), which returns them in the used ring
// and interrupts. Requests, iovecs and rings are sized once by the queue: nothing is
// allocated per request.
//
// Ordering: the worker runs requests in the order the driver made them available, so
// a flush completes after every write completed before it was submitted — a write the
// guest saw complete, followed by a completed flush, is on the file (fdatasync).
//
// Guest errors: a broken chain (SplitVirtqueue's checks) or one without room for the
// header or status gets a rate-limited log line and DEVICE_NEEDS_RESET; a request the
// device refuses (read-only, beyond capacity, bad length or direction) gets
// VIRTIO_BLK_S_IOERR (unknown types VIRTIO_BLK_S_UNSUPP) and a rate-limited log line,
// and never reaches the image.
#include "hw/GuestMemory.h"
#include "hw/virtio/BlockRequest.h"
#include "hw/virtio/DiskImage.h"
#include "hw/virtio/IoWorker.h"
#include "hw/virtio/VirtioDevice.h"
#include "util/WarnLimiter.h"

#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace cxvm::hw::virtio {

class VirtioBlk final : public VirtioDevice {
public:
    static constexpr std::uint16_t kQueueSize = 128;
    // Data segments per request (VIRTIO_BLK_F_SEG_MAX): header and status take two
    // descriptors of a chain no longer than the queue.
    static constexpr std::uint32_t kSegMax = kQueueSize - 2;
    static constexpr std::size_t kConfigSize = 0x3C;  // struct virtio_blk_config up to write_zeroes_may_unmap

    // Opens the image (DiskImage::open; throws cxvm::Error naming the file). `wake` is
    // called from the I/O thread when completions wait (Vm::kick). `threaded` false runs
    // requests inside the notification (deterministic mode, tests).
    VirtioBlk(const DiskOptions& options, const GuestMemory& memory, std::string name,
              IoWorker::Wake wake, bool threaded = true);
    ~VirtioBlk() override;

    [[nodiscard]] std::string_view name() const override { return name_; }
    [[nodiscard]] DeviceType type() const override { return DeviceType::Block; }
    [[nodiscard]] std::uint64_t features() const override { return features_; }
    [[nodiscard]] std::span<SplitVirtqueue> queues() override { return queues_; }
    [[nodiscard]] std::span<const std::uint8_t> config() const override { return config_; }
    void bind(VirtioTransport& transport) override { transport_ = &transport; }
    void notify(unsigned index) override;
    void reset() override;
    void poll() override;

    [[nodiscard]] const DiskImage& image() const { return image_; }
    [[nodiscard]] std::uint64_t requestsCompleted() const { return completed_; }
    [[nodiscard]] std::uint64_t requestsInFlight() const { return inFlight_; }

private:
    struct Slot {
        blk::Request request;
        std::array<iovec, kQueueSize> iov{};
        bool ok = false;  // set by the worker
    };
    void execute(std::uint16_t head);  // I/O thread
    void finish(std::uint16_t head);   // VM thread
    void noteDeviceWrites(const Slot& slot) const;
    void signalIfNeeded();

    std::string name_;
    const GuestMemory& memory_;
    DiskImage image_;
    std::uint64_t features_ = 0;
    std::array<std::uint8_t, kConfigSize> config_{};
    std::array<char, blk::kIdBytes> id_{};
    std::vector<SplitVirtqueue> queues_;
    std::vector<ChainSegment> chainStorage_;  // the chain being parsed
    std::vector<Slot> slots_;                 // one per head descriptor
    std::vector<std::uint16_t> completions_;  // scratch for poll()
    VirtioTransport* transport_ = nullptr;
    WarnLimiter warnings_;    // VM thread
    WarnLimiter ioWarnings_;  // I/O thread
    std::uint64_t completed_ = 0, inFlight_ = 0;
    IoWorker worker_;  // last: its thread stops before the slots go away
};

}  // namespace cxvm::hw::virtio
