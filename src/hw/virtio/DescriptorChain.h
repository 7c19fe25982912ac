#pragma once
// A descriptor chain popped from a split virtqueue (virtio 1.2, 2.7.5 / 2.7.13.1): the
// guest buffers of one request, already checked to lie wholly in guest memory, device-
// readable segments first and device-writable ones after them (2.7.4.2). The segments
// live in storage the owner sizes once by the queue size, so popping a chain allocates
// nothing.
#include <cstdint>
#include <span>

namespace cxvm::hw::virtio {

struct ChainSegment {
    std::uint8_t* host = nullptr;  // [gpa, gpa + len) in host memory; checked when popped
    std::uint64_t gpa = 0;
    std::uint32_t len = 0;
};

class DescriptorChain {
public:
    DescriptorChain() = default;
    explicit DescriptorChain(std::span<ChainSegment> storage) : storage_(storage) {}

    // Head descriptor index: the id that goes back in the used ring.
    [[nodiscard]] std::uint16_t head() const { return head_; }
    [[nodiscard]] std::span<const ChainSegment> readable() const { return {storage_.data(), readable_}; }
    [[nodiscard]] std::span<const ChainSegment> writable() const {
        return {storage_.data() + readable_, count_ - readable_};
    }
    [[nodiscard]] std::uint64_t readableBytes() const { return readableBytes_; }
    [[nodiscard]] std::uint64_t writableBytes() const { return writableBytes_; }
    [[nodiscard]] std::size_t capacity() const { return storage_.size(); }

    // ---- filled by SplitVirtqueue::pop ----
    void clear(std::uint16_t head) {
        head_ = head;
        count_ = readable_ = 0;
        readableBytes_ = writableBytes_ = 0;
    }
    // False when the storage is full. Readable segments must come before writable ones
    // (the queue checks the order before calling this).
    bool add(const ChainSegment& s, bool writable) {
        if (count_ == storage_.size()) return false;
        storage_[count_++] = s;
        if (writable) {
            writableBytes_ += s.len;
        } else {
            ++readable_;
            readableBytes_ += s.len;
        }
        return true;
    }

private:
    std::span<ChainSegment> storage_;
    std::uint16_t head_ = 0;
    std::size_t count_ = 0, readable_ = 0;
    std::uint64_t readableBytes_ = 0, writableBytes_ = 0;
};

}  // namespace cxvm::hw::virtio
