#pragma once
// Memory-mapped I/O bus: guest physical ranges that are not RAM/ROM, claimed by devices.
// Sorted ranges with binary search; accesses to unclaimed addresses read all ones and
// are logged once per page.
#include <cstdint>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace cxvm::hw {

class MmioDevice {
public:
    virtual ~MmioDevice() = default;
    // offset is relative to the start of the claimed range; size is 1, 2, 4 or 8.
    virtual std::uint64_t mmioRead(std::uint64_t offset, unsigned size) = 0;
    virtual void mmioWrite(std::uint64_t offset, unsigned size, std::uint64_t value) = 0;
    [[nodiscard]] virtual std::string_view name() const = 0;
};

class MmioBus {
public:
    // Claims [gpa, gpa+size). Throws cxvm::Error naming both devices on overlap.
    void attach(std::uint64_t gpa, std::uint64_t size, MmioDevice& dev);
    // Releases every range `dev` claimed (a PCI BAR moving or turned off).
    void detach(MmioDevice& dev);
    std::uint64_t read(std::uint64_t gpa, unsigned size);
    void write(std::uint64_t gpa, unsigned size, std::uint64_t value);

private:
    struct Range {
        std::uint64_t gpa, size;
        MmioDevice* dev;
    };
    const Range* find(std::uint64_t gpa) const;
    void logUnclaimed(std::uint64_t gpa, bool write);
    std::vector<Range> ranges_;
    std::unordered_set<std::uint64_t> loggedPages_;
};

}  // namespace cxvm::hw
