#include "vmm/MemorySize.h"

#include "util/Error.h"

#include <cctype>
#include <charconv>

namespace cxvm::vmm {

std::uint64_t parseMemorySize(std::string_view text) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data())
        throw Error::format("memory size '{}': expected a number with an optional K, M or G "
                            "suffix (e.g. 128M)",
                            text);
    std::string suffix(end, text.data() + text.size());
    for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    unsigned shift = 0;
    if (suffix.empty() || suffix == "M" || suffix == "MB" || suffix == "MIB")
        shift = 20;
    else if (suffix == "K" || suffix == "KB" || suffix == "KIB")
        shift = 10;
    else if (suffix == "G" || suffix == "GB" || suffix == "GIB")
        shift = 30;
    else
        throw Error::format("memory size '{}': unknown unit '{}' (use K, M or G)", text, suffix);
    if (n > (kMaxGuestRam >> shift) || (n << shift) > kMaxGuestRam)
        throw Error::format("memory size '{}': more than the {} MiB a 32-bit PC guest can have "
                            "below the PCI hole",
                            text, kMaxGuestRam >> 20);
    const std::uint64_t bytes = n << shift;
    if (bytes < kMinGuestRam)
        throw Error::format("memory size '{}': at least {} MiB", text, kMinGuestRam >> 20);
    return bytes;
}

}  // namespace cxvm::vmm
