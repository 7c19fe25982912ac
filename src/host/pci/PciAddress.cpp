#include "host/pci/PciAddress.h"

#include "util/Error.h"

#include <fmt/format.h>

#include <optional>

namespace cxvm::host::pci {
namespace {

// 1..maxDigits hex digits, parsed; nullopt for anything else.
std::optional<unsigned> hexField(std::string_view s, std::size_t maxDigits) {
    if (s.empty() || s.size() > maxDigits) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        unsigned d;
        if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
        else return std::nullopt;
        v = v * 16 + d;
    }
    return v;
}

std::optional<PciAddress> tryParse(std::string_view text) {
    // Split "[domain:]bus:device.function".
    const auto dot = text.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string_view fn = text.substr(dot + 1);
    std::string_view head = text.substr(0, dot);
    const auto c2 = head.rfind(':');
    if (c2 == std::string_view::npos) return std::nullopt;
    const std::string_view dev = head.substr(c2 + 1);
    head = head.substr(0, c2);
    std::string_view dom = "0", bus = head;
    if (const auto c1 = head.rfind(':'); c1 != std::string_view::npos) {
        dom = head.substr(0, c1);
        bus = head.substr(c1 + 1);
    }
    const auto d = hexField(dom, 4), b = hexField(bus, 2), s = hexField(dev, 2), f = hexField(fn, 1);
    if (!d || !b || !s || !f || *s > 31 || *f > 7) return std::nullopt;
    return PciAddress{static_cast<std::uint16_t>(*d), static_cast<std::uint8_t>(*b),
                      static_cast<std::uint8_t>(*s), static_cast<std::uint8_t>(*f)};
}

}  // namespace

PciAddress PciAddress::parse(std::string_view text) {
    if (auto a = tryParse(text)) return *a;
    throw Error::format(
        "'{}' is not a PCI address: expected [domain:]bus:device.function in hex, "
        "like 0000:00:1f.2 or 00:1f.2 (device 00-1f, function 0-7)",
        text);
}

bool PciAddress::valid(std::string_view text) { return tryParse(text).has_value(); }

std::string PciAddress::toString() const {
    return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", domain, bus, device, function);
}

}  // namespace cxvm::host::pci
