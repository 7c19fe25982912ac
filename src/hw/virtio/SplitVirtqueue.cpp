#include "hw/virtio/SplitVirtqueue.h"

#include "hw/virtio/VirtioSpec.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <utility>

namespace cxvm::hw::virtio {

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(ChainError::Count_)> kChainErrorText{
    "no error",
    "available index moved more than the queue size ahead",
    "head index in the available ring is not below the queue size",
    "next index is not below the table size",
    "buffer is not wholly guest memory",
    "device-writable buffer lies in read-only memory",
    "chain is longer than the queue size (a loop?)",
    "device-readable descriptor after a device-writable one",
    "indirect descriptor but VIRTIO_F_INDIRECT_DESC was not negotiated",
    "indirect descriptor also has VIRTQ_DESC_F_NEXT",
    "indirect descriptor inside an indirect table",
    "indirect table length is 0 or not a multiple of 16",
    "head is already in flight (offered again before the device returned it)",
};

constexpr std::array<std::string_view, static_cast<std::size_t>(RingError::Count_)> kRingErrorText{
    "no error",
    "queue size is 0, not a power of two or above the maximum",
    "ring address is misaligned (descriptors 16, driver ring 2, device ring 4)",
    "ring is not wholly guest RAM",
};

template <typename T>
T load(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);  // little-endian guest on a little-endian host
    return v;
}
template <typename T>
void store(std::uint8_t* p, T v) {
    std::memcpy(p, &v, sizeof v);
}

// 2.7.10.1: whether the used index moving from `oldIdx` to `newIdx` passes `event`.
bool needEvent(std::uint16_t event, std::uint16_t newIdx, std::uint16_t oldIdx) {
    return static_cast<std::uint16_t>(newIdx - event - 1) < static_cast<std::uint16_t>(newIdx - oldIdx);
}

}  // namespace

std::string_view describe(ChainError e) { return kChainErrorText.at(static_cast<std::size_t>(e)); }
std::string_view describe(RingError e) { return kRingErrorText.at(static_cast<std::size_t>(e)); }

SplitVirtqueue::SplitVirtqueue(std::uint16_t maxSize) : maxSize_(maxSize), inFlight_(maxSize) { reset(); }

void SplitVirtqueue::reset() {
    size = maxSize_;  // 4.1.4.3.2: queue_size reads the maximum after reset
    descAddr = driverAddr = deviceAddr = 0;
    enabled_ = broken_ = indirect_ = eventIdx_ = false;
    desc_ = avail_ = used_ = nullptr;
    lastAvail_ = usedIdx_ = signalledUsed_ = 0;
    std::fill(inFlight_.begin(), inFlight_.end(), false);
}

RingError SplitVirtqueue::enable(const GuestMemory& memory, bool indirect, bool eventIdx) {
    if (size == 0 || size > maxSize_ || !std::has_single_bit(size)) return RingError::BadSize;
    if (descAddr % 16 || driverAddr % 2 || deviceAddr % 4) return RingError::Misaligned;
    // 2.7: table 16 * size; driver ring flags, idx, ring[size], used_event; device ring
    // flags, idx, ring[size] of {id, len}, avail_event.
    const std::uint64_t descBytes = 16ull * size, availBytes = 6ull + 2ull * size,
                        usedBytes = 6ull + 8ull * size;
    auto ram = [&](std::uint64_t gpa, std::uint64_t len, bool writable) -> std::uint8_t* {
        const MemoryRegion* r = memory.regionAt(gpa);
        if (!r || (writable && r->readOnly)) return nullptr;
        return memory.tryHost(gpa, len);
    };
    desc_ = ram(descAddr, descBytes, false);
    avail_ = ram(driverAddr, availBytes, false);
    used_ = ram(deviceAddr, usedBytes, true);
    if (!desc_ || !avail_ || !used_) {
        desc_ = avail_ = used_ = nullptr;
        return RingError::OutsideRam;
    }
    memory_ = &memory;
    indirect_ = indirect;
    eventIdx_ = eventIdx;
    enabled_ = true;
    broken_ = false;
    lastAvail_ = usedIdx_ = signalledUsed_ = 0;
    std::fill(inFlight_.begin(), inFlight_.end(), false);
    return RingError::None;
}

std::uint16_t SplitVirtqueue::availIdx() const {
    // Acquire: the ring entries and descriptors the driver wrote before the index.
    return std::atomic_ref<std::uint16_t>(*reinterpret_cast<std::uint16_t*>(avail_ + 2))
        .load(std::memory_order_acquire);
}
std::uint16_t SplitVirtqueue::availFlags() const { return load<std::uint16_t>(avail_); }
std::uint16_t SplitVirtqueue::usedEvent() const { return load<std::uint16_t>(avail_ + 4 + 2u * size); }

bool SplitVirtqueue::hasAvailable() const { return enabled_ && !broken_ && availIdx() != lastAvail_; }

PopStatus SplitVirtqueue::fail(ChainFault& fault, ChainFault f) {
    broken_ = true;
    fault = f;
    return PopStatus::Broken;
}

PopStatus SplitVirtqueue::pop(DescriptorChain& chain, ChainFault& fault) {
    if (!enabled_ || broken_) return PopStatus::Empty;
    std::uint16_t avail = availIdx();
    if (avail == lastAvail_) {
        if (!eventIdx_) return PopStatus::Empty;
        // 2.7.10: ask for a notification when the next entry appears, then look again
        // in case the driver added one before it could see the request.
        store<std::uint16_t>(used_ + 4 + 8u * size, lastAvail_);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        avail = availIdx();
        if (avail == lastAvail_) return PopStatus::Empty;
    }
    if (static_cast<std::uint16_t>(avail - lastAvail_) > size)
        return fail(fault, {ChainError::AvailIndexJump, 0, avail, false, 0, 0});

    const std::uint16_t head = load<std::uint16_t>(avail_ + 4 + 2u * (lastAvail_ % size));
    if (head >= size) return fail(fault, {ChainError::HeadOutOfRange, head, head, false, 0, 0});
    if (inFlight_[head]) return fail(fault, {ChainError::HeadInFlight, head, head, false, 0, 0});
    chain.clear(head);

    // Walk the chain: the descriptor table first, then at most one indirect table.
    const std::uint8_t* table = desc_;
    std::uint32_t tableSize = size;
    bool inIndirect = false, sawWritable = false;
    std::uint16_t index = head;
    std::uint32_t buffers = 0;
    for (;;) {
        Desc d;  // one copy; checks and use see the same values
        std::memcpy(&d, table + 16u * index, sizeof d);
        auto bad = [&](ChainError e, std::uint64_t addr = 0, std::uint64_t len = 0) {
            return fail(fault, {e, head, index, inIndirect, addr, len});
        };
        if (d.flags & desc::kIndirect) {
            if (!indirect_) return bad(ChainError::IndirectNotNegotiated);
            if (inIndirect) return bad(ChainError::IndirectNested);
            if (d.flags & desc::kNext) return bad(ChainError::IndirectWithNext);
            if (d.len == 0 || d.len % desc::kSize) return bad(ChainError::IndirectBadLength, d.addr, d.len);
            const std::uint8_t* t = memory_->tryHost(d.addr, d.len);
            if (!t) return bad(ChainError::OutsideMemory, d.addr, d.len);
            table = t;
            tableSize = d.len / desc::kSize;
            inIndirect = true;
            index = 0;
            continue;
        }
        if (++buffers > size || buffers > chain.capacity()) return bad(ChainError::TooLong);
        const bool writable = d.flags & desc::kWrite;
        if (!writable && sawWritable) return bad(ChainError::ReadableAfterWritable);
        sawWritable |= writable;
        if (d.len) {
            std::uint8_t* host = memory_->tryHost(d.addr, d.len);
            if (!host) return bad(ChainError::OutsideMemory, d.addr, d.len);
            if (writable && memory_->regionAt(d.addr)->readOnly)
                return bad(ChainError::WritableIntoRom, d.addr, d.len);
            chain.add({host, d.addr, d.len}, writable);
        }
        if (!(d.flags & desc::kNext)) break;
        if (d.next >= tableSize) return bad(ChainError::NextOutOfRange, d.next);
        index = d.next;
    }
    ++lastAvail_;
    inFlight_[head] = true;
    return PopStatus::Ready;
}

void SplitVirtqueue::pushUsed(std::uint16_t head, std::uint32_t len) {
    if (!enabled_ || head >= size || !inFlight_[head]) return;
    inFlight_[head] = false;
    std::uint8_t* e = used_ + 4 + 8u * (usedIdx_ % size);
    store<std::uint32_t>(e, head);
    store<std::uint32_t>(e + 4, len);
    ++usedIdx_;
    // Release: the element (and the buffer contents) before the index (2.7.8.2).
    std::atomic_ref<std::uint16_t>(*reinterpret_cast<std::uint16_t*>(used_ + 2))
        .store(usedIdx_, std::memory_order_release);
}

bool SplitVirtqueue::takeInterruptNeed() {
    if (!enabled_ || usedIdx_ == signalledUsed_) return false;
    const std::uint16_t old = std::exchange(signalledUsed_, usedIdx_);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // used idx before used_event
    if (eventIdx_) return needEvent(usedEvent(), usedIdx_, old);
    return !(availFlags() & kAvailNoInterrupt);
}

}  // namespace cxvm::hw::virtio
