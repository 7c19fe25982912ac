#include "vmm/NetFlag.h"

#include <fmt/format.h>

namespace cxvm::vmm {

net::NicOptions parseNetFlag(std::string_view value) {
    const std::string what = fmt::format("--net {}", value);
    net::NicOptions n = net::parseNetSpec(value, what);
    n.origin = what;  // the backend's errors (hostfwd port in use, tap missing) name the flag
    return n;
}

}  // namespace cxvm::vmm
