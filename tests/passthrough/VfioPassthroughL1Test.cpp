// The passthrough function over a real vfio-pci device: run inside the nested L1
// (tests/passthrough/vfio-l1-test, CXVM_VFIO_DEVICE = the e1000 bound to vfio-pci);
// skipped elsewhere. VfioSession opens it from a spec built from its sysfs resources;
// the guest-visible VfioPciFunction's BARs, moved to guest addresses, reach the
// device through the MMIO and I/O buses (an e1000 register read both ways: memory BAR
// and the I/O BAR's IOADDR/IODATA window agree); the memory BAR is mapped (a device
// region of GuestMemory at its guest address, kvm's memory slot; the MMIO path served
// in place): no memory-BAR access traps; an interrupt the device raises (ICS) comes
// through VFIO's eventfd to the dest line and goes at the guest's EOI; a second
// session on the same device is refused as in use. Prints the cost of a BAR read
// through the device fd (pread: a trapped access's host side) and through the mapping.
#include "L1PassthroughSpec.h"
#include "host/pci/PciSysfs.h"
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/MmioBus.h"
#include "hw/vfio/VfioPciFunction.h"
#include "hw/vfio/VfioSession.h"
#include "util/Error.h"
#include "util/Mapping.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

namespace cxvm::hw::vfio {
namespace {

using l1::deviceUnderTest;
using l1::specFromSysfs;

struct Levels final : IrqSink {
    std::atomic<bool> level11{false};
    void setIrqLevel(unsigned line, bool l) override {
        if (line == 11) level11 = l;
    }
};

TEST(VfioPassthroughL1, E1000ThroughTheGuestVisibleFunction) {
    if (!deviceUnderTest()) GTEST_SKIP() << "needs CXVM_VFIO_DEVICE (nested L1 test bed, docs/passthrough.md)";
    const auto address = host::pci::PciAddress::parse(deviceUnderTest());
    const auto host = host::pci::PciSysfs().device(address);
    const auto spec = specFromSysfs(host, 11);
    ASSERT_FALSE(spec.memory.empty());
    ASSERT_FALSE(spec.ioports.empty()) << "the e1000 has an I/O BAR";

    VfioSession session;
    auto opened = session.open(spec);
    ASSERT_EQ(opened.bars.size(), spec.memory.size() + spec.ioports.size());
    // 2 MiB of "guest RAM" mapped for DMA at IOVA 0.
    auto ram = Mapping::map(2u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    session.mapGuestRam(std::span(ram.data(), ram.size()), 0);

    // Reference values straight through VFIO, before the function owns the device:
    // STATUS (memory BAR offset 0x8) and the I/O BAR's dword at 4 (IODATA; QEMU's e1000
    // does not implement its I/O window and reads 0 there).
    const GrantedBar* memBar = nullptr;
    const GrantedBar* ioBar = nullptr;
    for (const auto& b : opened.bars) {
        if (b.io && !ioBar) ioBar = &b;
        if (!b.io && !memBar) memBar = &b;
    }
    ASSERT_NE(memBar, nullptr);
    ASSERT_NE(ioBar, nullptr);
    std::array<std::uint8_t, 4> raw{};
    opened.backend->readBar(memBar->index, 0x8, raw);
    const std::uint32_t statusDirect = raw[0] | raw[1] << 8 | raw[2] << 16 | static_cast<std::uint32_t>(raw[3]) << 24;
    opened.backend->readBar(ioBar->index, 0x4, raw);
    const std::uint32_t ioDirect = raw[0] | raw[1] << 8 | raw[2] << 16 | static_cast<std::uint32_t>(raw[3]) << 24;

    // The memory BAR is mappable (vfio-pci: page-aligned BAR, no MSI-X on the e1000).
    const auto areas = opened.backend->mappedAreas(memBar->index);
    ASSERT_FALSE(areas.empty()) << "VFIO let no part of the memory BAR be mapped";
    ASSERT_EQ(areas.front().offset, 0u);
    EXPECT_EQ(areas.front().host.size(), memBar->size) << "the whole BAR: no sparse areas, no MSI-X pages";
    const auto* statusPtr = reinterpret_cast<const volatile std::uint32_t*>(areas.front().host.data() + 0x8);
    EXPECT_EQ(*statusPtr, statusDirect) << "STATUS through the mapping";
    // Cost of one STATUS read each way (the host side of a trapped access; what a
    // mapped access costs once it is in the guest's page tables or memory slot).
    constexpr int kReads = 20000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kReads; ++i) opened.backend->readBar(memBar->index, 0x8, raw);
    auto t1 = std::chrono::steady_clock::now();
    std::uint32_t sink = 0;
    for (int i = 0; i < kReads; ++i) sink += *statusPtr;
    auto t2 = std::chrono::steady_clock::now();
    const auto ns = [](auto d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count() / kReads; };
    std::printf("l1-passthrough: BAR read cost in L1: pread on the device fd %lld ns, mapped %lld ns (%d reads, sum %u)\n",
                static_cast<long long>(ns(t1 - t0)), static_cast<long long>(ns(t2 - t1)), kReads, sink);

    MmioBus mmio;
    IoBus io;
    Levels levels;
    std::atomic<int> kicks{0};
    GuestMemory memory(1u << 20);
    VfioPciFunction fn("e1000", std::move(opened.backend), opened.bars, mmio, io, IrqLine(levels, 11), 11,
                       [&] { ++kicks; }, &memory);
    EXPECT_EQ(fn.configRead(0x00, 2), host.vendor);
    EXPECT_EQ(fn.configRead(0x02, 2), host.device);
    EXPECT_EQ(fn.configRead(0x3c, 1), 11u);
    EXPECT_EQ(fn.configRead(0x3d, 1), 1u);
    for (const auto& [offset, id] : fn.visibleCapabilities()) {
        EXPECT_NE(id, VfioPciFunction::kCapMsi) << offset;
        EXPECT_NE(id, VfioPciFunction::kCapMsix) << offset;
    }
    const GrantedBar& mem = *memBar;
    const GrantedBar* iob = ioBar;
    fn.configWrite(0x10 + 4 * mem.index, 4, 0xffffffff);
    EXPECT_EQ(fn.configRead(0x10 + 4 * mem.index, 4) & 0xfffffff0u, static_cast<std::uint32_t>(~(mem.size - 1)));
    constexpr std::uint64_t kMem = 0xe0000000;
    constexpr std::uint16_t kIo = 0x6000;
    fn.configWrite(0x10 + 4 * mem.index, 4, kMem);
    fn.configWrite(0x10 + 4 * iob->index, 4, kIo);
    fn.configWrite(0x04, 2, 0x0007);
    ASSERT_EQ(fn.mappedBar(mem.index), std::optional<std::uint64_t>(kMem));
    ASSERT_EQ(fn.mappedBar(iob->index), std::optional<std::uint64_t>(kIo));

    // Through the guest-visible BARs at their guest addresses: the same values.
    const auto viaMem = mmio.read(kMem + 0x8, 4);
    const auto viaIo = io.read(kIo + 4, 4);
    EXPECT_EQ(viaMem, statusDirect);
    EXPECT_NE(viaMem, 0xffffffffu) << "an unclaimed MMIO read";
    EXPECT_EQ(viaIo, ioDirect);
    EXPECT_NE(viaIo, 0xffffffffu) << "an unclaimed port read";
    // The memory BAR is a device region at its guest address (a memory slot on kvm), its
    // host bytes the mapping; the MMIO path served it in place, only the port read trapped.
    const MemoryRegion* slot = nullptr;
    for (const MemoryRegion& r : memory.regions())
        if (r.device && r.gpa == kMem) slot = &r;
    ASSERT_NE(slot, nullptr) << "no device region at the BAR's guest address";
    EXPECT_EQ(slot->size, mem.size);
    EXPECT_EQ(*reinterpret_cast<const volatile std::uint32_t*>(slot->host + 0x8), statusDirect);
    EXPECT_EQ(fn.mappedBarAccesses(), 1u);
    EXPECT_EQ(fn.trappedBarAccesses(), 1u) << "the I/O BAR read only";
    std::printf("l1-passthrough: e1000 STATUS %#x through the memory BAR (direct %#x), I/O BAR dword %#x (direct %#x)\n",
                static_cast<unsigned>(viaMem), statusDirect, static_cast<unsigned>(viaIo), ioDirect);

    // INTx: mask all, clear, then enable LSC (bit 2) and set it by ICS.
    mmio.write(kMem + 0xd8, 4, 0xffffffff);  // IMC
    (void)mmio.read(kMem + 0xc0, 4);          // ICR: read clears
    fn.pollIntx();
    EXPECT_FALSE(levels.level11.load());
    mmio.write(kMem + 0xd0, 4, 0x4);  // IMS: LSC
    mmio.write(kMem + 0xc8, 4, 0x4);  // ICS: LSC
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!levels.level11.load() && std::chrono::steady_clock::now() < deadline) {
        fn.pollIntx();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(levels.level11.load()) << "the device's INTx reached the dest line";
    EXPECT_GE(kicks.load(), 1);
    const auto icr = mmio.read(kMem + 0xc0, 4);  // the guest's handler: read the cause
    EXPECT_TRUE(icr & 0x4) << std::hex << icr;
    EXPECT_TRUE(levels.level11.load()) << "a BAR access is no EOI";
    fn.endOfInterrupt(11);  // the guest's EOI at its PIC
    EXPECT_FALSE(levels.level11.load()) << "lowered at the guest's EOI";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    fn.pollIntx();
    EXPECT_FALSE(levels.level11.load()) << "the cause is cleared: no new interrupt after the unmask";
    std::printf("l1-passthrough: INTx to IRQ 11 and unmasked at the EOI after ICR %#x\n", static_cast<unsigned>(icr));
    mmio.write(kMem + 0xd8, 4, 0xffffffff);  // IMC
    EXPECT_EQ(fn.trappedBarAccesses(), 1u) << "no memory-BAR access trapped";
    std::printf("l1-passthrough: memory BAR mapped at %#llx (+%#llx): %llu accesses in place, %llu trapped (the port read)\n",
                static_cast<unsigned long long>(kMem), static_cast<unsigned long long>(mem.size),
                static_cast<unsigned long long>(fn.mappedBarAccesses()),
                static_cast<unsigned long long>(fn.trappedBarAccesses()));

    // The same device from a second VM: in use.
    VfioSession other;
    try {
        (void)other.open(spec);
        ADD_FAILURE() << "a second session opened the device";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
        std::printf("l1-passthrough: second open: %s\n", e.what());
    }
}

}  // namespace
}  // namespace cxvm::hw::vfio
