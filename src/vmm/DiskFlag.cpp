#include "vmm/DiskFlag.h"

#include "util/Error.h"

namespace cxvm::vmm {

hw::virtio::DiskOptions parseDiskFlag(std::string_view value) {
    hw::virtio::DiskOptions d;
    std::string_view file = value;
    if (const auto comma = value.rfind(','); comma != std::string_view::npos) {
        const std::string_view opt = value.substr(comma + 1);
        if (opt == "ro") {
            d.readOnly = true;
            file = value.substr(0, comma);
        } else if (opt == "rw") {
            file = value.substr(0, comma);
        } else {
            throw Error::format("--disk {}: unknown option '{}' (expected FILE or FILE,ro)", value, opt);
        }
    }
    if (file.empty()) throw Error::format("--disk {}: no file name (expected FILE or FILE,ro)", value);
    d.path = std::string(file);
    d.origin = fmt::format("--disk {}", value);  // the image's open errors name the flag
    return d;
}

}  // namespace cxvm::vmm
