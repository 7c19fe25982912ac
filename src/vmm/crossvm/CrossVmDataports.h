#pragma once
// Dataports on the VMM side (docs/crossvm.md "VMM side", crossvm-abi.md token 1): the
// guest allocates a page-aligned buffer and SHAREs it; the VMM checks the request
// against the spec and then makes those guest pages *be* the dataport's memfd pages
// (GuestMemory::overlay), so the guest and the native component see one memory.
#include "hw/GuestMemory.h"
#include "vmm/crossvm/CrossVmAbi.h"
#include "vmm/crossvm/CrossVmConfig.h"
#include "vmm/crossvm/WarnLimiter.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace cxvm::vmm::crossvm {

// A guest-physical range [gpa, gpa + size).
struct GuestRange {
    std::uint64_t gpa = 0, size = 0;
    [[nodiscard]] bool overlaps(std::uint64_t g, std::uint64_t s) const {
        return g < gpa + size && gpa < g + s;
    }
};

class CrossVmDataports {
public:
    // Throws cxvm::Error for a bad config (id 0 or repeated, size 0 or too big, memfd
    // smaller than the size): those are the spec's or the system layer's errors.
    CrossVmDataports(hw::GuestMemory& memory, std::vector<CrossVmDataport> dataports,
                     WarnLimiter& warnings);

    // SHARE(id, gpa, size). `eventPage` (if set) may not be covered: the VMM writes it.
    // Never throws for guest input; every refusal is logged (rate-limited).
    Result share(std::uint32_t id, std::uint32_t gpa, std::uint32_t size,
                 std::optional<GuestRange> eventPage);

    // Whether [gpa, gpa+size) touches a shared dataport.
    [[nodiscard]] bool overlapsShared(std::uint64_t gpa, std::uint64_t size) const;
    // Where dataport `id` is shared (nullopt: not shared, or no such id).
    [[nodiscard]] std::optional<GuestRange> sharedAt(std::uint32_t id) const;
    [[nodiscard]] const std::vector<CrossVmDataport>& config() const { return ports_; }

private:
    hw::GuestMemory& memory_;
    std::vector<CrossVmDataport> ports_;
    std::vector<std::optional<GuestRange>> shared_;  // parallel to ports_
    WarnLimiter& warnings_;
};

}  // namespace cxvm::vmm::crossvm
