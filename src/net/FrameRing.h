#pragma once
// A single-producer, single-consumer ring of Ethernet frames in fixed-size slots, all
// allocated once: the hand-over between a network backend's thread and the VM thread
// (docs/network.md "Data path"). The producer copies a frame into reserve(), then
// commit()s its length; the consumer reads front() and pop()s it. Nothing is allocated
// per frame and neither side ever blocks: a full ring is the producer's to handle
// (the backend drops the frame and counts it; the device stops taking TX buffers).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace cxvm::net {

class FrameRing {
public:
    FrameRing(std::size_t slots, std::size_t slotBytes);

    [[nodiscard]] std::size_t slotBytes() const { return slotBytes_; }
    [[nodiscard]] std::size_t capacity() const { return slots_; }

    // ---- producer ----
    // The next free slot (slotBytes() bytes), or an empty span when the ring is full.
    [[nodiscard]] std::span<std::uint8_t> reserve();
    // Publishes the reserved slot holding a frame of `len` bytes (1..slotBytes()).
    void commit(std::size_t len);

    // ---- consumer ----
    [[nodiscard]] bool empty() const;
    [[nodiscard]] std::size_t size() const;
    // The oldest frame; only when !empty().
    [[nodiscard]] std::span<const std::uint8_t> front() const;
    void pop();
    // Drops every published frame (device reset: they were meant for the old driver).
    void clear();

private:
    std::size_t slots_, slotBytes_;
    std::vector<std::uint8_t> bytes_;
    std::vector<std::uint32_t> lengths_;
    // Monotonic counts: head_ frames consumed, tail_ frames published.
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::atomic<std::uint64_t> tail_{0};
};

}  // namespace cxvm::net
