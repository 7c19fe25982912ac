#include "hw/vfio/VfioBackend.h"

#include "util/Error.h"
#include "util/Log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace cxvm::hw::vfio {

VfioBackend::VfioBackend(host::vfio::VfioDevice device)
    : device_(std::move(device)), name_("vfio " + device_.address().toString()) {
    if (!device_.isPci()) throw Error::format("{}: not a PCI device", name_);
    config_ = device_.region(host::vfio::VfioDevice::kConfigRegion);
    for (unsigned i = 0; i < bars_.size(); ++i) {
        auto r = device_.region(i);
        if (r.size) bars_[i] = r;
    }
    mapBars();
}

namespace {

constexpr std::uint8_t kCapMsix = 0x11;

// [start, end) byte ranges of a BAR.
struct Span64 {
    std::uint64_t start = 0, end = 0;
};

// Cuts `cut` out of every range of `ranges`.
void subtract(std::vector<Span64>& ranges, Span64 cut) {
    std::vector<Span64> out;
    for (const Span64& r : ranges) {
        if (cut.end <= r.start || r.end <= cut.start) {
            out.push_back(r);
            continue;
        }
        if (r.start < cut.start) out.push_back({r.start, cut.start});
        if (cut.end < r.end) out.push_back({cut.end, r.end});
    }
    ranges = std::move(out);
}

}  // namespace

// Memory BARs VFIO lets us mmap (VFIO_REGION_INFO_FLAG_MMAP, the sparse-mmap areas),
// less the pages of the MSI-X table and PBA (PCI Local Bus 3.0 6.8.2: Table/PBA
// Offset/BIR at capability +4/+8, table size (Message Control bits 10:0) + 1 entries
// of 16 bytes): those stay trapping, as QEMU keeps them, even though the guest never
// sees the capability here. Whole pages only: a memory slot and a host pointer window
// cannot cover part of a page. Mapped once, before the sandbox; mmap failures leave the
// BAR trapping (warning). CXVM_PASSTHROUGH_TRAP_BARS=1 maps nothing (every access traps).
void VfioBackend::mapBars() {
    // A debugging and measuring knob (docs/passthrough.md): every BAR access traps.
    if (const char* e = std::getenv("CXVM_PASSTHROUGH_TRAP_BARS"); e && *e && std::string_view(e) != "0") {
        log::info("{}: CXVM_PASSTHROUGH_TRAP_BARS: no BAR is mapped, every access traps", name_);
        return;
    }
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    std::vector<std::pair<unsigned, Span64>> msix;  // (bar, bytes)
    if (readConfig(0x06, 2) & 0x10) {
        unsigned ptr = readConfig(0x34, 1) & 0xFC;
        for (unsigned n = 0; ptr >= 0x40 && n < 48; ++n) {
            if (readConfig(ptr, 1) == kCapMsix) {
                const std::uint32_t entries = (readConfig(ptr + 2, 2) & 0x7FF) + 1;
                const std::uint32_t table = readConfig(ptr + 4, 4), pba = readConfig(ptr + 8, 4);
                msix.push_back({table & 7, {table & ~7u, (table & ~7u) + 16ull * entries}});
                msix.push_back({pba & 7, {pba & ~7u, (pba & ~7u) + 8ull * ((entries + 63) / 64)}});
            }
            ptr = readConfig(ptr + 1, 1) & 0xFC;
        }
    }
    for (unsigned i = 0; i < bars_.size(); ++i) {
        if (!bars_[i] || !bars_[i]->mappable()) continue;
        const std::uint32_t reg = readConfig(0x10 + 4 * i, 4);
        if (reg & 1) continue;  // an I/O BAR: port accesses always trap
        std::vector<Span64> ranges;
        try {
            for (const auto& a : device_.mmapAreas(*bars_[i])) ranges.push_back({a.offset, a.offset + a.size});
        } catch (const Error& e) {
            log::warn("{}: BAR{} stays trapping: {}", name_, i, e.what());
            continue;
        }
        for (const auto& [bar, bytes] : msix)
            if (bar == i) subtract(ranges, {bytes.start & ~(page - 1), (bytes.end + page - 1) & ~(page - 1)});
        for (const Span64& r : ranges) {
            const std::uint64_t start = (r.start + page - 1) & ~(page - 1), end = r.end & ~(page - 1);
            if (start >= end) continue;
            try {
                mapped_.push_back({i, start, device_.map(*bars_[i], start, end - start)});
            } catch (const Error& e) {
                log::warn("{}: BAR{} [{:#x}, {:#x}) stays trapping: {}", name_, i, start, end, e.what());
            }
        }
    }
}

std::vector<MappedBarArea> VfioBackend::mappedAreas(unsigned bar) const {
    std::vector<MappedBarArea> out;
    for (const Mapped& m : mapped_)
        if (m.bar == bar) out.push_back({m.offset, m.mapping.bytes()});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
    return out;
}

std::uint32_t VfioBackend::readConfig(unsigned offset, unsigned size) const {
    // Through the region found at open (VfioDevice::readConfig asks VFIO for it again).
    if (size != 1 && size != 2 && size != 4) throw Error::format("{}: config read of {} bytes", name_, size);
    std::array<std::uint8_t, 4> b{};
    device_.read(config_, offset, std::span(b.data(), size));
    return std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 | std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24;
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
