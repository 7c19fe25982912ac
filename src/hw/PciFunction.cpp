#include "hw/PciFunction.h"

#include "util/Error.h"

#include <bit>

namespace cxvm::hw {

PciFunction::PciFunction(std::string name, const PciIds& ids) : name_(std::move(name)) {
    setConfig16(kVendorId, ids.vendor);
    setConfig16(kVendorId + 2, ids.device);
    // Command: I/O, memory, bus master, parity error response, SERR#, INTx disable.
    setConfig16(kCommand, 0, 0x0547);
    setConfig8(kRevision, ids.revision);
    setConfig8(kRevision + 1, static_cast<std::uint8_t>(ids.classCode));
    setConfig16(kRevision + 2, static_cast<std::uint16_t>(ids.classCode >> 8));
    setConfig8(kCacheLine, 0, 0xFF);
    setConfig8(kLatency, 0, 0xFF);
    setConfig16(kSubsystemVendor, ids.subsystemVendor);
    setConfig16(kSubsystemVendor + 2, ids.subsystem);
    setConfig8(kInterruptLine, 0xFF, 0xFF);  // "unknown / not connected" until routed
    setConfig8(kInterruptPin, ids.interruptPin);
    // Status: the error bits (15..11, 8) are write-one-to-clear.
    writeOneToClear_[kStatus] = 0x00;
    writeOneToClear_[kStatus + 1] = 0xF9;
}

void PciFunction::setConfig8(unsigned offset, std::uint8_t value, std::uint8_t writable) {
    config_.at(offset) = value;
    writable_.at(offset) = writable;
}
void PciFunction::setConfig16(unsigned offset, std::uint16_t value, std::uint16_t writable) {
    setConfig8(offset, static_cast<std::uint8_t>(value), static_cast<std::uint8_t>(writable));
    setConfig8(offset + 1, static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(writable >> 8));
}
void PciFunction::setConfig32(unsigned offset, std::uint32_t value, std::uint32_t writable) {
    setConfig16(offset, static_cast<std::uint16_t>(value), static_cast<std::uint16_t>(writable));
    setConfig16(offset + 2, static_cast<std::uint16_t>(value >> 16), static_cast<std::uint16_t>(writable >> 16));
}
std::uint16_t PciFunction::read16(unsigned offset) const {
    return static_cast<std::uint16_t>(config_[offset] | config_[offset + 1] << 8);
}

std::uint32_t PciFunction::configRead(unsigned offset, unsigned size) const {
    std::uint32_t r = 0;
    for (unsigned i = 0; i < size; ++i) r |= std::uint32_t{config_[(offset + i) & 0xFF]} << (8 * i);
    return r;
}

void PciFunction::configWrite(unsigned offset, unsigned size, std::uint32_t value) {
    bool decode = false;
    for (unsigned i = 0; i < size; ++i) {
        const unsigned o = (offset + i) & 0xFF;
        const auto v = static_cast<std::uint8_t>(value >> (8 * i));
        const std::uint8_t before = config_[o];
        config_[o] = static_cast<std::uint8_t>((before & ~writable_[o]) | (v & writable_[o]));
        config_[o] &= static_cast<std::uint8_t>(~(v & writeOneToClear_[o]));
        if (config_[o] != before && ((o >= kCommand && o < kCommand + 2) || (o >= kBar0 && o < kBar0 + 4 * kBars)))
            decode = true;
    }
    if (decode && onDecodeChanged) onDecodeChanged(*this);
}

void PciFunction::defineBar(unsigned index, PciBarKind kind, std::uint64_t size) {
    const bool is64 = kind == PciBarKind::Memory64 || kind == PciBarKind::Memory64Prefetchable;
    const bool io = kind == PciBarKind::Io;
    if (index >= kBars || (is64 && index + 1 >= kBars))
        throw Error::format("pci {}: BAR {} out of range", name_, index);
    if (bars_[index].size || bars_[index].upperHalf || (is64 && (bars_[index + 1].size || bars_[index + 1].upperHalf)))
        throw Error::format("pci {}: BAR {} already defined", name_, index);
    if (!std::has_single_bit(size) || size < (io ? 4u : 16u) || (io && size > 256) || (!is64 && size > (1ull << 31)))
        throw Error::format("pci {}: BAR {} size {:#x} invalid (power of two, I/O 4..256, memory >= 16)", name_,
                            index, size);
    bars_[index] = Bar{kind, size, false};
    // Low type bits (spec 6.2.5.1): I/O = 1; memory: type 00 (32-bit) / 10 (64-bit), prefetchable bit 3.
    std::uint32_t type = io ? 0x1 : 0x0;
    if (is64) type |= 0x4;
    if (kind == PciBarKind::Memory64Prefetchable || kind == PciBarKind::Memory32Prefetchable) type |= 0x8;
    const auto mask = static_cast<std::uint32_t>(~(size - 1));
    setConfig32(kBar0 + 4 * index, type, mask & (io ? 0xFFFF'FFFCu : 0xFFFF'FFF0u));
    if (is64) {
        bars_[index + 1] = Bar{kind, 0, true};
        setConfig32(kBar0 + 4 * (index + 1), 0, static_cast<std::uint32_t>(~(size - 1) >> 32));
    }
}

unsigned PciFunction::addCapability(std::uint8_t id, std::span<const std::uint8_t> body,
                                   std::span<const std::uint8_t> writable) {
    if (!writable.empty() && writable.size() != body.size())
        throw Error::format("pci {}: capability {:#x}: write mask of {} bytes for a {}-byte body", name_, id,
                            writable.size(), body.size());
    const unsigned offset = nextCapability_;
    const unsigned end = offset + 2 + static_cast<unsigned>(body.size());
    if (end > kConfigSize)
        throw Error::format("pci {}: capability {:#x} ({} bytes) does not fit in config space at {:#x}", name_, id,
                            body.size() + 2, offset);
    setConfig8(offset, id);
    setConfig8(offset + 1, 0);  // end of list
    for (std::size_t i = 0; i < body.size(); ++i)
        setConfig8(offset + 2 + static_cast<unsigned>(i), body[i], writable.empty() ? 0 : writable[i]);
    // Link it: from 0x34 for the first, else from the previous capability's next pointer.
    config_[lastCapability_ ? lastCapability_ + 1 : kCapabilities] = static_cast<std::uint8_t>(offset);
    config_[kStatus] |= 0x10;  // capabilities list present
    lastCapability_ = offset;
    nextCapability_ = (end + 3) & ~3u;
    return offset;
}

std::optional<std::uint64_t> PciFunction::barAddress(unsigned index) const {
    if (index >= kBars || bars_[index].size == 0) return std::nullopt;
    const Bar& b = bars_[index];
    const bool io = b.kind == PciBarKind::Io;
    if (!(command() & (io ? kCommandIo : kCommandMemory))) return std::nullopt;
    std::uint64_t addr = configRead(kBar0 + 4 * index, 4) & (io ? 0xFFFF'FFFCu : 0xFFFF'FFF0u);
    if (b.kind == PciBarKind::Memory64 || b.kind == PciBarKind::Memory64Prefetchable)
        addr |= std::uint64_t{configRead(kBar0 + 4 * (index + 1), 4)} << 32;
    const std::uint64_t sizingPattern = ~(b.size - 1) & (io ? 0xFFFF'FFFCu : ~std::uint64_t{0xF});
    if (addr == 0 || addr == sizingPattern || (!io && addr == (sizingPattern & 0xFFFF'FFF0u))) return std::nullopt;
    return addr;
}

}  // namespace cxvm::hw
