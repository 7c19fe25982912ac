#pragma once
// Guest physical memory: RAM from gpa 0 in one memfd, plus read-only ROM regions and
// dataport overlays. A dataport shared by the guest is mapped MAP_FIXED over the RAM
// pages it replaces, so the interp's host pointers and a KVM memory slot (same host
// virtual range) see the dataport's pages without re-registration.
#include "util/Mapping.h"
#include "util/UniqueFd.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace cxvm::hw {

struct MemoryRegion {
    std::uint64_t gpa = 0;
    std::uint64_t size = 0;
    std::uint8_t* host = nullptr;
    bool readOnly = false;
    std::string name;
    // A passed-through device's BAR mapped from its VFIO device fd (addDeviceRegion): a
    // KVM memory slot for the kvm engine, but not memory for anything else — regionAt,
    // tryHost and span() do not see it, so the interp engine's accesses, emulated
    // devices' DMA and the loaders keep going through the MMIO bus (docs/passthrough.md
    // "Mapped BARs").
    bool device = false;
};

class GuestMemory {
public:
    static constexpr std::uint64_t kPageSize = 4096;

    // `ramBytes` is rounded up to a page; at most 3.5 GiB (below the PCI hole).
    explicit GuestMemory(std::uint64_t ramBytes);

    [[nodiscard]] std::uint64_t ramSize() const { return ramSize_; }
    [[nodiscard]] std::uint8_t* ramBase() const { return ram_.data(); }
    [[nodiscard]] int ramFd() const { return ramFd_.get(); }

    // Host pointer for [gpa, gpa+len) if the whole range lies in one RAM/ROM region,
    // else nullptr. The hot-path translation (TLB fills) uses this. Device regions are
    // not RAM/ROM: nullptr.
    [[nodiscard]] std::uint8_t* tryHost(std::uint64_t gpa, std::uint64_t len = 1) const;
    // RAM/ROM region containing gpa, or nullptr (device regions are left out).
    [[nodiscard]] const MemoryRegion* regionAt(std::uint64_t gpa) const;

    // Checked views for VMM-side code (loaders, virtio, hypercalls). Throw cxvm::Error
    // naming the guest address and length when the range is not wholly guest memory.
    // A device that writes guest RAM through span() (DMA) calls noteWrite() for the
    // range, so that no CPU keeps running code decoded from the old bytes.
    [[nodiscard]] std::span<std::uint8_t> span(std::uint64_t gpa, std::uint64_t len) const;
    void read(std::uint64_t gpa, std::span<std::uint8_t> out) const;
    void write(std::uint64_t gpa, std::span<const std::uint8_t> in) const;

    // Adds a read-only region (firmware ROM) outside RAM; contents copied.
    void addRom(std::uint64_t gpa, std::span<const std::uint8_t> contents, std::string name);
    // Makes `size` bytes of an existing ROM region, from `romGpa` on, visible read-only at
    // `gpa` too (the same host bytes: the PC's BIOS alias at 0xE0000-0xFFFFF below
    // 1 MiB). RAM under the alias is hidden, as on a PC whose chipset decodes the range to
    // the flash (no shadow RAM): the RAM region is split around it, so both engines (the
    // interp's regionAt, kvm's memory slots) see RAM, ROM alias, RAM. Page aligned; throws
    // cxvm::Error when the source is not one ROM region or the alias overlaps another ROM
    // or a device region.
    void addRomAlias(std::uint64_t gpa, std::uint64_t romGpa, std::uint64_t size, std::string name);
    // Makes guest pages [gpa, gpa+size) be the pages of `fd` (offset 0). Page aligned,
    // inside RAM; throws otherwise. Bumps generation().
    void overlay(std::uint64_t gpa, int fd, std::uint64_t size, std::string name);

    // A device region: `host` (a BAR's mmap()ed bytes, owned by the caller, valid until
    // removeDeviceRegion) at guest-physical `gpa`. Page aligned, below 2^52, and clear of
    // every other region; throws cxvm::Error naming the overlap otherwise. Bumps
    // generation() (the kvm engine adds a memory slot before its next KVM_RUN).
    void addDeviceRegion(std::uint64_t gpa, std::span<std::uint8_t> host, std::string name);
    // Removes the device region at `gpa` (no-op if none). Bumps generation().
    void removeDeviceRegion(std::uint64_t gpa);

    // Every region, device regions included (the kvm engine's memory slots).
    [[nodiscard]] const std::vector<MemoryRegion>& regions() const { return regions_; }
    // Changes whenever the gpa->host map changes; engines refresh cached translations.
    [[nodiscard]] std::uint64_t generation() const { return generation_; }

    // ---- code-page watch (the interp engine's translated-block cache) ----
    // One counter per RAM page. Odd: a CPU holds decoded instructions of the page, keeps
    // no writable TLB mapping of it, and sends its own stores there through noteWrite().
    // noteWrite() turns a watched page even, which invalidates those decodes (and lets
    // the CPU map it writable again). Dataport pages are kUnwatchable: other processes
    // write them behind cxvm's back, so code there is never cached.
    static constexpr std::uint32_t kUnwatchable = 0xFFFF'FFFEu;  // even: never watched
    [[nodiscard]] std::uint32_t* pageGenerations() const { return pageGen_.get(); }
    [[nodiscard]] bool codeWatched(std::uint64_t gpa) const {
        return gpa < ramSize_ && (pageGen_[gpa >> 12] & 1);
    }
    // Starts watching the RAM page of `gpa`; false if it cannot be watched.
    bool watchCode(std::uint64_t gpa) const;
    // Bumped when a page's counter wraps: holders of decodes then drop all of them.
    [[nodiscard]] std::uint64_t codeGenerationWraps() const { return codeGenWraps_; }
    // Some bytes of [gpa, gpa+len) changed: drop decodes of watched pages in the range.
    void noteWrite(std::uint64_t gpa, std::uint64_t len) const {
        if (gpa >= ramSize_ || len == 0) return;
        const std::uint64_t last = std::min(gpa + len - 1, ramSize_ - 1) >> 12;
        for (std::uint64_t p = gpa >> 12; p <= last; ++p)
            if (pageGen_[p] & 1) ++pageGen_[p];
    }

private:
    std::uint64_t ramSize_ = 0;
    UniqueFd ramFd_;
    Mapping ram_;
    std::vector<Mapping> roms_;
    std::vector<MemoryRegion> regions_;
    std::vector<MemoryRegion> overlays_;
    std::uint64_t generation_ = 0;
    std::unique_ptr<std::uint32_t[]> pageGen_;
    mutable std::uint64_t codeGenWraps_ = 0;
};

}  // namespace cxvm::hw
