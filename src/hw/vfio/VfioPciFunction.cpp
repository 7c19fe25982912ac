#include "hw/vfio/VfioPciFunction.h"

#include "util/Error.h"
#include "util/Log.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>

namespace cxvm::hw::vfio {

namespace {

constexpr unsigned kCapStart = 0x40;
constexpr std::uint16_t kStatusCapList = 0x10;

PciIds hostIds(const PassthroughBackend& b, bool intx) {
    const std::uint32_t classRev = b.readConfig(PciFunction::kRevision, 4);
    return PciIds{.vendor = static_cast<std::uint16_t>(b.readConfig(PciFunction::kVendorId, 2)),
                  .device = static_cast<std::uint16_t>(b.readConfig(PciFunction::kVendorId + 2, 2)),
                  .classCode = classRev >> 8,
                  .revision = static_cast<std::uint8_t>(classRev),
                  .subsystemVendor = static_cast<std::uint16_t>(b.readConfig(PciFunction::kSubsystemVendor, 2)),
                  .subsystem = static_cast<std::uint16_t>(b.readConfig(PciFunction::kSubsystemVendor + 2, 2)),
                  .interruptPin = static_cast<std::uint8_t>(intx ? b.readConfig(PciFunction::kInterruptPin, 1) : 0)};
}

}  // namespace

// One granted BAR on the guest's MMIO or I/O bus: mapped areas read and written in
// place, every other access forwarded to the host device.
class VfioPciFunction::Window final : public MmioDevice, public IoDevice {
public:
    Window(VfioPciFunction& fn, const GrantedBar& bar, std::vector<MappedBarArea> areas)
        : fn_(fn),
          bar_(bar),
          name_(fmt::format("{} BAR{}", fn.PciFunction::name(), bar.index)),
          areas_(std::move(areas)) {}

    std::uint64_t mmioRead(std::uint64_t offset, unsigned size) override { return read(offset, size); }
    void mmioWrite(std::uint64_t offset, unsigned size, std::uint64_t value) override { write(offset, size, value); }
    std::uint32_t ioRead(std::uint16_t port, unsigned size) override {
        return static_cast<std::uint32_t>(read(port - at.value_or(0), size));
    }
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override {
        write(port - at.value_or(0), size, value);
    }
    [[nodiscard]] std::string_view name() const override { return name_; }

    const GrantedBar& bar() const { return bar_; }
    std::span<const MappedBarArea> areas() const { return areas_; }
    std::optional<std::uint64_t> at;  // where it is attached now
    std::vector<std::uint64_t> regions;  // guest addresses of its device regions now
    std::uint64_t trapped = 0, inPlace = 0;  // this BAR's share of the function's counts

private:
    // The mapped byte at `offset` for a naturally aligned access of `size` (1, 2, 4, 8)
    // wholly inside one mapped area, else nullptr (the access traps).
    std::uint8_t* mapped(std::uint64_t offset, unsigned size) const {
        if ((size != 1 && size != 2 && size != 4 && size != 8) || offset % size) return nullptr;
        for (const MappedBarArea& a : areas_)
            if (offset >= a.offset && offset - a.offset < a.host.size() && size <= a.host.size() - (offset - a.offset))
                return a.host.data() + (offset - a.offset);
        return nullptr;
    }
    // One access of exactly the guest's width: device registers care (volatile: the
    // compiler may neither merge, split nor drop it).
    static std::uint64_t load(const std::uint8_t* p, unsigned size) {
        switch (size) {
        case 1: return *reinterpret_cast<const volatile std::uint8_t*>(p);
        case 2: return *reinterpret_cast<const volatile std::uint16_t*>(p);
        case 4: return *reinterpret_cast<const volatile std::uint32_t*>(p);
        default: return *reinterpret_cast<const volatile std::uint64_t*>(p);
        }
    }
    static void store(std::uint8_t* p, unsigned size, std::uint64_t v) {
        switch (size) {
        case 1: *reinterpret_cast<volatile std::uint8_t*>(p) = static_cast<std::uint8_t>(v); break;
        case 2: *reinterpret_cast<volatile std::uint16_t*>(p) = static_cast<std::uint16_t>(v); break;
        case 4: *reinterpret_cast<volatile std::uint32_t*>(p) = static_cast<std::uint32_t>(v); break;
        default: *reinterpret_cast<volatile std::uint64_t*>(p) = v; break;
        }
    }

    std::uint64_t read(std::uint64_t offset, unsigned size) {
        if (const std::uint8_t* p = mapped(offset, size)) {
            ++fn_.mappedHits_;
            ++inPlace;
            return load(p, size);
        }
        std::array<std::uint8_t, 8> b{};
        std::uint64_t v = ~std::uint64_t{0} >> (64 - 8 * std::min(size, 8u));
        if (size <= b.size()) {
            ++fn_.trapped_;
            ++trapped;
            try {
                fn_.backend_->readBar(bar_.index, offset, std::span(b.data(), size));
                v = 0;
                for (unsigned i = 0; i < size; ++i) v |= std::uint64_t{b[i]} << (8 * i);
            } catch (const Error& e) {
                fn_.warnings_.warn("{}: read of {} bytes at {:#x} failed: {}", name_, size, offset, e.what());
            }
        }
        return v;
    }
    void write(std::uint64_t offset, unsigned size, std::uint64_t value) {
        if (std::uint8_t* p = mapped(offset, size)) {
            ++fn_.mappedHits_;
            ++inPlace;
            store(p, size, value);
            return;
        }
        std::array<std::uint8_t, 8> b{};
        if (size <= b.size()) {
            ++fn_.trapped_;
            ++trapped;
            for (unsigned i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(value >> (8 * i));
            try {
                fn_.backend_->writeBar(bar_.index, offset, std::span<const std::uint8_t>(b.data(), size));
            } catch (const Error& e) {
                fn_.warnings_.warn("{}: write of {} bytes at {:#x} failed: {}", name_, size, offset, e.what());
            }
        }
    }

    VfioPciFunction& fn_;
    GrantedBar bar_;
    std::string name_;
    std::vector<MappedBarArea> areas_;  // memory BARs only; empty: all accesses trap
};

VfioPciFunction::VfioPciFunction(std::string name, std::unique_ptr<PassthroughBackend> backend,
                                 std::span<const GrantedBar> bars, MmioBus& mmio, IoBus& io, IrqLine irq,
                                 std::uint8_t interruptLine, std::function<void()> kick, GuestMemory* memory)
    : PciFunction(name, hostIds(*backend, irq.connected())),
      backend_(std::move(backend)),
      mmio_(mmio),
      io_(io),
      irq_(irq),
      intxLine_(interruptLine),
      kick_(std::move(kick)),
      memory_(memory) {
    const auto header = backend_->readConfig(kHeaderType, 1) & 0x7F;
    if (header != 0)
        throw Error::format("{}: header type {:#x}: only endpoints (type 0) can be passed through", name, header);
    for (const GrantedBar& b : bars) {
        const std::uint64_t size = backend_->barSize(b.index);
        if (size != b.size)
            throw Error::format("{}: BAR{} is {:#x} bytes through VFIO but {:#x} in sysfs", name, b.index, size,
                                b.size);
        const std::uint32_t reg = backend_->readConfig(kBar0 + 4 * b.index, 4);
        PciBarKind kind = PciBarKind::Io;
        if (!b.io) {
            const bool is64 = ((reg >> 1) & 3) == 2, prefetch = (reg & 8) != 0;
            kind = is64 ? (prefetch ? PciBarKind::Memory64Prefetchable : PciBarKind::Memory64)
                        : (prefetch ? PciBarKind::Memory32Prefetchable : PciBarKind::Memory32);
        } else if (!(reg & 1)) {
            throw Error::format("{}: BAR{} is an I/O BAR in sysfs but a memory BAR in config space", name, b.index);
        }
        defineBar(b.index, kind, size);  // throws for a size that is not a power of two
        // A mapped area must lie inside the BAR the guest sees (the backend's own check
        // is against the VFIO region, whose size equals it: checked above).
        std::vector<MappedBarArea> areas;
        if (!b.io)
            for (const MappedBarArea& a : backend_->mappedAreas(b.index))
                if (a.offset <= size && a.host.size() <= size - a.offset && !a.host.empty()) areas.push_back(a);
        windows_.push_back(std::make_unique<Window>(*this, b, std::move(areas)));
    }
    if (irq_.connected()) setInterruptLine(interruptLine);
    scanCapabilities();
    onDecodeChanged = [this](PciFunction&) { remapBars(); };
    if (irq_.connected() && hostIds(*backend_, true).interruptPin != 0) {
        intxFd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        stopFd_.reset(::eventfd(0, EFD_CLOEXEC));
        if (!intxFd_ || !stopFd_) throwErrno(fmt::format("{}: INTx eventfd", name));
        backend_->routeIntx(intxFd_.get());
        startWatcher();
    }
}

VfioPciFunction::~VfioPciFunction() {
    for (const auto& w : windows_)
        log::info("{}: {} accesses trapped to the device fd, {} served from the mapping on the MMIO path, {} mapped "
                  "area(s)",
                  w->name(), w->trapped, w->inPlace, w->areas().size());
    if (watcher_.joinable()) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(stopFd_.get(), &one, sizeof one);
        watcher_.join();
    }
    if (intxFd_) {
        try {
            backend_->routeIntx(-1);
        } catch (const Error&) {  // the device goes away with the backend anyway
        }
    }
    for (auto& w : windows_)
        if (w->at) detachWindow(*w);
}

void VfioPciFunction::startWatcher() {
    watcher_ = std::jthread([this] {
        std::array<pollfd, 2> fds{{{intxFd_.get(), POLLIN, 0}, {stopFd_.get(), POLLIN, 0}}};
        for (;;) {
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                return;
            }
            if (fds[1].revents) return;
            std::uint64_t count = 0;
            if ((fds[0].revents & POLLIN) && ::read(intxFd_.get(), &count, sizeof count) == sizeof count) {
                intxFired_.store(true);
                if (kick_) kick_();
            }
        }
    });
}

void VfioPciFunction::pollIntx() {
    if (!intxFired_.exchange(false) || intxRaised_) return;
    intxRaised_ = true;
    irq_.raise();
}

void VfioPciFunction::endOfInterrupt(unsigned irq) {
    if (irq != intxLine_ || !intxRaised_) return;
    intxRaised_ = false;
    irq_.lower();
    try {
        backend_->unmaskIntx();
    } catch (const Error& e) {
        warnings_.warn("{}: INTx unmask failed: {}", PciFunction::name(), e.what());
    }
}

// ---- BARs ----

void VfioPciFunction::remapBars() {
    for (auto& w : windows_) {
        const GrantedBar& b = w->bar();
        const auto want = barAddress(b.index);
        if (want == w->at) continue;
        if (w->at) detachWindow(*w);
        if (!want) continue;
        try {
            if (b.io) {
                if (*want + b.size > 0x10000)
                    throw Error::format("ports {:#x}+{:#x} are outside the I/O space", *want, b.size);
                io_.attach(static_cast<std::uint16_t>(*want), static_cast<std::uint32_t>(b.size), *w);
            } else {
                mmio_.attach(*want, b.size, *w);
            }
            w->at = want;
        } catch (const Error& e) {
            warnings_.warn("{}: BAR{} at {:#x} not mapped: {}", PciFunction::name(), b.index, *want, e.what());
            continue;
        }
        // The mapped areas as device regions (kvm memory slots) over the MMIO range; one
        // that cannot be placed (it would overlap RAM or another region) keeps trapping.
        if (!memory_) continue;
        for (const MappedBarArea& a : w->areas()) {
            const std::uint64_t gpa = *want + a.offset;
            try {
                memory_->addDeviceRegion(gpa, a.host, fmt::format("{} +{:#x}", w->name(), a.offset));
                w->regions.push_back(gpa);
            } catch (const Error& e) {
                warnings_.warn("{}: BAR{} area +{:#x} at {:#x} traps: {}", PciFunction::name(), b.index, a.offset,
                               gpa, e.what());
            }
        }
    }
}

void VfioPciFunction::detachWindow(Window& w) {
    for (std::uint64_t gpa : w.regions) memory_->removeDeviceRegion(gpa);
    w.regions.clear();
    if (w.bar().io)
        io_.detach(w);
    else
        mmio_.detach(w);
    w.at.reset();
}

std::optional<std::uint64_t> VfioPciFunction::mappedBar(unsigned index) const {
    for (const auto& w : windows_)
        if (w->bar().index == index) return w->at;
    return std::nullopt;
}

// ---- config space ----

void VfioPciFunction::scanCapabilities() {
    std::vector<CapRange> list;  // in list order
    if (backend_->readConfig(kStatus, 2) & kStatusCapList) {
        unsigned ptr = backend_->readConfig(kCapabilities, 1) & 0xFC;
        // At most (256 - 64) / 4 capabilities fit; a longer chain loops.
        for (unsigned n = 0; ptr >= kCapStart && n < 48; ++n) {
            if (std::any_of(list.begin(), list.end(), [&](const CapRange& c) { return c.start == ptr; })) break;
            const auto id = static_cast<std::uint8_t>(backend_->readConfig(ptr, 1));
            list.push_back({ptr, kConfigSize, id, id != kCapMsi && id != kCapMsix, 0});
            ptr = backend_->readConfig(ptr + 1, 1) & 0xFC;
        }
    }
    // Each capability runs to the next one up (or the end of config space).
    for (CapRange& c : list)
        for (const CapRange& o : list)
            if (o.start > c.start && o.start < c.end) c.end = o.start;
    unsigned next = 0;
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
        it->nextVisible = next;
        if (it->visible) next = it->start;
    }
    setConfig8(kCapabilities, static_cast<std::uint8_t>(next));
    if (next) setConfig8(kStatus, static_cast<std::uint8_t>(kStatusCapList));
    for (const CapRange& c : list)
        if (c.visible) visibleCaps_.emplace_back(c.start, c.id);
    caps_ = std::move(list);
}

std::uint8_t VfioPciFunction::capabilityByte(unsigned o) const {
    for (const CapRange& c : caps_) {
        if (o < c.start || o >= c.end) continue;
        if (!c.visible) return 0;
        if (o == c.start) return c.id;
        if (o == c.start + 1) return static_cast<std::uint8_t>(c.nextVisible);
        try {
            return static_cast<std::uint8_t>(backend_->readConfig(o, 1));
        } catch (const Error& e) {
            warnings_.warn("{}: config read at {:#x} failed: {}", PciFunction::name(), o, e.what());
            return 0xFF;
        }
    }
    return 0;
}

std::uint32_t VfioPciFunction::configRead(unsigned offset, unsigned size) const {
    if (offset < kCapStart) return PciFunction::configRead(offset, size);
    std::uint32_t v = 0;
    for (unsigned i = 0; i < size && offset + i < kConfigSize; ++i)
        v |= std::uint32_t{capabilityByte(offset + i)} << (8 * i);
    return v;
}

void VfioPciFunction::configWrite(unsigned offset, unsigned size, std::uint32_t value) {
    if (offset >= kConfigSize || size == 0 || size > 4 || offset + size > kConfigSize) return;
    if (offset < kCapStart) {
        PciFunction::configWrite(offset, size, value);
        if (offset < kCommand + 2 && kCommand < offset + size) {
            try {
                backend_->writeConfig(kCommand, 2, command());
            } catch (const Error& e) {
                warnings_.warn("{}: command register write failed: {}", PciFunction::name(), e.what());
            }
        }
        return;
    }
    // Kept capabilities write through, except their ID and next bytes.
    for (unsigned i = 0; i < size; ++i) {
        const unsigned o = offset + i;
        const auto it = std::find_if(caps_.begin(), caps_.end(),
                                     [&](const CapRange& c) { return o >= c.start && o < c.end; });
        if (it == caps_.end() || !it->visible || o < it->start + 2) continue;
        try {
            backend_->writeConfig(o, 1, (value >> (8 * i)) & 0xFF);
        } catch (const Error& e) {
            warnings_.warn("{}: config write at {:#x} failed: {}", PciFunction::name(), o, e.what());
        }
    }
}

}  // namespace cxvm::hw::vfio
