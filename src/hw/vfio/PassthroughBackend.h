#pragma once
// What the guest-visible passthrough function (VfioPciFunction) needs of the host
// device: its config space, its BARs' contents and its INTx. VfioBackend implements it
// over a VFIO device; the unit tests use a fake one.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace cxvm::hw::vfio {

// A part of a memory BAR that the host lets cxvm map (docs/passthrough.md "Mapped
// BARs"): its offset within the BAR and its bytes in this process, page aligned.
struct MappedBarArea {
    std::uint64_t offset = 0;
    std::span<std::uint8_t> host;
};

class PassthroughBackend {
public:
    virtual ~PassthroughBackend() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // The host function's config space (as VFIO presents it), 1/2/4 bytes, little-endian.
    [[nodiscard]] virtual std::uint32_t readConfig(unsigned offset, unsigned size) const = 0;
    virtual void writeConfig(unsigned offset, unsigned size, std::uint32_t value) = 0;
    // BAR `bar`'s size in bytes (0: none). Accesses are bounds-checked (cxvm::Error).
    [[nodiscard]] virtual std::uint64_t barSize(unsigned bar) const = 0;
    virtual void readBar(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out) = 0;
    virtual void writeBar(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> in) = 0;
    // INTx to `eventfd` (-1: off). The host masks the line at each interrupt until
    // unmaskIntx().
    virtual void routeIntx(int eventfd) = 0;
    virtual void unmaskIntx() = 0;
    // The mapped parts of BAR `bar`, in offset order, owned by the backend (valid while
    // it lives). Empty: every access goes through readBar/writeBar.
    [[nodiscard]] virtual std::vector<MappedBarArea> mappedAreas(unsigned /*bar*/) const { return {}; }
};

}  // namespace cxvm::hw::vfio
