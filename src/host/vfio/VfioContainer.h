#pragma once
// A VFIO container (/dev/vfio/vfio; Documentation/driver-api/vfio.rst): the IOMMU
// context that groups join and through which a device's DMA is mapped. cxvm uses the
// type1 v2 IOMMU (x86 VT-d / AMD-Vi). The IOMMU is set when the first group joins
// (VfioGroup), as the kernel requires.
#include "util/UniqueFd.h"

#include <cstdint>
#include <filesystem>
#include <span>

namespace cxvm::host::vfio {

class VfioContainer;

// One IOVA range mapped for device DMA; unmapped when destroyed. The container must
// outlive it.
class VfioDmaMapping {
public:
    VfioDmaMapping() = default;
    VfioDmaMapping(VfioDmaMapping&& o) noexcept;
    VfioDmaMapping& operator=(VfioDmaMapping&& o) noexcept;
    VfioDmaMapping(const VfioDmaMapping&) = delete;
    VfioDmaMapping& operator=(const VfioDmaMapping&) = delete;
    ~VfioDmaMapping();

    [[nodiscard]] std::uint64_t iova() const { return iova_; }
    [[nodiscard]] std::uint64_t size() const { return size_; }

private:
    friend class VfioContainer;
    VfioDmaMapping(const VfioContainer* c, std::uint64_t iova, std::uint64_t size)
        : container_(c), iova_(iova), size_(size) {}
    void reset() noexcept;

    const VfioContainer* container_ = nullptr;
    std::uint64_t iova_ = 0, size_ = 0;
};

class VfioContainer {
public:
    // Opens `path` and checks the API version and type1 v2 support. Throws cxvm::Error
    // naming the path (with a hint when the vfio modules are not loaded).
    explicit VfioContainer(const std::filesystem::path& path = "/dev/vfio/vfio");

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] bool iommuSet() const { return iommuSet_; }

    // VFIO_SET_IOMMU (type1 v2), once: VfioGroup calls it after joining.
    void setIommu();

    // The IOMMU's supported page sizes (a bitmap: bit n set = 2^n bytes). Needs the IOMMU.
    [[nodiscard]] std::uint64_t iovaPageSizes() const;

    // Maps `memory` (page-aligned, host memory this process owns) at `iova` for device
    // DMA: read-only or read-write for the device. Throws cxvm::Error (misaligned range,
    // overlap, no IOMMU yet).
    [[nodiscard]] VfioDmaMapping mapDma(std::span<std::uint8_t> memory, std::uint64_t iova, bool deviceWrites);

private:
    friend class VfioDmaMapping;
    void unmapDma(std::uint64_t iova, std::uint64_t size) const noexcept;

    std::filesystem::path path_;
    UniqueFd fd_;
    bool iommuSet_ = false;
};

}  // namespace cxvm::host::vfio
