// virtio-net through the PCI transport, driven like Linux's virtio_net: discovery,
// feature negotiation and config (MAC, link status, MTU); transmit to a test backend;
// receive with and without mergeable buffers; a guest without receive buffers; hostile
// chains and frames; a notify storm; reset. Then the real backends: slirp answering a
// DHCP DISCOVER with an OFFER for 10.0.2.15 (no guest needed), and a tap device in a
// private network namespace answering ARP.
#include "GuestRings.h"
#include "VirtioPciDriver.h"

#include "hw/virtio/NetHeader.h"
#include "hw/virtio/VirtioNet.h"
#include "hw/virtio/VirtioPci.h"
#include "net/NetBackend.h"
#include "net/SlirpBackend.h"
#include "net/TapBackend.h"
#include "util/Error.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace {

using namespace cxvm;
using namespace cxvm::hw::virtio;
using ::testing::HasSubstr;

constexpr std::uint64_t kRam = 4 << 20;
constexpr std::uint64_t kFeatures = bit(feature::kVersion1) | bit(feature::kEventIdx) | bit(vnet::kFMac) |
                                    bit(vnet::kFStatus) | bit(vnet::kFMrgRxbuf) | bit(vnet::kFMtu);
constexpr std::uint64_t kTxBuf = 0x40000, kRxBuf = 0x80000;
constexpr cxvm::net::MacAddress kMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

// A backend without a thread: the test delivers frames (as the backend thread would)
// and reads what the device queued for transmission.
struct TestBackend final : cxvm::net::NetBackend {
    TestBackend() : NetBackend("net0 (test)") {}
    ~TestBackend() override { stop(); }
    void run() override {
        while (!stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::vector<std::vector<std::uint8_t>> takeTx() {
        std::vector<std::vector<std::uint8_t>> out;
        while (!tx().empty()) {
            auto f = tx().front();
            out.emplace_back(f.begin(), f.end());
            tx().pop();
        }
        return out;
    }
};

std::vector<std::uint8_t> frame(std::size_t len, std::uint8_t seed) {
    std::vector<std::uint8_t> f(len);
    for (std::size_t i = 0; i < len; ++i) f[i] = static_cast<std::uint8_t>(seed + i * 7);
    return f;
}

struct NetFixture : ::testing::Test {
    hw::GuestMemory mem{kRam};
    hw::MmioBus mmio;
    hw::PciHost host;
    test::IrqProbe irq;
    test::GuestRings rx{mem, 0x10000, 0x11000, 0x12000, 256};
    test::GuestRings tx{mem, 0x20000, 0x21000, 0x22000, 256};
    TestBackend* backend = nullptr;
    std::unique_ptr<VirtioNet> net;
    std::unique_ptr<VirtioPci> pci;
    std::unique_ptr<test::PciVirtioDriver> driver;

    void attach(std::unique_ptr<cxvm::net::NetBackend> b = nullptr) {
        if (!b) {
            auto t = std::make_unique<TestBackend>();
            backend = t.get();
            b = std::move(t);
        }
        net = std::make_unique<VirtioNet>(std::move(b), kMac, mem, "virtio-net net0");
        pci = std::make_unique<VirtioPci>(*net, mem, mmio, hw::IrqLine(irq, 11));
        host.addFunction(hw::PciAddress{0, 1, 0}, *pci);
        driver = std::make_unique<test::PciVirtioDriver>(host, mmio, 1);
        driver->discover();
    }
    void start(std::uint64_t features = kFeatures, std::unique_ptr<cxvm::net::NetBackend> b = nullptr) {
        attach(std::move(b));
        ASSERT_TRUE(driver->negotiate(features));
        driver->setupQueue(VirtioNet::kRxQueue, rx);
        driver->setupQueue(VirtioNet::kTxQueue, tx);
        driver->driverOk();
        ASSERT_FALSE(needsReset());
    }
    bool needsReset() { return driver->status() & status::kDeviceNeedsReset; }

    // A transmit chain at descriptor `head`: the 12-byte header, then `f` split in two.
    void offerTx(std::uint16_t head, const std::vector<std::uint8_t>& f, std::uint8_t flags = 0,
                 std::uint8_t gso = 0) {
        const std::uint64_t at = kTxBuf + 0x1000ull * (head % 32);
        std::array<std::uint8_t, vnet::kHeaderSize> h{};
        h[0] = flags;
        h[1] = gso;
        mem.write(at, h);
        mem.write(at + 64, f);
        const auto half = static_cast<std::uint32_t>(f.size() / 2);
        tx.setDesc(head, at, vnet::kHeaderSize, desc::kNext, head + 1);
        tx.setDesc(head + 1, at + 64, half, desc::kNext, head + 2);
        tx.setDesc(head + 2, at + 64 + half, static_cast<std::uint32_t>(f.size() - half));
        tx.offer(head);
    }
    // Receive buffer `k` of `parts` descriptors of `partLen` bytes each (device-writable).
    std::uint64_t offerRx(std::uint16_t k, std::uint32_t partLen, std::uint16_t parts = 1) {
        const std::uint64_t at = kRxBuf + 0x1000ull * k;
        const auto head = static_cast<std::uint16_t>(k * parts);
        for (std::uint16_t p = 0; p < parts; ++p)
            rx.setDesc(head + p, at + 0x800ull * p, partLen,
                       static_cast<std::uint16_t>(desc::kWrite | (p + 1 < parts ? desc::kNext : 0)), head + p + 1);
        rx.offer(head);
        return at;
    }
    std::vector<std::uint8_t> bytes(std::uint64_t gpa, std::size_t n) {
        std::vector<std::uint8_t> b(n);
        mem.read(gpa, b);
        return b;
    }
};

// ---- discovery, features, config ----

TEST_F(NetFixture, DiscoveryFeaturesAndConfig) {
    attach();
    EXPECT_EQ(driver->cfgRead(0x00), 0x1041'1AF4u);       // 4.1.2: 0x1040 + 1 (network)
    EXPECT_EQ(driver->cfgRead(0x08) >> 8, 0x020000u);     // Ethernet controller
    const std::uint64_t f = driver->deviceFeatures();
    for (unsigned b : {feature::kVersion1, vnet::kFMac, vnet::kFStatus, vnet::kFMrgRxbuf, vnet::kFMtu})
        EXPECT_TRUE(f & bit(b)) << "feature bit " << b;
    for (unsigned b : {0u /*CSUM*/, 1u /*GUEST_CSUM*/, 7u /*GUEST_TSO4*/, 11u /*HOST_TSO4*/, 17u /*CTRL_VQ*/})
        EXPECT_FALSE(f & bit(b)) << "feature bit " << b << " must not be offered";
    EXPECT_EQ(driver->common(common::kNumQueues, 2), 2u);
    for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(driver->deviceConfig(i, 1), kMac.bytes[i]);
    EXPECT_EQ(driver->deviceConfig(6, 2), vnet::kStatusLinkUp);
    EXPECT_EQ(driver->deviceConfig(10, 2), VirtioNet::kMtu);
    // Asking for checksum offload (not offered) is refused (FEATURES_OK stays clear).
    EXPECT_FALSE(driver->negotiate(kFeatures | bit(0)));
    EXPECT_TRUE(driver->negotiate(kFeatures));
}

// ---- transmit ----

TEST_F(NetFixture, TransmittedFramesReachTheBackend) {
    start();
    const auto a = frame(60, 1), b = frame(1514, 2);
    offerTx(0, a);
    offerTx(3, b);
    tx.setUsedEvent(0);
    driver->notify(VirtioNet::kTxQueue);
    const auto sent = backend->takeTx();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0], a);
    EXPECT_EQ(sent[1], b);
    EXPECT_EQ(tx.usedIdx(), 2);
    EXPECT_EQ(tx.usedId(0), 0u);
    EXPECT_EQ(tx.usedLen(0), 0u);  // the device writes nothing into transmit buffers
    EXPECT_EQ(tx.usedId(1), 3u);
    EXPECT_TRUE(driver->readIsr() & kIsrQueue);
    EXPECT_EQ(net->counters().txFrames, 2u);
    EXPECT_EQ(net->counters().txBytes, 60u + 1514u);
}

TEST_F(NetFixture, TransmitWaitsWhileTheBackendIsFull) {
    start();
    // Fill the backend's ring to one free slot, then offer two frames.
    for (std::size_t i = 0; i + 1 < cxvm::net::kRingFrames; ++i) {
        auto s = backend->tx().reserve();
        ASSERT_FALSE(s.empty());
        backend->tx().commit(20);
    }
    offerTx(0, frame(100, 3));
    offerTx(3, frame(100, 4));
    driver->notify(VirtioNet::kTxQueue);
    EXPECT_EQ(tx.usedIdx(), 1) << "one frame fits, the other waits in the guest's queue";
    backend->takeTx();
    pci->poll();  // the VM loop comes round
    EXPECT_EQ(tx.usedIdx(), 2);
    const auto sent = backend->takeTx();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0], frame(100, 4));
}

// ---- receive ----

TEST_F(NetFixture, ReceiveSpansMergeableBuffers) {
    start();
    // Three buffers of two 300-byte descriptors each; the frame needs 1412 bytes.
    const std::uint64_t b0 = offerRx(0, 300, 2), b1 = offerRx(1, 300, 2), b2 = offerRx(2, 300, 2);
    rx.setUsedEvent(0);
    driver->notify(VirtioNet::kRxQueue);
    const auto f = frame(1400, 9);
    ASSERT_TRUE(backend->deliver(f));
    pci->poll();
    ASSERT_EQ(rx.usedIdx(), 3);
    EXPECT_EQ(rx.usedLen(0), 600u);
    EXPECT_EQ(rx.usedLen(1), 600u);
    EXPECT_EQ(rx.usedLen(2), 212u);
    EXPECT_EQ(rx.usedId(0), 0u);
    EXPECT_EQ(rx.usedId(1), 2u);
    EXPECT_EQ(rx.usedId(2), 4u);
    // Header: no flags, num_buffers 3 (5.1.6.4).
    auto hdr = bytes(b0, vnet::kHeaderSize);
    const vnet::Header h = vnet::Header::decode(std::span<const std::uint8_t, 12>(hdr.data(), 12));
    EXPECT_EQ(h.flags, 0);
    EXPECT_EQ(h.gsoType, vnet::kGsoNone);
    EXPECT_EQ(h.numBuffers, 3);
    // The frame follows the header across all six descriptors.
    std::vector<std::uint8_t> got;
    for (std::uint64_t b : {b0, b1, b2})
        for (std::uint64_t p : {b, b + 0x800}) {
            auto part = bytes(p, 300);
            got.insert(got.end(), part.begin(), part.end());
        }
    got.erase(got.begin(), got.begin() + vnet::kHeaderSize);
    got.resize(f.size());
    EXPECT_EQ(got, f);
    EXPECT_TRUE(driver->readIsr() & kIsrQueue);
    EXPECT_EQ(net->counters().rxFrames, 1u);
}

TEST_F(NetFixture, ReceiveWithoutMergeableUsesOneBufferEach) {
    start(kFeatures & ~bit(vnet::kFMrgRxbuf));
    const std::uint64_t b0 = offerRx(0, 1530), b1 = offerRx(1, 100);
    offerRx(2, 1530);
    driver->notify(VirtioNet::kRxQueue);
    ASSERT_TRUE(backend->deliver(frame(1000, 1)));
    ASSERT_TRUE(backend->deliver(frame(200, 2)));  // buffer 1 is too small: dropped
    ASSERT_TRUE(backend->deliver(frame(300, 3)));
    pci->poll();
    ASSERT_EQ(rx.usedIdx(), 3);
    EXPECT_EQ(rx.usedLen(0), 1012u);
    EXPECT_EQ(bytes(b0 + 10, 2), (std::vector<std::uint8_t>{1, 0}));  // num_buffers 1 (VERSION_1)
    EXPECT_EQ(rx.usedLen(1), 0u);
    EXPECT_EQ(bytes(b1, 1)[0], 0u) << "nothing written into the small buffer";
    EXPECT_EQ(rx.usedLen(2), 312u);
    EXPECT_EQ(net->counters().rxDroppedSmallBuffer, 1u);
    EXPECT_EQ(net->counters().rxFrames, 2u);
}

TEST_F(NetFixture, NoReceiveBuffersDropsAndCountsThenRecovers) {
    start();
    for (int i = 0; i < 300; ++i) backend->deliver(frame(64, static_cast<std::uint8_t>(i)));
    pci->poll();
    EXPECT_EQ(rx.usedIdx(), 0);
    EXPECT_EQ(net->rxDroppedNoBuffers(), 300u - cxvm::net::kRingFrames);
    // The guest comes back: the frames that waited arrive, oldest first.
    for (std::uint16_t k = 0; k < 256; ++k) offerRx(k, 128);
    driver->notify(VirtioNet::kRxQueue);
    EXPECT_EQ(rx.usedIdx(), 256);
    EXPECT_EQ(bytes(kRxBuf + vnet::kHeaderSize, 64), frame(64, 0));
    EXPECT_EQ(bytes(kRxBuf + 0x1000ull * 255 + vnet::kHeaderSize, 64), frame(64, 255));
}

TEST_F(NetFixture, BackendNeverBlocksOnAGuestThatTakesNothing) {
    start();
    // The backend thread's side: 100,000 frames while the guest has no buffers.
    const auto t0 = std::chrono::steady_clock::now();
    std::thread producer([&] {
        const auto f = frame(1500, 5);
        for (int i = 0; i < 100'000; ++i) backend->deliver(f);
    });
    producer.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 5.0);
    pci->poll();
    EXPECT_EQ(net->rxDroppedNoBuffers(), 100'000u - cxvm::net::kRingFrames);
    EXPECT_FALSE(needsReset());
}

TEST_F(NetFixture, OversizedReceivedFramesAreDroppedByTheBackend) {
    attach();
    EXPECT_FALSE(backend->deliver(frame(cxvm::net::kMaxFrameBytes + 1, 0)));
    EXPECT_FALSE(backend->deliver(frame(10, 0)));
    EXPECT_EQ(backend->rxDroppedSize(), 2u);
    EXPECT_TRUE(backend->rx().empty());
}

TEST_F(NetFixture, ResetForgetsHeldBuffersAndWaitingFrames) {
    start();
    offerRx(0, 100);  // too small for the frame: held, waiting for more
    driver->notify(VirtioNet::kRxQueue);
    backend->deliver(frame(1000, 1));
    pci->poll();
    EXPECT_EQ(rx.usedIdx(), 0);
    driver->setStatus(0);
    EXPECT_TRUE(backend->rx().empty());
    rx.availIdx = 0;
    tx.availIdx = 0;
    mem.write(0x10000, std::vector<std::uint8_t>(0x3000, 0));
    ASSERT_TRUE(driver->negotiate(kFeatures));
    driver->setupQueue(VirtioNet::kRxQueue, rx);
    driver->setupQueue(VirtioNet::kTxQueue, tx);
    driver->driverOk();
    offerRx(0, 2048);
    driver->notify(VirtioNet::kRxQueue);
    backend->deliver(frame(500, 2));
    pci->poll();
    ASSERT_EQ(rx.usedIdx(), 1);
    EXPECT_EQ(rx.usedLen(0), 512u);
    EXPECT_EQ(bytes(kRxBuf + vnet::kHeaderSize, 500), frame(500, 2));
}

// ---- hostile guests ----

TEST_F(NetFixture, OversizedMalformedAndOffloadFramesAreDropped) {
    start();
    offerTx(0, frame(cxvm::net::kMaxFrameBytes + 1, 1));  // larger than the MTU allows
    offerTx(3, frame(1, 2));                               // shorter than an Ethernet header
    offerTx(6, frame(100, 3), vnet::kHdrFNeedsCsum);       // checksum offload, not negotiated
    offerTx(9, frame(100, 4), 0, 1 /*GSO_TCPV4*/);         // segmentation, not negotiated
    offerTx(12, frame(100, 5));
    tx.setDesc(15, kTxBuf, 8);  // shorter than the header
    tx.offer(15);
    driver->notify(VirtioNet::kTxQueue);
    const auto sent = backend->takeTx();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0], frame(100, 5));
    EXPECT_EQ(tx.usedIdx(), 6) << "every buffer goes back";
    EXPECT_EQ(net->counters().txDroppedOversize, 1u);
    EXPECT_EQ(net->counters().txDroppedMalformed, 4u);
    EXPECT_FALSE(needsReset()) << "bad frames are dropped, not fatal";
}

struct NetHostileCase {
    const char* name;
    unsigned queue;
    void (*build)(test::GuestRings&);
};
struct NetHostileChain : NetFixture, ::testing::WithParamInterface<NetHostileCase> {};

TEST_P(NetHostileChain, NeedsResetAndTouchesNothing) {
    start();
    const NetHostileCase& c = GetParam();
    test::GuestRings& r = c.queue == VirtioNet::kRxQueue ? rx : tx;
    c.build(r);
    r.offer(0);
    driver->notify(static_cast<std::uint16_t>(c.queue));
    backend->deliver(frame(200, 1));
    pci->poll();
    EXPECT_TRUE(needsReset());
    EXPECT_EQ(r.usedIdx(), 0);
    EXPECT_TRUE(backend->takeTx().empty());
    driver->notify(static_cast<std::uint16_t>(c.queue));  // ignored until reset
    pci->poll();
    EXPECT_EQ(r.usedIdx(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Net, NetHostileChain,
    ::testing::Values(
        NetHostileCase{"TxOutsideRam", VirtioNet::kTxQueue,
                    [](test::GuestRings& r) {
                        r.setDesc(0, kTxBuf, 12, desc::kNext, 1);
                        r.setDesc(1, kRam - 256, 512);
                    }},
        NetHostileCase{"TxLoop", VirtioNet::kTxQueue,
                    [](test::GuestRings& r) {
                        r.setDesc(0, kTxBuf, 12, desc::kNext, 1);
                        r.setDesc(1, kTxBuf + 64, 100, desc::kNext, 0);
                    }},
        NetHostileCase{"TxLongerThanTheQueue", VirtioNet::kTxQueue,
                    [](test::GuestRings& r) {
                        for (std::uint16_t i = 0; i < 255; ++i) r.setDesc(i, kTxBuf, 4, desc::kNext, i + 1);
                        r.setDesc(255, kTxBuf, 4, desc::kNext, 0);
                    }},
        NetHostileCase{"TxWrapsAroundTheAddressSpace", VirtioNet::kTxQueue,
                    [](test::GuestRings& r) { r.setDesc(0, ~0ull - 8, 100); }},
        NetHostileCase{"RxOutsideRam", VirtioNet::kRxQueue,
                    [](test::GuestRings& r) { r.setDesc(0, kRam - 100, 2048, desc::kWrite); }},
        NetHostileCase{"RxLoop", VirtioNet::kRxQueue,
                    [](test::GuestRings& r) { r.setDesc(0, kRxBuf, 4, desc::kWrite | desc::kNext, 0); }},
        NetHostileCase{"RxDeviceReadableBuffer", VirtioNet::kRxQueue,
                    [](test::GuestRings& r) { r.setDesc(0, kRxBuf, 2048); }},
        NetHostileCase{"RxIndirectNotNegotiated", VirtioNet::kRxQueue,
                    [](test::GuestRings& r) { r.setDesc(0, kRxBuf, 64, desc::kIndirect); }}),
    [](const ::testing::TestParamInfo<NetHostileCase>& i) { return std::string(i.param.name); });

TEST_F(NetFixture, NotifyStorm) {
    start();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200'000; ++i) driver->notify(static_cast<std::uint16_t>(i & 1));
    const auto& n = driver->cap(PciCapType::Notify);
    for (int i = 0; i < 100'000; ++i)  // queues that do not exist
        mmio.write(test::PciVirtioDriver::kBarAddress + n.offset + 4 * (2 + i % 7), 2, 5);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 5.0) << "300k notifications took " << s << " s";
    EXPECT_FALSE(needsReset());
    offerTx(0, frame(80, 1));
    driver->notify(VirtioNet::kTxQueue);
    EXPECT_EQ(backend->takeTx().size(), 1u) << "still works";
}

// ---- the real backends ----

// A DHCP DISCOVER (RFC 2131) from kMac, broadcast, as udhcpc sends it.
std::vector<std::uint8_t> dhcpDiscover() {
    std::vector<std::uint8_t> f(14 + 20 + 8 + 548, 0);
    std::memset(f.data(), 0xFF, 6);
    std::memcpy(f.data() + 6, kMac.bytes.data(), 6);
    f[12] = 0x08;  // IPv4
    std::uint8_t* ip = f.data() + 14;
    const std::size_t ipLen = 20 + 8 + 548;
    ip[0] = 0x45;
    ip[2] = static_cast<std::uint8_t>(ipLen >> 8);
    ip[3] = static_cast<std::uint8_t>(ipLen);
    ip[8] = 64;
    ip[9] = 17;  // UDP
    std::memset(ip + 16, 0xFF, 4);
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    ip[10] = static_cast<std::uint8_t>(~sum >> 8);
    ip[11] = static_cast<std::uint8_t>(~sum);
    std::uint8_t* udp = ip + 20;
    udp[1] = 68;
    udp[3] = 67;
    udp[4] = static_cast<std::uint8_t>((8 + 548) >> 8);
    udp[5] = static_cast<std::uint8_t>(8 + 548);
    std::uint8_t* bp = udp + 8;
    bp[0] = 1;  // BOOTREQUEST
    bp[1] = 1;  // Ethernet
    bp[2] = 6;
    bp[4] = 0x12, bp[5] = 0x34, bp[6] = 0x56, bp[7] = 0x78;  // xid
    bp[10] = 0x80;                                          // broadcast reply
    std::memcpy(bp + 28, kMac.bytes.data(), 6);
    const std::uint8_t opts[] = {0x63, 0x82, 0x53, 0x63, 53, 1, 1 /*DISCOVER*/, 255};
    std::memcpy(bp + 236, opts, sizeof opts);
    return f;
}

TEST_F(NetFixture, SlirpAnswersDhcpDiscoverWithAnOfferFor10_0_2_15) {
    auto slirp = std::make_unique<cxvm::net::SlirpBackend>(cxvm::net::NicOptions{}, "net0 (user)");
    cxvm::net::NetBackend& b = *slirp;
    std::atomic<int> wakes{0};
    start(kFeatures, std::move(slirp));
    b.start([&] { ++wakes; });
    for (std::uint16_t k = 0; k < 16; ++k) offerRx(k, 2048);
    driver->notify(VirtioNet::kRxQueue);
    offerTx(0, dhcpDiscover());
    driver->notify(VirtioNet::kTxQueue);
    // Wait for the OFFER: slirp may send other frames first (none expected, but skip them).
    bool offered = false;
    std::uint16_t seen = 0;
    ASSERT_TRUE(test::waitFor([&] { pci->poll(); },
                              [&] {
                                  for (; seen < rx.usedIdx(); ++seen) {
                                      const std::uint64_t at = kRxBuf + 0x1000ull * rx.usedId(seen);
                                      const auto f = bytes(at + vnet::kHeaderSize, rx.usedLen(seen) - 12);
                                      if (f.size() < 14 + 20 + 8 + 240 || f[12] != 0x08 || f[14 + 9] != 17) continue;
                                      const std::uint8_t* udp = f.data() + 14 + (f[14] & 0xF) * 4;
                                      const std::uint8_t* bp = udp + 8;
                                      if (udp[1] != 67 || udp[3] != 68 || bp[0] != 2) continue;
                                      EXPECT_EQ(bp[4], 0x12);  // our xid
                                      EXPECT_EQ(bp[16], 10);   // yiaddr 10.0.2.15
                                      EXPECT_EQ(bp[17], 0);
                                      EXPECT_EQ(bp[18], 2);
                                      EXPECT_EQ(bp[19], 15);
                                      // Options after the magic cookie: 53 (message type) = 2 (OFFER).
                                      for (const std::uint8_t* o = bp + 240; o < f.data() + f.size() && *o != 255;
                                           o += 2 + o[1])
                                          if (o[0] == 53) offered = o[2] == 2;
                                      return true;
                                  }
                                  return false;
                              }))
        << "no DHCP reply from slirp";
    EXPECT_TRUE(offered) << "the reply is not a DHCPOFFER";
    EXPECT_GE(wakes.load(), 1) << "the backend thread woke the VM thread";
    EXPECT_EQ(b.txSent(), 1u);
}

TEST(SlirpBackend, TwoInstancesOnTheirOwnThreadsBothAnswer) {
    // Two user NICs: two slirp instances on two threads (taking turns in libslirp).
    cxvm::net::SlirpBackend a(cxvm::net::NicOptions{}, "net0 (user)"), b(cxvm::net::NicOptions{}, "net1 (user)");
    std::atomic<int> wakes{0};
    a.start([&] { ++wakes; });
    b.start([&] { ++wakes; });
    const auto discover = dhcpDiscover();
    for (int round = 0; round < 20; ++round)
        for (cxvm::net::SlirpBackend* s : {&a, &b}) {
            auto slot = s->tx().reserve();
            ASSERT_FALSE(slot.empty());
            std::copy(discover.begin(), discover.end(), slot.begin());
            s->tx().commit(discover.size());
            s->kickTx();
        }
    auto replies = [](cxvm::net::SlirpBackend& s) {
        std::size_t n = 0;
        while (!s.rx().empty()) {
            const auto f = s.rx().front();
            // UDP from port 67: a DHCP reply.
            if (f.size() > 14 + 20 + 8 && f[12] == 0x08 && f[14 + 9] == 17 && f[14 + 20 + 1] == 67) ++n;
            s.rx().pop();
        }
        return n;
    };
    std::size_t na = 0, nb = 0;
    test::waitFor([] {}, [&] {
        na += replies(a);
        nb += replies(b);
        return na == 20 && nb == 20;
    });
    EXPECT_EQ(na, 20u);
    EXPECT_EQ(nb, 20u);
    EXPECT_EQ(a.txSent() + b.txSent(), 40u);
}

TEST(SlirpBackend, HostfwdErrorsNameTheRule) {
    // A port taken by another socket cannot be forwarded.
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(s, 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    const std::string rule = fmt::format("tcp:127.0.0.1:{}-:22", ntohs(a.sin_port));
    cxvm::net::NicOptions o = cxvm::net::parseNetSpec("user,hostfwd=" + rule, "--net user,hostfwd=" + rule);
    try {
        cxvm::net::SlirpBackend b(o, "net0 (user)");
        ADD_FAILURE() << "hostfwd on a port in use was accepted";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("hostfwd=" + rule));
        EXPECT_THAT(e.what(), HasSubstr("cannot listen"));
    }
    ::close(s);
    // A free port works, and the listener is there.
    cxvm::net::SlirpBackend ok(o, "net0 (user)");
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    ::close(c);
}

TEST(TapBackend, MissingOrWrongDevicesAreNamed) {
    cxvm::net::NicOptions o;
    o.kind = cxvm::net::BackendKind::Tap;
    o.ifname = "cxvmnosuch0";
    try {
        cxvm::net::TapBackend b(o, "net0 (tap)");
        ADD_FAILURE() << "attached to a missing device";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("no network interface 'cxvmnosuch0'"));
        EXPECT_THAT(e.what(), HasSubstr("ip tuntap add dev cxvmnosuch0 mode tap"));
    }
}

// In a forked child with its own network namespace: a persistent tap device with an
// address, attached by TapBackend; an ARP request for that address sent through the
// backend gets the kernel's ARP reply back. Exit 0 pass, 1 fail, 77 skip (reason on stderr).
int tapChild() {
    if (::unshare(CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "SKIP: unshare(CLONE_NEWNET): %s\n", std::strerror(errno));
        return 77;
    }
    const int tun = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tun < 0) {
        std::fprintf(stderr, "SKIP: /dev/net/tun: %s\n", std::strerror(errno));
        return 77;
    }
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "cxvmtap0");
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(tun, TUNSETIFF, &ifr) != 0 || ::ioctl(tun, TUNSETPERSIST, 1) != 0) {
        std::fprintf(stderr, "SKIP: creating a tap device: %s\n", std::strerror(errno));
        return 77;
    }
    ::close(tun);
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq a{};
    std::strcpy(a.ifr_name, "cxvmtap0");
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.ifr_addr);
    sin->sin_family = AF_INET;
    ::inet_pton(AF_INET, "10.77.0.1", &sin->sin_addr);
    if (::ioctl(s, SIOCSIFADDR, &a) != 0) return std::fprintf(stderr, "SIOCSIFADDR: %s\n", std::strerror(errno)), 1;
    ifreq up{};
    std::strcpy(up.ifr_name, "cxvmtap0");
    ::ioctl(s, SIOCGIFFLAGS, &up);
    up.ifr_flags |= IFF_UP;
    if (::ioctl(s, SIOCSIFFLAGS, &up) != 0) return std::fprintf(stderr, "SIOCSIFFLAGS: %s\n", std::strerror(errno)), 1;

    cxvm::net::NicOptions o;
    o.kind = cxvm::net::BackendKind::Tap;
    o.ifname = "cxvmtap0";
    try {
        cxvm::net::TapBackend b(o, "net0 (tap)");
        std::atomic<int> wakes{0};
        b.start([&] { ++wakes; });
        // ARP request: who has 10.77.0.1? tell 10.77.0.2 (kMac).
        std::uint8_t req[42] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        std::memcpy(req + 6, kMac.bytes.data(), 6);
        const std::uint8_t arp[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
        std::memcpy(req + 12, arp, sizeof arp);
        std::memcpy(req + 22, kMac.bytes.data(), 6);
        const std::uint8_t spa[] = {10, 77, 0, 2}, tpa[] = {10, 77, 0, 1};
        std::memcpy(req + 28, spa, 4);
        std::memcpy(req + 38, tpa, 4);
        auto slot = b.tx().reserve();
        std::memcpy(slot.data(), req, sizeof req);
        b.tx().commit(sizeof req);
        b.kickTx();
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < until) {
            while (!b.rx().empty()) {
                const auto f = b.rx().front();
                const bool reply = f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
                                   std::memcmp(f.data() + 28, tpa, 4) == 0 &&
                                   std::memcmp(f.data(), kMac.bytes.data(), 6) == 0;
                b.rx().pop();
                if (reply) {
                    if (b.txSent() != 1 || wakes.load() < 1) return std::fprintf(stderr, "counters\n"), 1;
                    return 0;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::fprintf(stderr, "no ARP reply from the kernel through the tap device\n");
        return 1;
    } catch (const Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}

TEST(TapBackend, ExchangesFramesWithTheHostInAPrivateNetworkNamespace) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(tapChild());
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) GTEST_SKIP() << "no private network namespace with a tap device here (see stderr)";
    EXPECT_EQ(WEXITSTATUS(st), 0);
}

}  // namespace
