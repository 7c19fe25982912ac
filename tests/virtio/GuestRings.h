#pragma once
// A test "driver" side of a split virtqueue (virtio 1.2, 2.7): writes descriptors and
// the driver ring into guest memory and reads the device ring back, exactly as a guest
// would lay them out. Hostile tests write whatever they like through the same calls.
#include "hw/GuestMemory.h"
#include "hw/virtio/VirtioSpec.h"

#include <cstdint>
#include <cstring>

namespace cxvm::test {

struct GuestRings {
    const hw::GuestMemory& mem;
    std::uint64_t desc = 0x10000, avail = 0x11000, used = 0x12000;
    std::uint16_t size = 128;
    std::uint16_t availIdx = 0;

    template <typename T>
    void put(std::uint64_t gpa, T v) const {
        mem.write(gpa, {reinterpret_cast<const std::uint8_t*>(&v), sizeof v});
    }
    template <typename T>
    T get(std::uint64_t gpa) const {
        T v;
        mem.read(gpa, {reinterpret_cast<std::uint8_t*>(&v), sizeof v});
        return v;
    }
    void setDesc(std::uint16_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags = 0,
                 std::uint16_t next = 0, std::uint64_t table = 0) const {
        const std::uint64_t at = (table ? table : desc) + 16ull * i;
        put<std::uint64_t>(at, addr);
        put<std::uint32_t>(at + 8, len);
        put<std::uint16_t>(at + 12, flags);
        put<std::uint16_t>(at + 14, next);
    }
    // Makes chain `head` available (ring entry, then the index).
    void offer(std::uint16_t head) {
        put<std::uint16_t>(avail + 4 + 2ull * (availIdx % size), head);
        put<std::uint16_t>(avail + 2, ++availIdx);
    }
    void setAvailFlags(std::uint16_t f) const { put<std::uint16_t>(avail, f); }
    void setUsedEvent(std::uint16_t e) const { put<std::uint16_t>(avail + 4 + 2ull * size, e); }
    [[nodiscard]] std::uint16_t usedIdx() const { return get<std::uint16_t>(used + 2); }
    [[nodiscard]] std::uint32_t usedId(std::uint16_t i) const { return get<std::uint32_t>(used + 4 + 8ull * (i % size)); }
    [[nodiscard]] std::uint32_t usedLen(std::uint16_t i) const {
        return get<std::uint32_t>(used + 4 + 8ull * (i % size) + 4);
    }
    [[nodiscard]] std::uint16_t availEvent() const { return get<std::uint16_t>(used + 4 + 8ull * size); }
};

}  // namespace cxvm::test
