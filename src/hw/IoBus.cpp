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
    devices_.push_back(&dev);
    auto slot = static_cast<std::uint16_t>(devices_.size() - 1);
    for (std::uint32_t p = first; p < first + count; ++p) index_[p] = slot;
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
