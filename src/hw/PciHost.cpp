#include "hw/PciHost.h"

#include "util/Error.h"

namespace cxvm::hw {

namespace {
std::uint32_t allOnes(unsigned size) { return size == 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1; }
}  // namespace

PciHost::PciHost()
    : bridge_(std::make_unique<PciFunction>(
          "i440fx-host-bridge", PciIds{.vendor = 0x8086, .device = 0x1237, .classCode = 0x060000, .revision = 0x02})) {
    addFunction(PciAddress{0, 0, 0}, *bridge_);
}

void PciHost::attach(IoBus& bus) { bus.attach(kConfigAddressPort, 8, *this); }

void PciHost::addFunction(PciAddress address, PciFunction& function) {
    if (address.device > 31 || address.function > 7)
        throw Error::format("pci: {:02x}:{:02x}.{} is not a valid address for {}", address.bus, address.device,
                            address.function, function.name());
    auto [it, inserted] = functions_.emplace(address.key(), &function);
    if (!inserted)
        throw Error::format("pci: {:02x}:{:02x}.{} already holds {}, cannot add {}", address.bus, address.device,
                            address.function, it->second->name(), function.name());
}

std::uint8_t PciHost::freeSlot() const {
    for (std::uint8_t dev = 1; dev < 32; ++dev)
        if (!functions_.contains(PciAddress{0, dev, 0}.key())) return dev;
    throw Error("pci: bus 0 has no free slot");
}

PciFunction* PciHost::functionAt(PciAddress address) const {
    auto it = functions_.find(address.key());
    return it == functions_.end() ? nullptr : it->second;
}

PciFunction* PciHost::selected() const {
    if (!(configAddress_ & 0x8000'0000u)) return nullptr;
    return functionAt(PciAddress{static_cast<std::uint8_t>(configAddress_ >> 16),
                                 static_cast<std::uint8_t>(configAddress_ >> 11 & 0x1F),
                                 static_cast<std::uint8_t>(configAddress_ >> 8 & 0x7)});
}

std::uint32_t PciHost::ioRead(std::uint16_t port, unsigned size) {
    if (port < kConfigDataPort) {
        if (port == kConfigAddressPort && size == 4) return configAddress_;
        return narrowCf8_ ? narrowCf8_->ioRead(port, size) : allOnes(size);
    }
    const unsigned byte = port - kConfigDataPort;
    if (byte + size > 4) return allOnes(size);  // would straddle the dword: not a config cycle
    PciFunction* f = selected();
    if (!f) return allOnes(size);  // master abort: all ones, so vendor 0xFFFF = no device
    return f->configRead((configAddress_ & 0xFC) + byte, size);
}

void PciHost::ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) {
    if (port < kConfigDataPort) {
        if (port == kConfigAddressPort && size == 4) {
            configAddress_ = value & 0x80FF'FFFCu;  // reserved bits 30..24 and 1..0 read 0
            return;
        }
        if (narrowCf8_) narrowCf8_->ioWrite(port, size, value);
        return;
    }
    const unsigned byte = port - kConfigDataPort;
    if (byte + size > 4) return;
    if (PciFunction* f = selected()) f->configWrite((configAddress_ & 0xFC) + byte, size, value);
}

}  // namespace cxvm::hw
