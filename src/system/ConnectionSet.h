#pragma once
// The kernel objects behind a system's connections, created by the supervisor before
// any component starts: an eventfd per consumed event interface, a sealed memfd per
// dataport connection, a SOCK_SEQPACKET socketpair per procedure client. Each instance
// later receives exactly the descriptors of its own connection ends.
#include "adl/Model.h"
#include "util/UniqueFd.h"

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::system {

class ConnectionSet {
public:
    // interface name -> the descriptors that implement it in one instance
    using Ends = std::map<std::string, std::vector<int>>;

    // Throws cxvm::Error (naming the spec place) for a connection the runtime cannot
    // build, or with errno's text when the kernel refuses an object.
    explicit ConnectionSet(const adl::System& system);

    // The connection ends of `instance` (empty when it has none). The descriptors stay
    // owned by this set; the caller duplicates what it hands on.
    [[nodiscard]] const Ends& endsOf(std::string_view instance) const;

    // Total number of descriptors held (for tests and diagnostics).
    [[nodiscard]] std::size_t objectCount() const { return owned_.size(); }

private:
    int keep(UniqueFd fd);
    void add(const std::string& instance, const std::string& iface, int fd);

    std::vector<UniqueFd> owned_;
    std::map<std::string, Ends, std::less<>> ends_;
};

}  // namespace cxvm::system
