#include "hw/vfio/VfioBackend.h"

#include "util/Error.h"

namespace cxvm::hw::vfio {

VfioBackend::VfioBackend(host::vfio::VfioDevice device)
    : device_(std::move(device)), name_("vfio " + device_.address().toString()) {
    if (!device_.isPci()) throw Error::format("{}: not a PCI device", name_);
    config_ = device_.region(host::vfio::VfioDevice::kConfigRegion);
    for (unsigned i = 0; i < bars_.size(); ++i) {
        auto r = device_.region(i);
        if (r.size) bars_[i] = r;
    }
}

std::uint32_t VfioBackend::readConfig(unsigned offset, unsigned size) const {
    return device_.readConfig(offset, size);
}

void VfioBackend::writeConfig(unsigned offset, unsigned size, std::uint32_t value) {
    if (size != 1 && size != 2 && size != 4) throw Error::format("{}: config write of {} bytes", name_, size);
    std::array<std::uint8_t, 4> b{};
    for (unsigned i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(value >> (8 * i));
    device_.write(config_, offset, std::span<const std::uint8_t>(b.data(), size));
}

const host::vfio::VfioRegion& VfioBackend::bar(unsigned index) const {
    if (index >= bars_.size() || !bars_[index]) throw Error::format("{}: BAR{} does not exist", name_, index);
    return *bars_[index];
}

std::uint64_t VfioBackend::barSize(unsigned index) const {
    return index < bars_.size() && bars_[index] ? bars_[index]->size : 0;
}

void VfioBackend::readBar(unsigned index, std::uint64_t offset, std::span<std::uint8_t> out) {
    device_.read(bar(index), offset, out);  // bounds-checked against the region
}

void VfioBackend::writeBar(unsigned index, std::uint64_t offset, std::span<const std::uint8_t> in) {
    device_.write(bar(index), offset, in);
}

void VfioBackend::routeIntx(int eventfd) { device_.setIrqEventfd(host::vfio::VfioDevice::kIntxIrq, eventfd); }

void VfioBackend::unmaskIntx() { device_.unmaskIntx(); }

}  // namespace cxvm::hw::vfio
