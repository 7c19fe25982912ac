#include "hw/MmioBus.h"

#include "util/Error.h"
#include "util/Log.h"

#include <algorithm>

namespace cxvm::hw {

void MmioBus::attach(std::uint64_t gpa, std::uint64_t size, MmioDevice& dev) {
    if (size == 0 || gpa + size < gpa)
        throw Error::format("{}: MMIO range {:#x}+{:#x} is empty or wraps", dev.name(), gpa, size);
    for (const auto& r : ranges_)
        if (gpa < r.gpa + r.size && r.gpa < gpa + size)
            throw Error::format("{}: MMIO range {:#x}+{:#x} overlaps {}", dev.name(), gpa, size,
                                r.dev->name());
    ranges_.push_back({gpa, size, &dev});
    std::sort(ranges_.begin(), ranges_.end(), [](auto& a, auto& b) { return a.gpa < b.gpa; });
}

void MmioBus::detach(MmioDevice& dev) {
    std::erase_if(ranges_, [&dev](const Range& r) { return r.dev == &dev; });
}

const MmioBus::Range* MmioBus::find(std::uint64_t gpa) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), gpa,
                               [](std::uint64_t a, const Range& r) { return a < r.gpa; });
    if (it == ranges_.begin()) return nullptr;
    --it;
    return gpa - it->gpa < it->size ? &*it : nullptr;
}

std::uint64_t MmioBus::read(std::uint64_t gpa, unsigned size) {
    if (const Range* r = find(gpa)) return r->dev->mmioRead(gpa - r->gpa, size);
    logUnclaimed(gpa, false);
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

void MmioBus::write(std::uint64_t gpa, unsigned size, std::uint64_t value) {
    if (const Range* r = find(gpa)) return r->dev->mmioWrite(gpa - r->gpa, size, value);
    logUnclaimed(gpa, true);
}

void MmioBus::logUnclaimed(std::uint64_t gpa, bool write) {
    if (loggedPages_.insert(gpa >> 12).second)
        log::debug("mmio: unclaimed {} at guest {:#x} (logged once per page)",
                   write ? "write" : "read", gpa);
}

}  // namespace cxvm::hw
