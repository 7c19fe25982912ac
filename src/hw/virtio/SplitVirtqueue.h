#pragma once
// The device side of a split virtqueue (virtio 1.2, 2.7): the descriptor table, the
// driver ("available") ring and the device ("used") ring in guest memory.
//
// Every guest-supplied value is checked before it is used: ring addresses and sizes
// when the queue is enabled (wholly guest RAM, aligned as 2.7 requires, the used ring
// not in ROM), the available index (at most queue-size entries ahead), each head and
// next index, every buffer address and length (wholly guest memory; device-writable
// buffers not in ROM), indirect tables (2.7.5.3), chain length (at most the queue size,
// 2.7.5.3.1 — so a loop ends there) and direction (readable before writable, 2.7.4.2).
// Each descriptor is copied out of guest memory once and the copy is checked and used,
// so a guest changing the table meanwhile cannot slip a value past a check.
//
// A violation is a ChainFault: the caller logs it and marks the device DEVICE_NEEDS_RESET
// (2.1.2); the queue stays stopped until the driver resets the device.
//
// Single-threaded: the VM thread owns a queue (the rings are touched nowhere else).
#include "hw/GuestMemory.h"
#include "hw/virtio/DescriptorChain.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace cxvm::hw::virtio {

enum class ChainError : std::uint8_t {
    None,
    AvailIndexJump,       // available index moved more than queue-size entries
    HeadOutOfRange,       // ring entry >= queue size
    NextOutOfRange,       // next index >= table size
    OutsideMemory,        // buffer or indirect table not wholly guest memory
    WritableIntoRom,      // device-writable buffer in a read-only region
    TooLong,              // more descriptors than the queue size: a loop, or too long
    ReadableAfterWritable,
    IndirectNotNegotiated,
    IndirectWithNext,     // VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT
    IndirectNested,       // INDIRECT inside an indirect table
    IndirectBadLength,    // indirect table length 0 or not a multiple of 16
    HeadInFlight,         // head of a chain the device has not returned yet
    Count_
};
[[nodiscard]] std::string_view describe(ChainError e);

struct ChainFault {
    ChainError error = ChainError::None;
    std::uint16_t head = 0, index = 0;  // head and offending descriptor (in its table)
    bool inIndirect = false;
    std::uint64_t addr = 0;  // offending address and length where that applies
    std::uint64_t len = 0;
};

enum class RingError : std::uint8_t { None, BadSize, Misaligned, OutsideRam, Count_ };
[[nodiscard]] std::string_view describe(RingError e);

enum class PopStatus : std::uint8_t { Empty, Ready, Broken };

class SplitVirtqueue {
public:
    explicit SplitVirtqueue(std::uint16_t maxSize);

    // ---- transport registers (4.1.4.3); valid while not enabled ----
    [[nodiscard]] std::uint16_t maxSize() const { return maxSize_; }
    std::uint16_t size = 0;  // the driver may write a smaller power of two
    std::uint64_t descAddr = 0, driverAddr = 0, deviceAddr = 0;

    // Starts the queue (queue_enable = 1): checks the ring layout against guest RAM.
    // `indirect` / `eventIdx`: the negotiated VIRTIO_F_INDIRECT_DESC / _EVENT_IDX.
    RingError enable(const GuestMemory& memory, bool indirect, bool eventIdx);
    [[nodiscard]] bool enabled() const { return enabled_; }
    // Device reset: back to the power-on register values.
    void reset();

    // Pops the next available chain into `chain` (whose storage holds at least `size`
    // segments). Broken: `fault` says why; the queue is then stopped.
    PopStatus pop(DescriptorChain& chain, ChainFault& fault);
    // Whether the driver has made buffers available that pop() has not taken.
    [[nodiscard]] bool hasAvailable() const;

    // Returns a chain to the driver: used element {head, len} and the used index.
    // Only heads that pop() returned and that are still out are accepted.
    void pushUsed(std::uint16_t head, std::uint32_t len);
    // Whether the driver wants an interrupt for the used entries pushed since the last
    // call (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with VIRTIO_F_EVENT_IDX, 2.7.10).
    bool takeInterruptNeed();

    [[nodiscard]] std::uint16_t lastAvailIndex() const { return lastAvail_; }
    [[nodiscard]] std::uint16_t usedIndex() const { return usedIdx_; }

private:
    struct Desc {
        std::uint64_t addr;
        std::uint32_t len;
        std::uint16_t flags, next;
    };
    [[nodiscard]] std::uint16_t availIdx() const;
    [[nodiscard]] std::uint16_t availFlags() const;
    [[nodiscard]] std::uint16_t usedEvent() const;
    PopStatus fail(ChainFault& fault, ChainFault f);

    const GuestMemory* memory_ = nullptr;
    std::uint16_t maxSize_;
    bool enabled_ = false, broken_ = false, indirect_ = false, eventIdx_ = false;
    std::uint8_t* desc_ = nullptr;   // host views of the rings, checked at enable()
    std::uint8_t* avail_ = nullptr;
    std::uint8_t* used_ = nullptr;
    std::uint16_t lastAvail_ = 0, usedIdx_ = 0, signalledUsed_ = 0;
    // Heads popped and not yet pushed back: a driver offering one of them again would
    // make two requests share the device's per-head state.
    std::vector<bool> inFlight_;
};

}  // namespace cxvm::hw::virtio
