// The guest-visible passthrough function (hw/vfio/VfioPciFunction) over a fake host
// device: config space virtualisation (ids, BARs the guest sizes and moves, hidden
// BARs, MSI/MSI-X unlinked, the command register written through), BAR accesses
// forwarded and bounds-checked, mapped BAR areas (device regions for kvm's memory
// slots, direct accesses on interp's MMIO path, the rest trapping), INTx from the
// eventfd to the dest line and the unmask at the guest's EOI of that line.
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/MmioBus.h"
#include "hw/Pic8259.h"
#include "hw/vfio/VfioPciFunction.h"
#include "util/Error.h"
#include "util/Mapping.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

namespace cxvm::hw::vfio {
namespace {

// An e1000-like function: BAR0 32-bit memory 128 KiB, BAR1 I/O 64 ports, BAR2 memory
// (not granted), INTA#, capabilities MSI (0xe0) -> PM (0x50) -> MSI-X (0x70) -> PCIe (0x90).
class FakeDevice final : public PassthroughBackend {
public:
    struct Shared {
        std::array<std::uint8_t, 256> config{};
        std::vector<std::uint8_t> bar0 = std::vector<std::uint8_t>(0x20000), bar1 = std::vector<std::uint8_t>(0x40);
        std::vector<std::pair<unsigned, std::uint32_t>> configWrites;  // offset, value
        int intxFd = -2;
        std::atomic<int> unmasks{0};
        // BAR0's mapped areas (offset, bytes), as VFIO's mmap would give them.
        std::vector<MappedBarArea> bar0Areas;
    };
    explicit FakeDevice(Shared& s) : s_(s) {}

    [[nodiscard]] std::string_view name() const override { return "fake"; }
    [[nodiscard]] std::uint32_t readConfig(unsigned offset, unsigned size) const override {
        if (offset + size > 256) throw Error("config read out of range");
        std::uint32_t v = 0;
        for (unsigned i = 0; i < size; ++i) v |= std::uint32_t{s_.config[offset + i]} << (8 * i);
        return v;
    }
    void writeConfig(unsigned offset, unsigned size, std::uint32_t value) override {
        for (unsigned i = 0; i < size; ++i) s_.config[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
        s_.configWrites.emplace_back(offset, value);
    }
    [[nodiscard]] std::uint64_t barSize(unsigned bar) const override {
        return bar == 0 ? s_.bar0.size() : bar == 1 ? s_.bar1.size() : bar == 2 ? 0x1000 : 0;
    }
    std::vector<std::uint8_t>& bar(unsigned i, std::uint64_t offset, std::size_t n) {
        auto& b = i == 0 ? s_.bar0 : s_.bar1;
        if (i > 1 || offset > b.size() || n > b.size() - offset) throw Error("BAR access out of range");
        return b;
    }
    void readBar(unsigned i, std::uint64_t offset, std::span<std::uint8_t> out) override {
        auto& b = bar(i, offset, out.size());
        std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
    }
    void writeBar(unsigned i, std::uint64_t offset, std::span<const std::uint8_t> in) override {
        auto& b = bar(i, offset, in.size());
        std::copy(in.begin(), in.end(), b.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    void routeIntx(int fd) override { s_.intxFd = fd; }
    void unmaskIntx() override { ++s_.unmasks; }
    [[nodiscard]] std::vector<MappedBarArea> mappedAreas(unsigned bar) const override {
        return bar == 0 ? s_.bar0Areas : std::vector<MappedBarArea>{};
    }

private:
    Shared& s_;
};

void put(std::array<std::uint8_t, 256>& c, unsigned o, unsigned size, std::uint32_t v) {
    for (unsigned i = 0; i < size; ++i) c[o + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

struct Levels final : IrqSink {
    std::map<unsigned, bool> level;
    void setIrqLevel(unsigned line, bool l) override { level[line] = l; }
};

class VfioPciFunctionTest : public ::testing::Test {
protected:
    VfioPciFunctionTest() {
        auto& c = dev.config;
        put(c, 0x00, 2, 0x8086);
        put(c, 0x02, 2, 0x100e);
        put(c, 0x04, 2, 0x0007);  // the host kernel enabled it
        put(c, 0x06, 2, 0x0010);  // capability list
        put(c, 0x08, 4, 0x02000003);
        put(c, 0x10, 4, 0xfebc0000);  // BAR0 memory 32-bit
        put(c, 0x14, 4, 0xc001);      // BAR1 I/O
        put(c, 0x18, 4, 0xfebe0008);  // BAR2 memory prefetchable, not granted
        put(c, 0x2c, 2, 0x8086);
        put(c, 0x2e, 2, 0x001e);
        put(c, 0x3c, 1, 21);
        put(c, 0x3d, 1, 1);
        put(c, 0x34, 1, 0xe0);
        put(c, 0xe0, 4, 0x00805005);  // MSI, next 0x50
        put(c, 0x50, 4, 0x48027001);  // PM, next 0x70
        put(c, 0x54, 4, 0x00000000);  // PMCSR
        put(c, 0x70, 4, 0x00079011);  // MSI-X, next 0x90
        put(c, 0x74, 4, 0x12345678);
        put(c, 0x90, 4, 0x00020010);  // PCIe, last
        put(c, 0x94, 4, 0xabcdef01);
    }
    std::unique_ptr<VfioPciFunction> make(bool intx = true, GuestMemory* memory = nullptr) {
        const std::array<GrantedBar, 2> bars{{{0, false, 0xfebc0000, 0x20000}, {1, true, 0xc000, 0x40}}};
        return std::make_unique<VfioPciFunction>("pt", std::make_unique<FakeDevice>(dev), bars, mmio, io,
                                                 intx ? IrqLine(levels, 10) : IrqLine(), 10, [this] { ++kicks; },
                                                 memory);
    }

    FakeDevice::Shared dev;
    MmioBus mmio;
    IoBus io;
    Levels levels;
    std::atomic<int> kicks{0};
};

TEST_F(VfioPciFunctionTest, IdsAndInterruptFromTheHostLineFromTheSpec) {
    auto fn = make();
    EXPECT_EQ(fn->configRead(0x00, 4), 0x100e8086u);
    EXPECT_EQ(fn->configRead(0x08, 4), 0x02000003u);
    EXPECT_EQ(fn->configRead(0x2c, 4), 0x001e8086u);
    EXPECT_EQ(fn->configRead(0x3d, 1), 1u);   // INTA#
    EXPECT_EQ(fn->configRead(0x3c, 1), 10u);  // the spec's dest, not the host's 21
    EXPECT_EQ(fn->configRead(0x04, 2), 0u);   // the guest's command register starts off
    EXPECT_EQ(fn->configRead(0x30, 4), 0u);   // no expansion ROM
    fn.reset();
    dev.intxFd = -2;
    auto noIntx = make(false);
    EXPECT_EQ(noIntx->configRead(0x3d, 1), 0u);  // no irq in the spec: no pin
    EXPECT_EQ(dev.intxFd, -2) << "INTx must not be routed without an irq";
}

TEST_F(VfioPciFunctionTest, BarsSizeAndMoveAndTrapToTheDevice) {
    auto fn = make();
    fn->configWrite(0x10, 4, 0xffffffff);
    EXPECT_EQ(fn->configRead(0x10, 4), 0xfffe0000u);  // 128 KiB, 32-bit memory
    fn->configWrite(0x14, 4, 0xffffffff);
    EXPECT_EQ(fn->configRead(0x14, 4), 0xffffffc1u);  // 64 ports, I/O
    fn->configWrite(0x18, 4, 0xffffffff);
    EXPECT_EQ(fn->configRead(0x18, 4), 0u) << "a BAR the spec does not grant is hidden";

    dev.bar0[0x10] = 0x78;
    dev.bar0[0x11] = 0x56;
    dev.bar0[0x12] = 0x34;
    dev.bar0[0x13] = 0x12;
    fn->configWrite(0x10, 4, 0xe0000000);
    fn->configWrite(0x14, 4, 0x6000);
    EXPECT_EQ(mmio.read(0xe0000010, 4), 0xffffffffu) << "decoding is off until the command register says so";
    fn->configWrite(0x04, 2, 0x0007);
    EXPECT_EQ(fn->mappedBar(0), std::optional<std::uint64_t>(0xe0000000));
    EXPECT_EQ(mmio.read(0xe0000010, 4), 0x12345678u);
    mmio.write(0xe0000020, 2, 0xbeef);
    EXPECT_EQ(dev.bar0[0x20], 0xef);
    EXPECT_EQ(dev.bar0[0x21], 0xbe);
    io.write(0x6004, 4, 0xcafef00d);
    EXPECT_EQ(dev.bar1[4], 0x0d);
    EXPECT_EQ(io.read(0x6004, 2), 0xf00du);
    // The command register reaches the host device (bus master for DMA).
    ASSERT_FALSE(dev.configWrites.empty());
    EXPECT_EQ(dev.configWrites.back(), (std::pair<unsigned, std::uint32_t>{0x04, 0x0007}));

    // Move both: the old places are released.
    fn->configWrite(0x10, 4, 0xe1000000);
    fn->configWrite(0x14, 4, 0x7000);
    EXPECT_EQ(mmio.read(0xe0000010, 4), 0xffffffffu);
    EXPECT_EQ(mmio.read(0xe1000010, 4), 0x12345678u);
    EXPECT_EQ(io.read(0x6004, 2), 0xffffu);
    EXPECT_EQ(io.read(0x7004, 2), 0xf00du);

    // Memory decoding off: unmapped.
    fn->configWrite(0x04, 2, 0x0001);
    EXPECT_EQ(fn->mappedBar(0), std::nullopt);
    EXPECT_EQ(mmio.read(0xe1000010, 4), 0xffffffffu);
}

TEST_F(VfioPciFunctionTest, GuestValuesOutOfRangeAreRefusedNotFollowed) {
    auto fn = make();
    fn->configWrite(0x04, 2, 0x0003);
    // An I/O BAR whose 64 ports would run past 0xffff is not mapped.
    fn->configWrite(0x14, 4, 0x10000);
    EXPECT_EQ(fn->mappedBar(1), std::nullopt);
    // An 8-byte access over the BAR's end: the device refuses it, the guest reads ones.
    fn->configWrite(0x10, 4, 0xe0000000);
    EXPECT_EQ(mmio.read(0xe0000000 + 0x1fffc, 8), ~std::uint64_t{0});
    mmio.write(0xe0000000 + 0x1fffc, 8, 0);  // dropped, no exception
    // Config accesses past the end of config space are ignored.
    fn->configWrite(0xfe, 4, 0xffffffff);
    EXPECT_EQ(fn->configRead(0xfc, 4), 0u);
}

TEST_F(VfioPciFunctionTest, MsiAndMsixAreUnlinkedOtherCapabilitiesPassThrough) {
    auto fn = make();
    EXPECT_TRUE(fn->configRead(0x06, 2) & 0x10);
    EXPECT_EQ(fn->configRead(0x34, 1), 0x50u);
    EXPECT_EQ(fn->configRead(0x50, 2), 0x9001u);  // PM, next: PCIe (MSI-X skipped)
    EXPECT_EQ(fn->configRead(0x90, 2), 0x0010u);  // PCIe, last
    EXPECT_EQ(fn->configRead(0x94, 4), 0xabcdef01u);
    EXPECT_EQ(fn->configRead(0xe0, 4), 0u) << "MSI hidden";
    EXPECT_EQ(fn->configRead(0x74, 4), 0u) << "MSI-X hidden";
    ASSERT_EQ(fn->visibleCapabilities().size(), 2u);
    EXPECT_EQ(fn->visibleCapabilities()[0].second, 0x01);
    EXPECT_EQ(fn->visibleCapabilities()[1].second, 0x10);

    dev.configWrites.clear();
    fn->configWrite(0x54, 2, 0x0003);  // PMCSR: D3hot, written through
    EXPECT_EQ(dev.config[0x54], 0x03);
    fn->configWrite(0x50, 2, 0xffff);  // ID and next are not the guest's
    EXPECT_EQ(fn->configRead(0x50, 2), 0x9001u);
    fn->configWrite(0xe2, 2, 0x0001);  // MSI enable: dropped
    fn->configWrite(0x72, 2, 0x8000);  // MSI-X enable: dropped
    EXPECT_EQ(dev.config[0xe2], 0x80);
    EXPECT_EQ(dev.config[0x73], 0x00);
    for (const auto& [offset, value] : dev.configWrites) EXPECT_TRUE(offset >= 0x54 && offset < 0x56) << offset;
}

TEST_F(VfioPciFunctionTest, IntxRaisesTheDestLineUntilTheGuestsEoi) {
    auto fn = make();
    ASSERT_GE(dev.intxFd, 0);
    fn->configWrite(0x10, 4, 0xe0000000);
    fn->configWrite(0x04, 2, 0x0007);
    const std::uint64_t one = 1;
    ASSERT_EQ(::write(dev.intxFd, &one, sizeof one), 8);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (kicks.load() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(kicks.load(), 1) << "the watcher wakes the VM loop";
    EXPECT_FALSE(levels.level[10]);
    fn->pollIntx();
    EXPECT_TRUE(levels.level[10]);
    EXPECT_TRUE(fn->intxRaised());
    fn->pollIntx();  // nothing new: stays up, no second unmask
    EXPECT_TRUE(levels.level[10]);
    EXPECT_EQ(dev.unmasks.load(), 0);
    (void)mmio.read(0xe00000c0, 4);  // the guest's handler reads the cause register
    EXPECT_TRUE(levels.level[10]) << "a BAR access is no EOI (mapped BARs do not trap)";
    fn->endOfInterrupt(11);
    fn->endOfInterrupt(2);
    EXPECT_TRUE(levels.level[10]) << "another line's EOI";
    EXPECT_EQ(dev.unmasks.load(), 0);
    fn->endOfInterrupt(10);
    EXPECT_FALSE(levels.level[10]);
    EXPECT_FALSE(fn->intxRaised());
    EXPECT_EQ(dev.unmasks.load(), 1);
    fn->endOfInterrupt(10);
    EXPECT_EQ(dev.unmasks.load(), 1) << "unmask only after an interrupt";
    // Still asserting after the unmask: VFIO signals again, the line goes up again.
    ASSERT_EQ(::write(dev.intxFd, &one, sizeof one), 8);
    while (kicks.load() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    fn->pollIntx();
    EXPECT_TRUE(levels.level[10]);
}

// The board's wiring: the guest's EOI at the 8259 (Pic8259Pair::onEoi) ends it.
TEST_F(VfioPciFunctionTest, ThePicsEoiUnmasks) {
    CpuInterruptPins pins;
    Pic8259Pair pic(pins);
    auto fn = std::make_unique<VfioPciFunction>("pt", std::make_unique<FakeDevice>(dev),
                                                std::span<const GrantedBar>{}, mmio, io, pic.line(10), 10, [this] {
                                                    ++kicks;
                                                });
    pic.onEoi = [&](unsigned irq) { fn->endOfInterrupt(irq); };
    for (auto [port, v] : std::array<std::pair<std::uint16_t, std::uint8_t>, 9>{
             {{0x20, 0x11}, {0x21, 0x30}, {0x21, 0x04}, {0x21, 0x01}, {0xA0, 0x11}, {0xA1, 0x38}, {0xA1, 0x02},
              {0xA1, 0x01}, {0x4D1, 0x04}}})
        pic.ioWrite(port, 1, v);
    const std::uint64_t one = 1;
    ASSERT_EQ(::write(dev.intxFd, &one, sizeof one), 8);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (kicks.load() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    fn->pollIntx();
    ASSERT_TRUE(pins.intr.load());
    EXPECT_EQ(pic.acknowledge(), 0x3A);
    EXPECT_EQ(dev.unmasks.load(), 0);
    pic.ioWrite(0xA0, 1, 0x20);  // Linux: EOI to the slave, then the master
    pic.ioWrite(0x20, 1, 0x20);
    EXPECT_EQ(dev.unmasks.load(), 1);
    EXPECT_FALSE(fn->intxRaised());
    EXPECT_FALSE(pins.intr.load()) << "the line is down: no second interrupt";
    pic.onEoi = nullptr;
}

// Mapped BAR areas: device regions of GuestMemory while the BAR is decoded (kvm makes
// them memory slots), invisible to interp's RAM lookups (regionAt, tryHost), served in
// place on the MMIO path; the rest of the BAR (a hole like an MSI-X page), unaligned
// accesses and the I/O BAR trap to the device.
TEST_F(VfioPciFunctionTest, MappedAreasAreDeviceRegionsAndServedInPlace) {
    Mapping m = Mapping::map(0x20000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    dev.bar0Areas = {{0x0, m.bytes().first(0x3000)}, {0x4000, m.bytes().subspan(0x4000)}};
    GuestMemory memory(1 << 20);
    auto fn = make(true, &memory);
    const auto deviceRegions = [&] {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
        for (const MemoryRegion& r : memory.regions())
            if (r.device) out.emplace_back(r.gpa, r.size);
        return out;
    };
    EXPECT_TRUE(deviceRegions().empty()) << "not decoded yet";
    fn->configWrite(0x10, 4, 0xe0000000);
    fn->configWrite(0x14, 4, 0x6000);
    const auto gen = memory.generation();
    fn->configWrite(0x04, 2, 0x0003);
    EXPECT_GT(memory.generation(), gen) << "kvm re-syncs its slots";
    using Regions = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    EXPECT_EQ(deviceRegions(), (Regions{{0xe0000000, 0x3000}, {0xe0004000, 0x1c000}}));
    for (const MemoryRegion& r : memory.regions()) {
        if (r.device) {
            EXPECT_EQ(r.host, r.gpa == 0xe0000000 ? m.data() : m.data() + 0x4000);
        }
    }
    EXPECT_EQ(memory.regionAt(0xe0000000), nullptr) << "interp's TLB fills must not see it";
    EXPECT_EQ(memory.tryHost(0xe0000000, 4), nullptr) << "nor emulated devices' DMA";
    EXPECT_THROW((void)memory.span(0xe0004000, 4), Error);

    m.data()[0x10] = 0x44;
    m.data()[0x13] = 0x11;
    dev.bar0[0x10] = 0x99;
    EXPECT_EQ(mmio.read(0xe0000010, 4), 0x11000044u) << "from the mapping";
    mmio.write(0xe0004008, 8, 0x0102030405060708ull);
    EXPECT_EQ(m.data()[0x4008], 0x08);
    EXPECT_EQ(m.data()[0x400f], 0x01);
    EXPECT_EQ(fn->mappedBarAccesses(), 2u);
    EXPECT_EQ(fn->trappedBarAccesses(), 0u);
    dev.bar0[0x3010] = 0x5a;
    EXPECT_EQ(mmio.read(0xe0003010, 1), 0x5au) << "the hole traps";
    EXPECT_EQ(mmio.read(0xe0000011, 2), 0u) << "unaligned: traps (the device's bytes)";
    EXPECT_EQ(mmio.read(0xe0002ffe, 4), 0u) << "straddles the end of an area: traps";
    (void)io.read(0x6004, 4);
    EXPECT_EQ(fn->trappedBarAccesses(), 4u);
    EXPECT_EQ(fn->mappedBarAccesses(), 2u);

    // Moved: the regions follow; memory decoding off: gone; on again: back.
    fn->configWrite(0x10, 4, 0xe1000000);
    EXPECT_EQ(deviceRegions(), (Regions{{0xe1000000, 0x3000}, {0xe1004000, 0x1c000}}));
    fn->configWrite(0x04, 2, 0x0001);
    EXPECT_TRUE(deviceRegions().empty());
    fn->configWrite(0x04, 2, 0x0003);
    EXPECT_EQ(deviceRegions().size(), 2u);
    // Onto guest RAM: the MMIO range is claimed, the areas are not placed over RAM.
    fn->configWrite(0x10, 4, 0x00000000);
    EXPECT_TRUE(deviceRegions().empty());
    EXPECT_EQ(memory.regionAt(0x10)->name, "ram");
    fn->configWrite(0x10, 4, 0xe0000000);
    EXPECT_EQ(deviceRegions().size(), 2u);
    fn.reset();
    EXPECT_TRUE(deviceRegions().empty()) << "destruction removes them";
}

TEST_F(VfioPciFunctionTest, MappedAreasOutsideTheBarAreIgnored) {
    Mapping m = Mapping::map(0x22000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    dev.bar0Areas = {{0x1f000, m.bytes().first(0x2000)}, {0x0, m.bytes().first(0x1000)}};
    GuestMemory memory(1 << 20);
    auto fn = make(true, &memory);
    fn->configWrite(0x10, 4, 0xe0000000);
    fn->configWrite(0x04, 2, 0x0002);
    std::size_t n = 0;
    for (const MemoryRegion& r : memory.regions()) n += r.device;
    EXPECT_EQ(n, 1u) << "the area running past the BAR's end is dropped";
    dev.bar0[0x1fff0] = 0x77;
    EXPECT_EQ(mmio.read(0xe001fff0, 1), 0x77u) << "and that part of the BAR traps";
}

TEST_F(VfioPciFunctionTest, DestructionReleasesTheBarsAndTheEventfd) {
    auto fn = make();
    fn->configWrite(0x10, 4, 0xe0000000);
    fn->configWrite(0x14, 4, 0x6000);
    fn->configWrite(0x04, 2, 0x0003);
    EXPECT_EQ(io.read(0x6000, 1), 0u);
    fn.reset();
    EXPECT_EQ(mmio.read(0xe0000000, 4), 0xffffffffu);
    EXPECT_EQ(io.read(0x6000, 1), 0xffu);
    EXPECT_EQ(dev.intxFd, -1) << "INTx unrouted";
}

TEST_F(VfioPciFunctionTest, BridgesAndMismatchedBarsAreRefused) {
    put(dev.config, 0x0e, 1, 0x01);
    EXPECT_THROW(make(), Error);
    put(dev.config, 0x0e, 1, 0x00);
    const std::array<GrantedBar, 1> wrong{{{0, false, 0xfebc0000, 0x10000}}};
    try {
        VfioPciFunction fn("pt", std::make_unique<FakeDevice>(dev), wrong, mmio, io, IrqLine(), 10, {});
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("BAR0 is 0x20000 bytes through VFIO but 0x10000 in sysfs"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace cxvm::hw::vfio
