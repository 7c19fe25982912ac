#pragma once
// A device handed out by a VFIO group (VFIO_GROUP_GET_DEVICE_FD): its regions (a PCI
// function's BARs 0-5, ROM 6, config space 7), read and written through the device fd
// or mmap()ed, its interrupts (INTx, MSI, MSI-X) delivered to eventfds, and reset.
#include "host/pci/PciAddress.h"
#include "util/Mapping.h"
#include "util/UniqueFd.h"

#include <cstdint>
#include <span>
#include <vector>

namespace cxvm::host::vfio {

struct VfioRegion {
    unsigned index = 0;
    std::uint32_t flags = 0;  // VFIO_REGION_INFO_FLAG_*
    std::uint64_t size = 0;
    std::uint64_t offset = 0;  // of the region within the device fd
    [[nodiscard]] bool readable() const;
    [[nodiscard]] bool writable() const;
    [[nodiscard]] bool mappable() const;
};

// A part of a region that may be mmap()ed: offset within the region and size.
struct VfioMmapArea {
    std::uint64_t offset = 0, size = 0;
};

struct VfioIrqInfo {
    unsigned index = 0;
    std::uint32_t flags = 0;  // VFIO_IRQ_INFO_*
    std::uint32_t count = 0;  // vectors (0: the device does not have this kind)
};

class VfioDevice {
public:
    // PCI region and IRQ indices (linux/vfio.h).
    static constexpr unsigned kConfigRegion = 7;
    static constexpr unsigned kIntxIrq = 0, kMsiIrq = 1, kMsixIrq = 2;

    VfioDevice(UniqueFd fd, const pci::PciAddress& address);

    [[nodiscard]] const pci::PciAddress& address() const { return address_; }
    // The device fd (the VM sandbox admits the VFIO ioctls on it; it stays owned here).
    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] bool isPci() const;
    [[nodiscard]] bool canReset() const;
    [[nodiscard]] unsigned regionCount() const { return numRegions_; }
    [[nodiscard]] unsigned irqCount() const { return numIrqs_; }

    // Throws cxvm::Error for an index past regionCount()/irqCount().
    [[nodiscard]] VfioRegion region(unsigned index) const;
    [[nodiscard]] VfioIrqInfo irqInfo(unsigned index) const;

    // Bounds-checked access to a region through the device fd (BARs, config space).
    void read(const VfioRegion& r, std::uint64_t offset, std::span<std::uint8_t> out) const;
    void write(const VfioRegion& r, std::uint64_t offset, std::span<const std::uint8_t> in) const;
    // A little-endian config space value of 1, 2 or 4 bytes.
    [[nodiscard]] std::uint32_t readConfig(unsigned offset, unsigned size) const;

    // The whole region mapped shared (only when mappable()).
    [[nodiscard]] Mapping map(const VfioRegion& r) const;
    // The parts of region `r` that may be mmap()ed (VFIO uapi, VFIO_DEVICE_GET_REGION_INFO):
    // none unless VFIO_REGION_INFO_FLAG_MMAP; with a VFIO_REGION_INFO_CAP_SPARSE_MMAP
    // capability its areas (e.g. all of a BAR but the MSI-X table), else the whole region.
    [[nodiscard]] std::vector<VfioMmapArea> mmapAreas(const VfioRegion& r) const;
    // [offset, offset + size) of region `r` mapped shared; page aligned, inside the region.
    [[nodiscard]] Mapping map(const VfioRegion& r, std::uint64_t offset, std::uint64_t size) const;

    // Routes vector 0 of IRQ `index` to `eventfd` (VFIO_IRQ_SET_ACTION_TRIGGER), or
    // disables it with eventfd -1. For INTx the line stays masked after each interrupt
    // until unmaskIntx().
    void setIrqEventfd(unsigned index, int eventfd) const;
    void unmaskIntx() const;

    // VFIO_DEVICE_RESET. Throws cxvm::Error when the device cannot be reset.
    void reset() const;

private:
    UniqueFd fd_;
    pci::PciAddress address_;
    std::uint32_t flags_ = 0;
    unsigned numRegions_ = 0, numIrqs_ = 0;
};

}  // namespace cxvm::host::vfio
