#include "host/vfio/VfioContainer.h"

#include "util/Error.h"
#include "util/Log.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace cxvm::host::vfio {

VfioDmaMapping::VfioDmaMapping(VfioDmaMapping&& o) noexcept
    : container_(std::exchange(o.container_, nullptr)), iova_(o.iova_), size_(o.size_) {}

VfioDmaMapping& VfioDmaMapping::operator=(VfioDmaMapping&& o) noexcept {
    if (this != &o) {
        reset();
        container_ = std::exchange(o.container_, nullptr);
        iova_ = o.iova_;
        size_ = o.size_;
    }
    return *this;
}

VfioDmaMapping::~VfioDmaMapping() { reset(); }

void VfioDmaMapping::reset() noexcept {
    if (container_) container_->unmapDma(iova_, size_);
    container_ = nullptr;
}

VfioContainer::VfioContainer(const std::filesystem::path& path) : path_(path) {
    fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd_) {
        const int e = errno;
        const auto what = fmt::format("VFIO container '{}'{}", path.string(),
                                      e == ENOENT ? " (modprobe vfio-pci; the host needs an IOMMU)" : "");
        errno = e;
        throwErrno(what);
    }
    const int version = ::ioctl(fd_.get(), VFIO_GET_API_VERSION);
    if (version != VFIO_API_VERSION)
        throw Error::format("VFIO container '{}': API version {}, cxvm speaks {}", path.string(), version,
                            VFIO_API_VERSION);
    if (::ioctl(fd_.get(), VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
        throw Error::format("VFIO container '{}': no type1 v2 IOMMU support", path.string());
}

void VfioContainer::setIommu() {
    if (iommuSet_) return;
    if (::ioctl(fd_.get(), VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0)
        throwErrno(fmt::format("VFIO container '{}': VFIO_SET_IOMMU (type1 v2)", path_.string()));
    iommuSet_ = true;
}

std::uint64_t VfioContainer::iovaPageSizes() const {
    vfio_iommu_type1_info info{};
    info.argsz = sizeof info;
    if (::ioctl(fd_.get(), VFIO_IOMMU_GET_INFO, &info) != 0)
        throwErrno(fmt::format("VFIO container '{}': VFIO_IOMMU_GET_INFO", path_.string()));
    if (!(info.flags & VFIO_IOMMU_INFO_PGSIZES))
        throw Error::format("VFIO container '{}': the IOMMU reports no page sizes", path_.string());
    return info.iova_pgsizes;
}

VfioDmaMapping VfioContainer::mapDma(std::span<std::uint8_t> memory, std::uint64_t iova, bool deviceWrites) {
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof map;
    map.flags = VFIO_DMA_MAP_FLAG_READ | (deviceWrites ? VFIO_DMA_MAP_FLAG_WRITE : 0u);
    map.vaddr = reinterpret_cast<std::uintptr_t>(memory.data());
    map.iova = iova;
    map.size = memory.size();
    if (::ioctl(fd_.get(), VFIO_IOMMU_MAP_DMA, &map) != 0)
        throwErrno(fmt::format("VFIO: map {:#x} bytes for DMA at IOVA {:#x}", memory.size(), iova));
    return VfioDmaMapping(this, iova, memory.size());
}

void VfioContainer::unmapDma(std::uint64_t iova, std::uint64_t size) const noexcept {
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof unmap;
    unmap.iova = iova;
    unmap.size = size;
    if (::ioctl(fd_.get(), VFIO_IOMMU_UNMAP_DMA, &unmap) != 0)
        log::warn("VFIO: unmap IOVA {:#x}+{:#x} failed: errno {}", iova, size, errno);
}

}  // namespace cxvm::host::vfio
