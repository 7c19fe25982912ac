#include "net/FrameRing.h"

namespace cxvm::net {

FrameRing::FrameRing(std::size_t slots, std::size_t slotBytes)
    : slots_(slots), slotBytes_(slotBytes), bytes_(slots * slotBytes), lengths_(slots) {}

std::span<std::uint8_t> FrameRing::reserve() {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    // Acquire: the consumer finished reading the slot before it moved head_ past it.
    if (tail - head_.load(std::memory_order_acquire) >= slots_) return {};
    return {bytes_.data() + (tail % slots_) * slotBytes_, slotBytes_};
}

void FrameRing::commit(std::size_t len) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    lengths_[tail % slots_] = static_cast<std::uint32_t>(len);
    tail_.store(tail + 1, std::memory_order_release);  // the bytes and length first
}

bool FrameRing::empty() const {
    return head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_acquire);
}

std::size_t FrameRing::size() const {
    return static_cast<std::size_t>(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_relaxed));
}

std::span<const std::uint8_t> FrameRing::front() const {
    const std::uint64_t i = head_.load(std::memory_order_relaxed) % slots_;
    return {bytes_.data() + i * slotBytes_, lengths_[i]};
}

void FrameRing::pop() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

void FrameRing::clear() { head_.store(tail_.load(std::memory_order_acquire), std::memory_order_release); }

}  // namespace cxvm::net
