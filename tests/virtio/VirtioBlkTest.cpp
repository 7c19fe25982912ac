// virtio-blk through the PCI transport, driven like Linux: discovery and negotiation
// through config space and BAR MMIO, then requests built in guest memory. Covers the
// transport (capabilities, features, ISR, the config access window, reset), the block
// requests (read, write, flush, get-id, read-only, out of range), hostile requests, a
// notify storm, image errors and durability across SIGKILL.
#include "GuestRings.h"
#include "VirtioPciDriver.h"

#include "hw/virtio/BlockRequest.h"
#include "hw/virtio/VirtioBlk.h"
#include "hw/virtio/VirtioPci.h"
#include "util/Error.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace {

using namespace cxvm;
using namespace cxvm::hw::virtio;
namespace fs = std::filesystem;

constexpr std::uint64_t kRam = 4 << 20;
constexpr std::uint64_t kSectors = 64;
constexpr std::uint64_t kFeatures =
    bit(feature::kVersion1) | bit(feature::kIndirectDesc) | bit(feature::kEventIdx) | bit(9) /*FLUSH*/;

std::uint8_t pattern(std::uint64_t i) { return static_cast<std::uint8_t>(i * 7 + 3); }

// A temporary image of kSectors sectors filled with pattern().
struct TempImage {
    fs::path path;
    explicit TempImage(std::uint64_t sectors = kSectors, std::string_view name = "disk.img") {
        char dir[] = "/tmp/cxvm-virtio-XXXXXX";
        if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp");
        path = fs::path(dir) / name;
        std::vector<std::uint8_t> b(sectors * 512);
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = pattern(i);
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                    static_cast<std::streamsize>(b.size()));
    }
    ~TempImage() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, ec);
        fs::remove_all(path.parent_path(), ec);
    }
    [[nodiscard]] std::vector<std::uint8_t> bytes(std::uint64_t offset, std::size_t n) const {
        std::vector<std::uint8_t> b(n);
        std::ifstream f(path, std::ios::binary);
        f.seekg(static_cast<std::streamoff>(offset));
        f.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
        return b;
    }
};

// Where the tests put request headers, data and status bytes in guest memory.
constexpr std::uint64_t kHeader = 0x40000, kData = 0x50000, kStatus = 0x48000;

struct BlkFixture : ::testing::Test {

    TempImage image;
    hw::GuestMemory mem{kRam};
    hw::MmioBus mmio;
    hw::PciHost host;
    test::IrqProbe irq;
    test::GuestRings rings{mem};
    std::atomic<int> wakes{0};
    std::unique_ptr<VirtioBlk> blk;
    std::unique_ptr<VirtioPci> pci;
    std::unique_ptr<test::PciVirtioDriver> driver;

    void attach(bool readOnly = false, bool threaded = true) {
        blk = std::make_unique<VirtioBlk>(DiskOptions{image.path, readOnly, ""}, mem, "virtio-blk vda",
                                          [this] { ++wakes; }, threaded);
        pci = std::make_unique<VirtioPci>(*blk, mem, mmio, hw::IrqLine(irq, 10));
        host.addFunction(hw::PciAddress{0, 1, 0}, *pci);
        driver = std::make_unique<test::PciVirtioDriver>(host, mmio, 1);
        driver->discover();
    }
    void start(bool readOnly = false, bool threaded = true, std::uint64_t features = kFeatures) {
        attach(readOnly, threaded);
        ASSERT_TRUE(driver->negotiate(features));
        driver->setupQueue(0, rings);
        driver->driverOk();
        ASSERT_EQ(driver->status() & status::kDeviceNeedsReset, 0);
    }
    bool waitUsed(std::uint16_t idx) {
        return test::waitFor([&] { pci->poll(); }, [&] { return rings.usedIdx() == idx; });
    }
    // Header + data + status in three descriptors at `head`; returns the status byte.
    std::uint8_t request(blk::RequestType type, std::uint64_t sector, std::uint32_t len,
                         std::uint16_t head = 0) {
        rings.put<std::uint32_t>(kHeader, static_cast<std::uint32_t>(type));
        rings.put<std::uint32_t>(kHeader + 4, 0);
        rings.put<std::uint64_t>(kHeader + 8, sector);
        rings.put<std::uint8_t>(kStatus, 0xEE);
        const bool deviceWrites = type != blk::RequestType::Out;
        if (len) {
            rings.setDesc(head, kHeader, 16, desc::kNext, head + 1);
            rings.setDesc(head + 1, kData, len, static_cast<std::uint16_t>(desc::kNext | (deviceWrites ? desc::kWrite : 0)),
                          head + 2);
            rings.setDesc(head + 2, kStatus, 1, desc::kWrite);
        } else {
            rings.setDesc(head, kHeader, 16, desc::kNext, head + 1);
            rings.setDesc(head + 1, kStatus, 1, desc::kWrite);
        }
        const std::uint16_t want = static_cast<std::uint16_t>(rings.usedIdx() + 1);
        rings.setUsedEvent(rings.usedIdx());  // interrupt me for the next one (as Linux does)
        rings.offer(head);
        driver->notify(0);
        EXPECT_TRUE(waitUsed(want)) << "request did not complete";
        return rings.get<std::uint8_t>(kStatus);
    }
    void fillData(std::uint32_t len, std::uint8_t seed) {
        std::vector<std::uint8_t> b(len);
        for (std::size_t i = 0; i < len; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 13);
        mem.write(kData, b);
    }
    std::vector<std::uint8_t> data(std::uint32_t len) {
        std::vector<std::uint8_t> b(len);
        mem.read(kData, b);
        return b;
    }
    bool needsReset() { return driver->status() & status::kDeviceNeedsReset; }
};

// ---- transport ----

TEST_F(BlkFixture, DiscoveryAsLinuxDoesIt) {
    attach();
    EXPECT_EQ(driver->cfgRead(0x00), 0x1042'1AF4u) << "modern virtio-blk: 0x1040 + 2";
    EXPECT_EQ(driver->cfgRead(0x08, 1), 1u) << "revision 1 (modern only)";
    EXPECT_GE(driver->cfgRead(0x2E, 2), 0x40u) << "subsystem id >= 0x40";
    EXPECT_EQ(driver->cfgRead(0x3D, 1), 1u) << "INTA#";
    EXPECT_EQ(driver->barSize, VirtioPci::kBarSize);
    for (auto t : {PciCapType::Common, PciCapType::Notify, PciCapType::Isr, PciCapType::Device, PciCapType::PciCfg})
        EXPECT_TRUE(driver->hasCap(t)) << static_cast<int>(t);
    EXPECT_EQ(driver->cap(PciCapType::Common).length, common::kSize);
    EXPECT_EQ(driver->cap(PciCapType::Notify).extra, VirtioPci::kNotifyMultiplier);
    EXPECT_EQ(driver->common(common::kNumQueues, 2), 1u);
    EXPECT_EQ(driver->common(common::kQueueSize, 2), VirtioBlk::kQueueSize);
    EXPECT_EQ(driver->deviceConfig(0, 8), kSectors) << "capacity in 512-byte sectors";
    EXPECT_EQ(driver->deviceConfig(12, 4), VirtioBlk::kSegMax);
    const std::uint64_t f = driver->deviceFeatures();
    EXPECT_TRUE(f & bit(feature::kVersion1));
    EXPECT_TRUE(f & bit(9)) << "VIRTIO_BLK_F_FLUSH";
    EXPECT_FALSE(f & bit(5)) << "not read-only";
    driver->setCommon(common::kQueueSelect, 2, 1);
    EXPECT_EQ(driver->common(common::kQueueSize, 2), 0u) << "queue 1 does not exist";
}

TEST_F(BlkFixture, BarMovesWithTheGuestsProgramming) {
    attach();
    EXPECT_EQ(mmio.read(test::PciVirtioDriver::kBarAddress + common::kNumQueues, 2), 1u);
    driver->cfgWrite(0x04, 0, 2);  // memory decode off: unmapped
    EXPECT_EQ(mmio.read(test::PciVirtioDriver::kBarAddress + common::kNumQueues, 2), 0xFFFFu);
    driver->cfgWrite(0x10, 0xE010'0000);
    driver->cfgWrite(0x04, 0x2, 2);
    EXPECT_EQ(mmio.read(0xE010'0000 + common::kNumQueues, 2), 1u);
}

TEST_F(BlkFixture, FeatureNegotiationRefusesWhatWasNotOffered) {
    attach();
    EXPECT_FALSE(driver->negotiate(kFeatures | bit(feature::kRingPacked))) << "not offered";
    EXPECT_FALSE(driver->negotiate(bit(9))) << "legacy driver: no VERSION_1";
    EXPECT_TRUE(driver->negotiate(bit(feature::kVersion1)));
    // Feature writes after FEATURES_OK are ignored.
    driver->setCommon(common::kDriverFeatureSelect, 4, 0);
    driver->setCommon(common::kDriverFeature, 4, 0xFFFF'FFFF);
    EXPECT_EQ(pci->negotiatedFeatures(), bit(feature::kVersion1));
}

TEST_F(BlkFixture, PciConfigAccessWindow) {
    attach();
    const unsigned at = driver->cap(PciCapType::PciCfg).at;
    driver->cfgWrite(at + 4, 0, 1);                             // bar 0
    driver->cfgWrite(at + 8, VirtioPci::kCommonOffset + common::kNumQueues);  // offset
    driver->cfgWrite(at + 12, 2);                               // length
    EXPECT_EQ(driver->cfgRead(at + 16, 2), 1u) << "num_queues through config space";
    driver->cfgWrite(at + 8, VirtioPci::kCommonOffset + common::kDeviceStatus);
    driver->cfgWrite(at + 12, 1);
    driver->cfgWrite(at + 16, status::kAcknowledge, 1);
    EXPECT_EQ(driver->status(), status::kAcknowledge);
}

TEST_F(BlkFixture, IsrIsReadToClearAndDrivesTheLine) {
    start();
    fillData(512, 1);
    ASSERT_EQ(request(blk::RequestType::In, 0, 512), blk::kStatusOk);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(irq.rises, 1u);
    EXPECT_EQ(driver->readIsr(), kIsrQueue);
    EXPECT_FALSE(irq.level) << "reading the ISR lowers INTx";
    EXPECT_EQ(driver->readIsr(), 0);
    // INTx disable in the command register holds the line low.
    driver->cfgWrite(0x04, 0x406, 2);
    ASSERT_EQ(request(blk::RequestType::In, 0, 512), blk::kStatusOk);
    EXPECT_FALSE(irq.level);
    driver->cfgWrite(0x04, 0x006, 2);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(driver->readIsr(), kIsrQueue);
}

TEST_F(BlkFixture, ResetStopsTheDeviceAndClearsState) {
    start();
    ASSERT_EQ(request(blk::RequestType::In, 0, 512), blk::kStatusOk);
    driver->setStatus(0);
    EXPECT_EQ(driver->status(), 0);
    EXPECT_EQ(driver->common(common::kQueueEnable, 2), 0u);
    EXPECT_EQ(driver->common(common::kQueueDesc, 4), 0u);
    EXPECT_FALSE(irq.level);
    // And it comes back, with fresh rings (as a driver allocates them again).
    rings.availIdx = 0;
    rings.put<std::uint16_t>(rings.avail + 2, 0);
    rings.put<std::uint16_t>(rings.used + 2, 0);
    ASSERT_TRUE(driver->negotiate(kFeatures));
    driver->setupQueue(0, rings);
    driver->driverOk();
    EXPECT_EQ(request(blk::RequestType::In, 1, 512), blk::kStatusOk);
}

TEST_F(BlkFixture, BadRingLayoutNeedsReset) {
    attach();
    ASSERT_TRUE(driver->negotiate(kFeatures));
    test::GuestRings bad{mem};
    bad.used = kRam - 8;
    driver->setupQueue(0, bad);
    EXPECT_TRUE(needsReset());
    EXPECT_EQ(driver->common(common::kQueueEnable, 2), 0u);
}

// ---- block requests ----

TEST_F(BlkFixture, ReadWriteFlushGetId) {
    start();
    ASSERT_EQ(request(blk::RequestType::In, 3, 1024), blk::kStatusOk);
    const auto got = data(1024);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], pattern(3 * 512 + i)) << i;
    EXPECT_EQ(rings.usedLen(0), 1025u) << "data + status";

    fillData(2048, 0x40);
    ASSERT_EQ(request(blk::RequestType::Out, 8, 2048), blk::kStatusOk);
    EXPECT_EQ(rings.usedLen(1), 1u);
    ASSERT_EQ(request(blk::RequestType::Flush, 0, 0), blk::kStatusOk);
    const auto file = image.bytes(8 * 512, 2048);
    for (std::size_t i = 0; i < file.size(); ++i) ASSERT_EQ(file[i], static_cast<std::uint8_t>(0x40 + i * 13)) << i;
    EXPECT_EQ(image.bytes(8 * 512 - 1, 1)[0], pattern(8 * 512 - 1)) << "nothing before the range";
    EXPECT_EQ(image.bytes(12 * 512, 1)[0], pattern(12 * 512)) << "nothing after it";

    ASSERT_EQ(request(blk::RequestType::GetId, 0, 20), blk::kStatusOk);
    const auto id = data(20);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(id.data()), 8), "disk.img");
    EXPECT_EQ(id[8], 0);
}

TEST_F(BlkFixture, InlineModeCompletesInsideTheNotification) {
    start(false, /*threaded=*/false);
    const std::uint16_t before = rings.usedIdx();
    rings.put<std::uint32_t>(kHeader, 0);
    rings.put<std::uint64_t>(kHeader + 8, 0);
    rings.setDesc(0, kHeader, 16, desc::kNext, 1);
    rings.setDesc(1, kData, 512, desc::kNext | desc::kWrite, 2);
    rings.setDesc(2, kStatus, 1, desc::kWrite);
    rings.offer(0);
    driver->notify(0);
    EXPECT_EQ(rings.usedIdx(), before + 1) << "no poll needed";
    EXPECT_EQ(wakes.load(), 0);
}

TEST_F(BlkFixture, WorkerWakesTheVmThread) {
    start();
    ASSERT_EQ(request(blk::RequestType::In, 0, 512), blk::kStatusOk);
    EXPECT_GE(wakes.load(), 1);
}

TEST_F(BlkFixture, ManyRequestsInFlight) {
    start();
    // 40 reads of one sector each, all offered before one notification.
    for (std::uint16_t k = 0; k < 40; ++k) {
        const std::uint64_t hdr = kHeader + 16 * k, buf = kData + 512 * k, st = kStatus + k;
        rings.put<std::uint32_t>(hdr, 0);
        rings.put<std::uint32_t>(hdr + 4, 0);
        rings.put<std::uint64_t>(hdr + 8, k % kSectors);
        rings.setDesc(3 * k, hdr, 16, desc::kNext, 3 * k + 1);
        rings.setDesc(3 * k + 1, buf, 512, desc::kNext | desc::kWrite, 3 * k + 2);
        rings.setDesc(3 * k + 2, st, 1, desc::kWrite);
        rings.offer(3 * k);
    }
    driver->notify(0);
    ASSERT_TRUE(waitUsed(40));
    for (std::uint16_t k = 0; k < 40; ++k) {
        EXPECT_EQ(rings.get<std::uint8_t>(kStatus + k), blk::kStatusOk);
        EXPECT_EQ(rings.get<std::uint8_t>(kData + 512 * k + 5), pattern((k % kSectors) * 512 + 5));
    }
    EXPECT_EQ(blk->requestsInFlight(), 0u);
}

TEST_F(BlkFixture, HeaderAndDataMaySplitAnyWay) {
    start();
    // Header in two pieces, data and status in one descriptor (2.7.4.4 message framing).
    rings.put<std::uint32_t>(kHeader, 0);
    rings.put<std::uint32_t>(kHeader + 0x100, 0);
    rings.put<std::uint64_t>(kHeader + 0x104, 2);
    rings.setDesc(0, kHeader, 4, desc::kNext, 1);
    rings.setDesc(1, kHeader + 0x100, 12, desc::kNext, 2);
    rings.setDesc(2, kData, 513, desc::kWrite);
    rings.offer(0);
    driver->notify(0);
    ASSERT_TRUE(waitUsed(1));
    EXPECT_EQ(rings.get<std::uint8_t>(kData + 512), blk::kStatusOk);
    EXPECT_EQ(rings.get<std::uint8_t>(kData + 7), pattern(2 * 512 + 7));
}

TEST_F(BlkFixture, ReadOnlyDiskRefusesWritesWithoutTouchingTheFile) {
    start(/*readOnly=*/true);
    EXPECT_TRUE(driver->deviceFeatures() & bit(5)) << "VIRTIO_BLK_F_RO";
    fillData(512, 0x99);
    EXPECT_EQ(request(blk::RequestType::Out, 0, 512), blk::kStatusIoErr);
    EXPECT_EQ(request(blk::RequestType::In, 0, 512), blk::kStatusOk) << "reads still work";
    EXPECT_EQ(request(blk::RequestType::Flush, 0, 0), blk::kStatusOk);
    EXPECT_EQ(image.bytes(0, 1)[0], pattern(0));
    EXPECT_FALSE(needsReset());
}

TEST_F(BlkFixture, OutOfRangeAndMalformedRequestsGetErrorStatus) {
    start();
    fillData(1024, 0x11);
    struct Case {
        blk::RequestType type;
        std::uint64_t sector;
        std::uint32_t len;
        std::uint8_t expect;
    };
    const Case cases[] = {
        {blk::RequestType::In, kSectors, 512, blk::kStatusIoErr},      // first sector past the end
        {blk::RequestType::In, kSectors - 1, 1024, blk::kStatusIoErr}, // runs past the end
        {blk::RequestType::Out, kSectors - 1, 1024, blk::kStatusIoErr},
        {blk::RequestType::Out, ~0ull, 512, blk::kStatusIoErr},        // sector * 512 would wrap
        {blk::RequestType::Out, ~0ull / 512 + 1, 512, blk::kStatusIoErr},
        {blk::RequestType::In, 0, 100, blk::kStatusIoErr},             // not whole sectors
        {blk::RequestType::In, kSectors - 1, 512, blk::kStatusOk},     // the last sector is fine
        {static_cast<blk::RequestType>(99), 0, 512, blk::kStatusUnsupp},
    };
    for (const Case& c : cases)
        EXPECT_EQ(request(c.type, c.sector, c.len), c.expect) << static_cast<int>(c.type) << " " << c.sector;
    const auto file = image.bytes(0, kSectors * 512);
    for (std::size_t i = 0; i < file.size(); ++i) ASSERT_EQ(file[i], pattern(i)) << "host write at " << i;
    EXPECT_FALSE(needsReset()) << "request errors are statuses, not a broken device";
}

TEST_F(BlkFixture, WrongDirectionDataGetsIoErr) {
    start();
    // A write whose data descriptor is device-writable: nothing reaches the file.
    rings.put<std::uint32_t>(kHeader, 1);
    rings.put<std::uint64_t>(kHeader + 8, 0);
    rings.setDesc(0, kHeader, 16, desc::kNext, 1);
    rings.setDesc(1, kData, 512, desc::kNext | desc::kWrite, 2);
    rings.setDesc(2, kStatus, 1, desc::kWrite);
    rings.offer(0);
    driver->notify(0);
    ASSERT_TRUE(waitUsed(1));
    EXPECT_EQ(rings.get<std::uint8_t>(kStatus), blk::kStatusIoErr);
    EXPECT_EQ(image.bytes(0, 1)[0], pattern(0));
}

TEST_F(BlkFixture, ChainTooShortForHeaderOrStatusNeedsReset) {
    start();
    rings.setDesc(0, kHeader, 8, desc::kNext, 1);  // 8 bytes of header
    rings.setDesc(1, kStatus, 1, desc::kWrite);
    rings.offer(0);
    driver->notify(0);
    EXPECT_TRUE(needsReset());
    EXPECT_EQ(driver->readIsr() & kIsrConfig, kIsrConfig) << "config change notification (2.1.2)";

    ASSERT_TRUE(driver->negotiate(kFeatures));  // includes the reset
    rings.availIdx = 0;
    driver->setupQueue(0, rings);
    driver->driverOk();
    rings.setDesc(0, kHeader, 16);  // header only: no status byte
    rings.offer(0);
    driver->notify(0);
    EXPECT_TRUE(needsReset());
}

struct HostileCase {
    const char* name;
    void (*build)(test::GuestRings&);
};
struct HostileChain : BlkFixture, ::testing::WithParamInterface<HostileCase> {};

TEST_P(HostileChain, NeedsResetAndTouchesNothing) {
    start();
    rings.put<std::uint32_t>(kHeader, 1);  // a write, if it were ever run
    rings.put<std::uint64_t>(kHeader + 8, 0);
    GetParam().build(rings);
    rings.offer(0);
    driver->notify(0);
    EXPECT_TRUE(needsReset());
    EXPECT_EQ(rings.usedIdx(), 0);
    EXPECT_EQ(image.bytes(0, 1)[0], pattern(0));
    driver->notify(0);  // ignored until reset
    EXPECT_EQ(rings.usedIdx(), 0);
    EXPECT_EQ(blk->requestsInFlight(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Blk, HostileChain,
    ::testing::Values(
        HostileCase{"OutsideRam",
                    [](test::GuestRings& r) {
                        r.setDesc(0, kHeader, 16, desc::kNext, 1);
                        r.setDesc(1, kRam - 256, 512, desc::kNext | desc::kWrite, 2);
                        r.setDesc(2, kStatus, 1, desc::kWrite);
                    }},
        HostileCase{"Loop",
                    [](test::GuestRings& r) {
                        r.setDesc(0, kHeader, 16, desc::kNext, 1);
                        r.setDesc(1, kData, 512, desc::kNext, 0);
                    }},
        HostileCase{"LongerThanTheQueue",
                    [](test::GuestRings& r) {
                        for (std::uint16_t i = 0; i < 127; ++i) r.setDesc(i, kHeader, 16, desc::kNext, i + 1);
                        r.setDesc(127, kStatus, 1, desc::kWrite | desc::kNext, 0);
                    }},
        HostileCase{"WrongDirection",
                    [](test::GuestRings& r) {
                        r.setDesc(0, kStatus, 1, desc::kNext | desc::kWrite, 1);
                        r.setDesc(1, kHeader, 16);
                    }},
        HostileCase{"NextOutOfRange", [](test::GuestRings& r) { r.setDesc(0, kHeader, 16, desc::kNext, 500); }},
        HostileCase{"IndirectOutsideRam",
                    [](test::GuestRings& r) { r.setDesc(0, kRam - 32, 64, desc::kIndirect); }},
        HostileCase{"HeaderTooShort",
                    [](test::GuestRings& r) {
                        r.setDesc(0, kHeader, 15, desc::kNext, 1);
                        r.setDesc(1, kStatus, 1, desc::kWrite);
                    }},
        HostileCase{"NoStatus", [](test::GuestRings& r) { r.setDesc(0, kHeader, 16); }}),
    [](const ::testing::TestParamInfo<HostileCase>& i) { return std::string(i.param.name); });

TEST_F(BlkFixture, NotifyStorm) {
    start();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200'000; ++i) driver->notify(0);  // nothing new each time
    // Notifications for queues that do not exist: logged (rate-limited), ignored.
    const auto& n = driver->cap(PciCapType::Notify);
    for (int i = 0; i < 100'000; ++i)
        mmio.write(test::PciVirtioDriver::kBarAddress + n.offset + 4 * (1 + i % 7), 2, 5);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 5.0) << "300k notifications took " << s << " s";
    EXPECT_FALSE(needsReset());
    EXPECT_EQ(request(blk::RequestType::In, 0, 512), blk::kStatusOk) << "still works";
    // A storm with requests in flight: every notification after the first finds nothing.
    for (std::uint16_t k = 0; k < 20; ++k) {
        rings.put<std::uint32_t>(kHeader + 16 * k, 0);
        rings.put<std::uint64_t>(kHeader + 16 * k + 8, k);
        rings.setDesc(3 * k, kHeader + 16 * k, 16, desc::kNext, 3 * k + 1);
        rings.setDesc(3 * k + 1, kData + 512 * k, 512, desc::kNext | desc::kWrite, 3 * k + 2);
        rings.setDesc(3 * k + 2, kStatus + k, 1, desc::kWrite);
        rings.offer(3 * k);
        for (int i = 0; i < 1000; ++i) driver->notify(0);
    }
    ASSERT_TRUE(waitUsed(21));
    EXPECT_EQ(blk->requestsCompleted(), 21u);
}

// ---- images ----

TEST(DiskImage, ErrorsNameTheFile) {
    TempImage img;
    auto message = [](const fs::path& p, bool ro) -> std::string {
        try {
            (void)DiskImage::open(p, ro);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    };
    const fs::path missing = img.path.parent_path() / "missing.img";
    EXPECT_NE(message(missing, false).find("missing.img: no such file"), std::string::npos) << message(missing, false);

    fs::permissions(img.path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    const std::string ro = message(img.path, false);
    EXPECT_NE(ro.find(img.path.string()), std::string::npos) << ro;
    EXPECT_NE(ro.find(",ro"), std::string::npos) << "suggests the flag: " << ro;
    EXPECT_EQ(message(img.path, true), "") << "read-only attach of a read-only file is fine";
    fs::permissions(img.path, fs::perms::owner_all);

    const fs::path dir = img.path.parent_path();
    EXPECT_NE(message(dir, true).find("not a regular file"), std::string::npos) << message(dir, true);

    TempImage tiny(0, "tiny.img");
    EXPECT_NE(message(tiny.path, true).find("smaller than one 512-byte sector"), std::string::npos);
}

TEST(DiskImage, LockKeepsASecondUserOut) {
    TempImage img;
    {
        DiskImage rw = DiskImage::open(img.path, false);
        try {
            (void)DiskImage::open(img.path, false);
            FAIL() << "second read-write open succeeded";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("in use by another cxvm"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(img.path.string()), std::string::npos);
        }
        EXPECT_THROW((void)DiskImage::open(img.path, true), Error) << "a reader conflicts with a writer";
    }
    DiskImage a = DiskImage::open(img.path, true);
    DiskImage b = DiskImage::open(img.path, true);  // readers share
    EXPECT_THROW((void)DiskImage::open(img.path, false), Error);
    // Another process sees the lock too.
    const pid_t pid = ::fork();
    if (pid == 0) {
        try {
            (void)DiskImage::open(img.path, false);
            ::_exit(0);
        } catch (const Error&) {
            ::_exit(7);
        }
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 7);
}

TEST(DiskImage, CapacityFromTheFileSize) {
    TempImage img(10);
    std::filesystem::resize_file(img.path, 10 * 512 + 100);
    EXPECT_EQ(DiskImage::open(img.path, true).sectors(), 10u);
}

// A write the guest saw complete, then a completed flush, survives SIGKILL of the VMM.
TEST(VirtioBlkDurability, FlushedWriteSurvivesSigkill) {
    TempImage img;
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(ready[0]);
        hw::GuestMemory mem(kRam);
        hw::MmioBus mmio;
        hw::PciHost host;
        test::IrqProbe irq;
        test::GuestRings rings{mem};
        VirtioBlk blk(DiskOptions{img.path, false, ""}, mem, "vda", [] {}, true);
        VirtioPci pci(blk, mem, mmio, hw::IrqLine(irq, 10));
        host.addFunction(hw::PciAddress{0, 1, 0}, pci);
        test::PciVirtioDriver d(host, mmio, 1);
        d.discover();
        if (!d.negotiate(kFeatures)) ::_exit(2);
        d.setupQueue(0, rings);
        d.driverOk();
        std::vector<std::uint8_t> payload(4096, 0x5A);
        mem.write(0x50000, payload);
        auto submit = [&](std::uint32_t type, std::uint32_t len) {
            rings.put<std::uint32_t>(0x40000, type);
            rings.put<std::uint64_t>(0x40008, 16);
            rings.setDesc(0, 0x40000, 16, desc::kNext, 1);
            if (len) {
                rings.setDesc(1, 0x50000, len, desc::kNext, 2);
                rings.setDesc(2, 0x48000, 1, desc::kWrite);
            } else {
                rings.setDesc(1, 0x48000, 1, desc::kWrite);
            }
            const std::uint16_t want = static_cast<std::uint16_t>(rings.usedIdx() + 1);
            rings.offer(0);
            d.notify(0);
            if (!test::waitFor([&] { pci.poll(); }, [&] { return rings.usedIdx() == want; })) ::_exit(3);
            if (rings.get<std::uint8_t>(0x48000) != 0) ::_exit(4);
        };
        submit(1, 4096);  // write 8 sectors at sector 16
        submit(4, 0);     // flush
        const char c = 'k';
        if (::write(ready[1], &c, 1) != 1) ::_exit(5);
        for (;;) ::pause();  // killed here, with the worker thread still alive
    }
    ::close(ready[1]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1) << "child failed before the flush";
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    const auto bytes = img.bytes(16 * 512, 4096);
    for (std::size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], 0x5A) << i;
    EXPECT_EQ(img.bytes(16 * 512 + 4096, 1)[0], pattern(16 * 512 + 4096));
    ::close(ready[0]);
}

}  // namespace
