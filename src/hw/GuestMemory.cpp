#include "hw/GuestMemory.h"

#include "util/Error.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace cxvm::hw {

namespace {
constexpr std::uint64_t kMaxRam = 0xE000'0000;  // PCI hole starts here

std::uint64_t pageRound(std::uint64_t v) {
    return (v + GuestMemory::kPageSize - 1) & ~(GuestMemory::kPageSize - 1);
}
}  // namespace

GuestMemory::GuestMemory(std::uint64_t ramBytes) {
    ramSize_ = pageRound(ramBytes);
    if (ramSize_ == 0 || ramSize_ > kMaxRam)
        throw Error::format("guest RAM size {:#x} out of range (1 page .. {:#x})", ramBytes, kMaxRam);
    ramFd_ = UniqueFd(::memfd_create("cxvm-guest-ram", MFD_CLOEXEC));
    if (!ramFd_) throwErrno("memfd_create(guest RAM)");
    if (::ftruncate(ramFd_.get(), static_cast<off_t>(ramSize_)) != 0)
        throwErrno(fmt::format("ftruncate(guest RAM, {:#x})", ramSize_));
    ram_ = Mapping::map(ramSize_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, ramFd_.get());
    regions_.push_back({0, ramSize_, ram_.data(), false, "ram"});
    pageGen_ = std::make_unique<std::uint32_t[]>(ramSize_ / kPageSize);
}

bool GuestMemory::watchCode(std::uint64_t gpa) const {
    if (gpa >= ramSize_) return false;
    std::uint32_t& g = pageGen_[gpa >> 12];
    if (g == kUnwatchable) return false;
    if (g & 1) return true;
    if (g >= 0x8000'0000u) {  // wrap (stays clear of kUnwatchable): old decodes could match again
        g = 1;
        ++codeGenWraps_;
    } else {
        ++g;
    }
    return true;
}

const MemoryRegion* GuestMemory::regionAt(std::uint64_t gpa) const {
    for (const auto& r : regions_)
        if (gpa >= r.gpa && gpa - r.gpa < r.size && !r.device) return &r;
    return nullptr;
}

std::uint8_t* GuestMemory::tryHost(std::uint64_t gpa, std::uint64_t len) const {
    const MemoryRegion* r = regionAt(gpa);
    if (!r || len > r->size - (gpa - r->gpa)) return nullptr;
    return r->host + (gpa - r->gpa);
}

std::span<std::uint8_t> GuestMemory::span(std::uint64_t gpa, std::uint64_t len) const {
    std::uint8_t* p = tryHost(gpa, len);
    if (!p)
        throw Error::format("guest physical range [{:#x}, +{:#x}) is not guest memory", gpa, len);
    return {p, static_cast<std::size_t>(len)};
}

void GuestMemory::read(std::uint64_t gpa, std::span<std::uint8_t> out) const {
    auto s = span(gpa, out.size());
    std::memcpy(out.data(), s.data(), out.size());
}

void GuestMemory::write(std::uint64_t gpa, std::span<const std::uint8_t> in) const {
    auto s = span(gpa, in.size());
    std::memcpy(s.data(), in.data(), in.size());
    noteWrite(gpa, in.size());
}

void GuestMemory::addRom(std::uint64_t gpa, std::span<const std::uint8_t> contents, std::string name) {
    std::uint64_t size = pageRound(contents.size());
    if (size == 0 || gpa % kPageSize != 0 || gpa + size > (1ULL << 32) || gpa + size < gpa)
        throw Error::format("ROM '{}' at {:#x} (+{:#x}) is not page aligned below 4 GiB", name, gpa,
                            contents.size());
    for (const auto& r : regions_)
        if (gpa < r.gpa + r.size && r.gpa < gpa + size)
            throw Error::format("ROM '{}' at {:#x} overlaps region '{}'", name, gpa, r.name);
    Mapping m = Mapping::map(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    std::memcpy(m.data(), contents.data(), contents.size());
    regions_.push_back({gpa, size, m.data(), true, std::move(name)});
    roms_.push_back(std::move(m));
    ++generation_;
}

void GuestMemory::addRomAlias(std::uint64_t gpa, std::uint64_t romGpa, std::uint64_t size,
                              std::string name) {
    if (size == 0 || gpa % kPageSize != 0 || romGpa % kPageSize != 0 || size % kPageSize != 0 ||
        gpa + size > (1ULL << 32))
        throw Error::format("ROM alias '{}' at {:#x} (+{:#x}) is not page aligned below 4 GiB", name,
                            gpa, size);
    const MemoryRegion* src = regionAt(romGpa);
    if (!src || !src->readOnly || size > src->size - (romGpa - src->gpa))
        throw Error::format("ROM alias '{}': [{:#x}, +{:#x}) is not inside one ROM region", name,
                            romGpa, size);
    std::uint8_t* host = src->host + (romGpa - src->gpa);
    std::vector<MemoryRegion> out;
    out.reserve(regions_.size() + 2);
    for (const MemoryRegion& r : regions_) {
        if (gpa >= r.gpa + r.size || r.gpa >= gpa + size) {
            out.push_back(r);
            continue;
        }
        if (r.readOnly || r.device)
            throw Error::format("ROM alias '{}' at {:#x} overlaps {} '{}'", name, gpa, r.device ? "device region" : "ROM",
                                r.name);
        // RAM: keep the parts below and above the alias (their host bytes stay where they
        // were, so dataport overlays and the code-page counters are unaffected).
        if (r.gpa < gpa) out.push_back({r.gpa, gpa - r.gpa, r.host, false, r.name});
        if (r.gpa + r.size > gpa + size)
            out.push_back({gpa + size, r.gpa + r.size - (gpa + size), r.host + (gpa + size - r.gpa),
                           false, r.name + " (above " + name + ")"});
    }
    out.push_back({gpa, size, host, true, std::move(name)});
    regions_ = std::move(out);
    ++generation_;
}

void GuestMemory::addDeviceRegion(std::uint64_t gpa, std::span<std::uint8_t> host, std::string name) {
    const std::uint64_t size = host.size();
    if (size == 0 || gpa % kPageSize != 0 || size % kPageSize != 0 ||
        reinterpret_cast<std::uintptr_t>(host.data()) % kPageSize != 0 || gpa >= (1ULL << 52) ||
        size > (1ULL << 52) - gpa)
        throw Error::format("{}: guest range [{:#x}, +{:#x}) is not page aligned below 2^52", name, gpa, size);
    for (const auto& r : regions_)
        if (gpa < r.gpa + r.size && r.gpa < gpa + size)
            throw Error::format("{}: guest range [{:#x}, +{:#x}) overlaps '{}' [{:#x}, +{:#x})", name, gpa, size,
                                r.name, r.gpa, r.size);
    MemoryRegion r{gpa, size, host.data(), false, std::move(name)};
    r.device = true;
    regions_.push_back(std::move(r));
    ++generation_;
}

void GuestMemory::removeDeviceRegion(std::uint64_t gpa) {
    const auto n = std::erase_if(regions_, [&](const MemoryRegion& r) { return r.device && r.gpa == gpa; });
    if (n) ++generation_;
}

void GuestMemory::overlay(std::uint64_t gpa, int fd, std::uint64_t size, std::string name) {
    if (size == 0 || gpa % kPageSize != 0 || size % kPageSize != 0 || gpa >= ramSize_ ||
        size > ramSize_ - gpa)
        throw Error::format("{}: guest range [{:#x}, +{:#x}) is not page-aligned guest RAM", name,
                            gpa, size);
    void* p = ::mmap(ram_.data() + gpa, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) throwErrno(fmt::format("{}: mapping over guest {:#x}", name, gpa));
    overlays_.push_back({gpa, size, ram_.data() + gpa, false, std::move(name)});
    for (std::uint64_t pg = gpa / kPageSize; pg < (gpa + size) / kPageSize; ++pg)
        pageGen_[pg] = kUnwatchable;
    ++generation_;
}

}  // namespace cxvm::hw
