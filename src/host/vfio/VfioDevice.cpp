#include "host/vfio/VfioDevice.h"

#include "util/Error.h"

#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <utility>

namespace cxvm::host::vfio {

bool VfioRegion::readable() const { return (flags & VFIO_REGION_INFO_FLAG_READ) != 0; }
bool VfioRegion::writable() const { return (flags & VFIO_REGION_INFO_FLAG_WRITE) != 0; }
bool VfioRegion::mappable() const { return (flags & VFIO_REGION_INFO_FLAG_MMAP) != 0; }

VfioDevice::VfioDevice(UniqueFd fd, const pci::PciAddress& address) : fd_(std::move(fd)), address_(address) {
    vfio_device_info info{};
    info.argsz = sizeof info;
    if (::ioctl(fd_.get(), VFIO_DEVICE_GET_INFO, &info) != 0)
        throwErrno(fmt::format("VFIO device {}: VFIO_DEVICE_GET_INFO", address_.toString()));
    flags_ = info.flags;
    numRegions_ = info.num_regions;
    numIrqs_ = info.num_irqs;
}

bool VfioDevice::isPci() const { return (flags_ & VFIO_DEVICE_FLAGS_PCI) != 0; }
bool VfioDevice::canReset() const { return (flags_ & VFIO_DEVICE_FLAGS_RESET) != 0; }

VfioRegion VfioDevice::region(unsigned index) const {
    if (index >= numRegions_)
        throw Error::format("VFIO device {}: region {} does not exist ({} regions)", address_.toString(), index,
                            numRegions_);
    vfio_region_info info{};
    info.argsz = sizeof info;
    info.index = index;
    if (::ioctl(fd_.get(), VFIO_DEVICE_GET_REGION_INFO, &info) != 0)
        throwErrno(fmt::format("VFIO device {}: region {} info", address_.toString(), index));
    return {index, info.flags, info.size, info.offset};
}

VfioIrqInfo VfioDevice::irqInfo(unsigned index) const {
    if (index >= numIrqs_)
        throw Error::format("VFIO device {}: IRQ index {} does not exist ({} kinds)", address_.toString(), index,
                            numIrqs_);
    vfio_irq_info info{};
    info.argsz = sizeof info;
    info.index = index;
    if (::ioctl(fd_.get(), VFIO_DEVICE_GET_IRQ_INFO, &info) != 0)
        throwErrno(fmt::format("VFIO device {}: IRQ {} info", address_.toString(), index));
    return {index, info.flags, info.count};
}

namespace {

void checkRange(const pci::PciAddress& a, const VfioRegion& r, std::uint64_t offset, std::size_t len,
                bool allowed, const char* what) {
    if (!allowed) throw Error::format("VFIO device {}: region {} cannot be {}", a.toString(), r.index, what);
    if (offset > r.size || len > r.size - offset)
        throw Error::format("VFIO device {}: region {}: {:#x} bytes at {:#x} are outside its {:#x} bytes",
                            a.toString(), r.index, len, offset, r.size);
}

}  // namespace

void VfioDevice::read(const VfioRegion& r, std::uint64_t offset, std::span<std::uint8_t> out) const {
    checkRange(address_, r, offset, out.size(), r.readable(), "read");
    const auto n = ::pread(fd_.get(), out.data(), out.size(), static_cast<off_t>(r.offset + offset));
    if (n != static_cast<ssize_t>(out.size()))
        throwErrno(fmt::format("VFIO device {}: read region {} at {:#x}", address_.toString(), r.index, offset));
}

void VfioDevice::write(const VfioRegion& r, std::uint64_t offset, std::span<const std::uint8_t> in) const {
    checkRange(address_, r, offset, in.size(), r.writable(), "written");
    const auto n = ::pwrite(fd_.get(), in.data(), in.size(), static_cast<off_t>(r.offset + offset));
    if (n != static_cast<ssize_t>(in.size()))
        throwErrno(fmt::format("VFIO device {}: write region {} at {:#x}", address_.toString(), r.index, offset));
}

std::uint32_t VfioDevice::readConfig(unsigned offset, unsigned size) const {
    if (size != 1 && size != 2 && size != 4)
        throw Error::format("VFIO device {}: config read of {} bytes", address_.toString(), size);
    std::array<std::uint8_t, 4> b{};
    read(region(kConfigRegion), offset, std::span(b.data(), size));
    return std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 | std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24;
}

Mapping VfioDevice::map(const VfioRegion& r) const {
    if (!r.mappable() || r.size == 0)
        throw Error::format("VFIO device {}: region {} cannot be mapped", address_.toString(), r.index);
    const int prot = (r.readable() ? PROT_READ : 0) | (r.writable() ? PROT_WRITE : 0);
    try {
        return Mapping::map(r.size, prot, MAP_SHARED, fd_.get(), static_cast<off_t>(r.offset));
    } catch (const Error& e) {
        throw e.withContext(fmt::format("VFIO device {}: map region {}", address_.toString(), r.index));
    }
}

std::vector<VfioMmapArea> VfioDevice::mmapAreas(const VfioRegion& r) const {
    if (!r.mappable() || r.size == 0) return {};
    // Again with room for the capability chain (argsz tells the kernel; it says how much
    // it needed when the buffer was short).
    std::vector<std::uint64_t> buf(sizeof(vfio_region_info) / 8 + 64);
    for (int round = 0; round < 2; ++round) {
        auto* info = reinterpret_cast<vfio_region_info*>(buf.data());
        *info = {};
        info->argsz = static_cast<std::uint32_t>(buf.size() * 8);
        info->index = r.index;
        if (::ioctl(fd_.get(), VFIO_DEVICE_GET_REGION_INFO, info) != 0)
            throwErrno(fmt::format("VFIO device {}: region {} info", address_.toString(), r.index));
        if (info->argsz > buf.size() * 8) {
            if (info->argsz > 1u << 20)
                throw Error::format("VFIO device {}: region {} info needs {} bytes", address_.toString(), r.index,
                                    info->argsz);
            buf.assign((info->argsz + 7) / 8, 0);
            continue;
        }
        if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS) || info->cap_offset == 0) return {{0, r.size}};
        const std::size_t total = info->argsz;
        const auto* base = reinterpret_cast<const std::uint8_t*>(buf.data());
        // The chain: each header's `next` is an offset from the start of the buffer.
        for (std::uint32_t off = info->cap_offset, n = 0; off != 0 && n < 64; ++n) {
            if (off % 4 || off + sizeof(vfio_info_cap_header) > total) break;
            vfio_info_cap_header h;
            std::memcpy(&h, base + off, sizeof h);
            if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
                vfio_region_info_cap_sparse_mmap sparse;
                if (off + sizeof sparse > total) break;
                std::memcpy(&sparse, base + off, sizeof sparse);
                std::vector<VfioMmapArea> areas;
                for (std::uint32_t i = 0; i < sparse.nr_areas; ++i) {
                    const std::size_t at = off + sizeof sparse + i * sizeof(vfio_region_sparse_mmap_area);
                    if (at + sizeof(vfio_region_sparse_mmap_area) > total) break;
                    vfio_region_sparse_mmap_area a;
                    std::memcpy(&a, base + at, sizeof a);
                    if (a.size && a.offset <= r.size && a.size <= r.size - a.offset) areas.push_back({a.offset, a.size});
                }
                return areas;
            }
            off = h.next;
        }
        return {{0, r.size}};
    }
    throw Error::format("VFIO device {}: region {} info kept growing", address_.toString(), r.index);
}

Mapping VfioDevice::map(const VfioRegion& r, std::uint64_t offset, std::uint64_t size) const {
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    if (!r.mappable() || size == 0 || offset % page || size % page || offset > r.size || size > r.size - offset)
        throw Error::format("VFIO device {}: region {}: [{:#x}, +{:#x}) cannot be mapped", address_.toString(), r.index,
                            offset, size);
    const int prot = (r.readable() ? PROT_READ : 0) | (r.writable() ? PROT_WRITE : 0);
    try {
        return Mapping::map(size, prot, MAP_SHARED, fd_.get(), static_cast<off_t>(r.offset + offset));
    } catch (const Error& e) {
        throw e.withContext(fmt::format("VFIO device {}: map region {} at {:#x}", address_.toString(), r.index, offset));
    }
}

void VfioDevice::setIrqEventfd(unsigned index, int eventfd) const {
    // struct vfio_irq_set followed by its data: one s32 eventfd (none to disable).
    vfio_irq_set head{};
    head.index = index;
    const std::int32_t fd = eventfd;
    if (eventfd < 0) {
        head.argsz = sizeof head;
        head.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
        head.count = 0;
    } else {
        head.argsz = sizeof head + sizeof fd;
        head.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
        head.count = 1;
    }
    alignas(vfio_irq_set) std::array<std::uint8_t, sizeof(vfio_irq_set) + sizeof(std::int32_t)> buf{};
    std::memcpy(buf.data(), &head, sizeof head);
    std::memcpy(buf.data() + sizeof head, &fd, sizeof fd);
    if (::ioctl(fd_.get(), VFIO_DEVICE_SET_IRQS, buf.data()) != 0)
        throwErrno(fmt::format("VFIO device {}: route IRQ index {} to eventfd {}", address_.toString(), index,
                               eventfd));
}

void VfioDevice::unmaskIntx() const {
    vfio_irq_set set{};
    set.argsz = sizeof set;
    set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
    set.index = kIntxIrq;
    set.count = 1;
    if (::ioctl(fd_.get(), VFIO_DEVICE_SET_IRQS, &set) != 0)
        throwErrno(fmt::format("VFIO device {}: unmask INTx", address_.toString()));
}

void VfioDevice::reset() const {
    if (::ioctl(fd_.get(), VFIO_DEVICE_RESET) != 0)
        throwErrno(fmt::format("VFIO device {}: VFIO_DEVICE_RESET", address_.toString()));
}

}  // namespace cxvm::host::vfio
