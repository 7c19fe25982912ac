#include "hw/IoBus.h"

#include "util/Error.h"
#include "util/Log.h"

namespace cxvm::hw {

IoBus::IoBus() : devices_{nullptr}, logged_(65536, false) {}

void IoBus::attach(std::uint16_t first, std::uint32_t count, IoDevice& dev) {
    if (count == 0 || first + count > 65536)
        throw Error::format("{}: I/O range {:#x}+{:#x} out of the port space", dev.name(), first, count);
    for (std::uint32_t p = first; p < first + count; ++p)
        if (index_[p] != 0)
            throw Error::format("{}: port {:#x} already claimed by {}", dev.name(), p,
                                devices_[index_[p]]->name());
    // Reuse a slot detach() freed (a guest moving a BAR in a loop must not grow the table).
    std::size_t free = 1;
    while (free < devices_.size() && devices_[free] != nullptr && devices_[free] != &dev) ++free;
    if (free == devices_.size()) devices_.push_back(&dev);
    devices_[free] = &dev;
    auto slot = static_cast<std::uint16_t>(free);
    for (std::uint32_t p = first; p < first + count; ++p) index_[p] = slot;
}

void IoBus::detach(IoDevice& dev) {
    for (std::size_t slot = 1; slot < devices_.size(); ++slot) {
        if (devices_[slot] != &dev) continue;
        for (auto& i : index_)
            if (i == slot) i = 0;
        devices_[slot] = nullptr;
    }
}

std::uint32_t IoBus::read(std::uint16_t port, unsigned size) {
    if (IoDevice* d = devices_[index_[port]]) return d->ioRead(port, size);
    logUnclaimed(port, false, size, 0);
    return size == 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1;
}

void IoBus::write(std::uint16_t port, unsigned size, std::uint32_t value) {
    if (IoDevice* d = devices_[index_[port]]) return d->ioWrite(port, size, value);
    logUnclaimed(port, true, size, value);
}

void IoBus::logUnclaimed(std::uint16_t port, bool write, unsigned size, std::uint32_t value) {
    if (logged_[port]) return;
    logged_[port] = true;
    if (write)
        log::debug("io: unclaimed port {:#06x} write{} {:#x} (logged once)", port, size * 8, value);
    else
        log::debug("io: unclaimed port {:#06x} read{} (logged once)", port, size * 8);
}

}  // namespace cxvm::hw
