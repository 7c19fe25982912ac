#pragma once
// PassthroughBackend over a VFIO device (host/vfio): config space and BARs through the
// device fd's regions, INTx through VFIO_DEVICE_SET_IRQS.
#include "host/vfio/VfioDevice.h"
#include "hw/vfio/PassthroughBackend.h"

#include <array>
#include <vector>
#include <optional>
#include <string>

namespace cxvm::hw::vfio {

class VfioBackend final : public PassthroughBackend {
public:
    explicit VfioBackend(host::vfio::VfioDevice device);

    [[nodiscard]] std::string_view name() const override { return name_; }
    [[nodiscard]] std::uint32_t readConfig(unsigned offset, unsigned size) const override;
    void writeConfig(unsigned offset, unsigned size, std::uint32_t value) override;
    [[nodiscard]] std::uint64_t barSize(unsigned bar) const override;
    void readBar(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out) override;
    void writeBar(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> in) override;
    void routeIntx(int eventfd) override;
    void unmaskIntx() override;
    [[nodiscard]] std::vector<MappedBarArea> mappedAreas(unsigned bar) const override;

    [[nodiscard]] const host::vfio::VfioDevice& device() const { return device_; }

private:
    [[nodiscard]] const host::vfio::VfioRegion& bar(unsigned index) const;
    void mapBars();

    host::vfio::VfioDevice device_;
    std::string name_;
    host::vfio::VfioRegion config_;
    std::array<std::optional<host::vfio::VfioRegion>, 6> bars_;
    struct Mapped {
        unsigned bar = 0;
        std::uint64_t offset = 0;
        Mapping mapping;
    };
    std::vector<Mapped> mapped_;  // in BAR, then offset order
};

}  // namespace cxvm::hw::vfio
