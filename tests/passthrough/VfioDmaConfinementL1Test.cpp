// The device's DMA is confined to guest RAM (issue 15; docs/passthrough.md): run inside
// the nested L1 against the real e1000 behind QEMU's intel-iommu (tests/passthrough/
// vfio-l1-test, CXVM_VFIO_DEVICE = the e1000 bound to vfio-pci); skipped elsewhere.
//
// VfioSession maps 2 MiB of "guest RAM" for DMA at IOVA 0; the canary, 1 MiB of host
// memory right after it (the same mmap), is not mapped. The test drives the e1000 only
// through the guest-visible VfioPciFunction (config writes, BAR0 writes at the BAR's
// guest address), as a guest driver would: PHY loopback (MDIC: BMCR.LOOPBACK, QEMU's
// e1000 then hands a transmitted frame to its own receive path), RX on (unicast,
// multicast and broadcast accepted, CRC stripped), one legacy TX descriptor
// (EOP|IFCS|RS) and one RX descriptor per round.
//  - In guest RAM: the device reads the TX descriptor and the frame, writes the TX
//    descriptor's DD back, TDH advances, and the frame lands in the RX buffer with the
//    RX descriptor written back (DD, EOP, length). Nothing else in guest RAM changes.
//  - Beyond guest RAM (hostile addresses): an RX buffer that straddles the end of guest
//    RAM, an RX buffer at 0x7fff0000, a TX ring at size + 1 MiB and a TX frame buffer
//    at exactly size. Each time: the canary is unchanged, guest RAM changes only where
//    the device may legitimately write (the descriptors in guest RAM, the part of the
//    straddling buffer inside guest RAM), a frame read from beyond guest RAM carries
//    none of the canary's bytes, and L1's kernel logs a DMAR fault (read or write, as
//    the access was) naming the device and the unmapped IOVA.
// QEMU's e1000 ignores DMA errors (a failed read yields zeros, a failed write is
// dropped, descriptors complete anyway), so the device-side registers prove nothing in
// the hostile rounds; the memory checks and the DMAR fault do. Each hostile round is one
// fault (QEMU's intel-iommu records one per source until the kernel has cleared it).
// Linux's dmar_fault() rate-limits with one state (10 per 5 s) that each fault
// interrupt uses three times (the "DRHD: handling fault status" line, the record, the
// loop's final look at the next record): three faults are printed per 5 s, so the
// fourth hostile round waits for the next window.
#include "L1PassthroughSpec.h"
#include "host/pci/PciSysfs.h"
#include "hw/IoBus.h"
#include "hw/MmioBus.h"
#include "hw/vfio/VfioPciFunction.h"
#include "hw/vfio/VfioSession.h"
#include "util/Mapping.h"
#include "util/UniqueFd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace cxvm::hw::vfio {
namespace {

using namespace std::chrono_literals;

// Intel 8254x SDM register offsets (BAR0) and bits.
namespace reg {
constexpr std::uint64_t kStatus = 0x0008, kMdic = 0x0020, kImc = 0x00d8, kRctl = 0x0100, kTctl = 0x0400;
constexpr std::uint64_t kRdbal = 0x2800, kRdbah = 0x2804, kRdlen = 0x2808, kRdh = 0x2810, kRdt = 0x2818;
constexpr std::uint64_t kTdbal = 0x3800, kTdbah = 0x3804, kTdlen = 0x3808, kTdh = 0x3810, kTdt = 0x3818;
constexpr std::uint32_t kStatusLu = 1u << 1;
constexpr std::uint32_t kMdicPhy1 = 1u << 21, kMdicWrite = 1u << 26, kMdicRead = 2u << 26, kMdicReady = 1u << 28,
                        kMdicError = 1u << 30;
constexpr std::uint32_t kBmcrLoopback = 1u << 14;  // PHY register 0 (BMCR)
constexpr std::uint32_t kRctlEn = 1u << 1, kRctlUpe = 1u << 3, kRctlMpe = 1u << 4, kRctlBam = 1u << 15,
                        kRctlSecrc = 1u << 26;  // BSIZE 00: 2048-byte buffers
constexpr std::uint32_t kTctlEn = 1u << 1, kTctlPsp = 1u << 3;
constexpr std::uint32_t kTxCmdEop = 0x01, kTxCmdIfcs = 0x02, kTxCmdRs = 0x08;  // TX descriptor CMD byte
constexpr std::uint8_t kStaDd = 0x01, kRxStaEop = 0x02;
}  // namespace reg

// Legacy descriptors, as the device reads them from (little-endian) memory.
struct TxDesc {
    std::uint64_t addr;
    std::uint16_t length;
    std::uint8_t cso, cmd, status, css;
    std::uint16_t special;
};
struct RxDesc {
    std::uint64_t addr;
    std::uint16_t length, csum;
    std::uint8_t status, errors;
    std::uint16_t special;
};
static_assert(sizeof(TxDesc) == 16 && sizeof(RxDesc) == 16);

constexpr std::uint64_t kRamSize = 2u << 20;      // IOVA 0..2 MiB
constexpr std::uint64_t kCanarySize = 1u << 20;   // host memory right after it, not mapped
constexpr std::uint64_t kTxRing = 0x10000, kRxRing = 0x11000, kTxBuf = 0x12000, kRxBuf = 0x13000;  // in guest RAM
constexpr std::uint32_t kRingBytes = 128;  // 8 descriptors: TDLEN/RDLEN are multiples of 128
constexpr std::uint8_t kRamFill = 0x5a, kCanaryFill = 0xca;
constexpr std::size_t kFrameSize = 60;  // minimum Ethernet frame without FCS
constexpr std::uint64_t kBar0 = 0xe0000000;

// /dev/kmsg from "now" on: the kernel's records, one per read.
class KernelLog {
public:
    KernelLog() : fd_(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
        if (fd_) ::lseek(fd_.get(), 0, SEEK_END);
    }
    [[nodiscard]] bool ok() const { return fd_.valid(); }

    // Waits up to `timeout` for a new record matching `re`; returns it.
    std::optional<std::string> waitFor(const std::regex& re, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            for (auto& m : drain())
                if (std::regex_search(m, re)) return m;
            if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
            std::this_thread::sleep_for(10ms);
        }
    }

private:
    std::vector<std::string> drain() {
        std::vector<std::string> out;
        std::array<char, 8192> buf{};
        for (;;) {
            const ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
            if (n < 0 && (errno == EINTR || errno == EPIPE)) continue;  // EPIPE: records overwritten
            if (n <= 0) break;
            std::string rec(buf.data(), static_cast<std::size_t>(n));
            const auto semi = rec.find(';');
            rec = rec.substr(semi == std::string::npos ? 0 : semi + 1);
            if (const auto nl = rec.find('\n'); nl != std::string::npos) rec.resize(nl);
            out.push_back(std::move(rec));
        }
        return out;
    }
    UniqueFd fd_;
};

// "[DMA Read NO_PASID] Request device [00:01.0] fault addr 0x300000 [fault reason 0x06] ..."
// (Linux's dmar_fault_do_one; older kernels print the address without 0x).
std::regex dmarFault(const host::pci::PciAddress& dev, bool write, std::uint64_t iova) {
    return std::regex(fmt::format(R"(DMAR: \[DMA {}[^\]]*\] Request device \[{:02x}:{:02x}\.{:x}\])"
                                  R"(.* fault addr (0x)?0*{:x}\b)",
                                  write ? "Write" : "Read", dev.bus, dev.device, dev.function, iova));
}

// Bytes of `now` that differ from `expected`: count and first offset.
struct Diff {
    std::size_t count = 0;
    std::size_t first = 0;
};
Diff diff(std::span<const std::uint8_t> expected, std::span<const std::uint8_t> now) {
    Diff d;
    for (std::size_t i = 0; i < expected.size(); ++i)
        if (expected[i] != now[i] && d.count++ == 0) d.first = i;
    return d;
}

class E1000Dma {
public:
    explicit E1000Dma(MmioBus& mmio) : mmio_(mmio) {}
    [[nodiscard]] std::uint32_t read(std::uint64_t r) const {
        return static_cast<std::uint32_t>(mmio_.read(kBar0 + r, 4));
    }
    void write(std::uint64_t r, std::uint32_t v) { mmio_.write(kBar0 + r, 4, v); }

    // MDIC access to PHY 1: returns the register (read) or MDIC (write), ready and error-free.
    std::uint32_t mdic(std::uint32_t op, unsigned phyReg, std::uint16_t data = 0) {
        write(reg::kMdic, op | reg::kMdicPhy1 | (phyReg << 16) | data);
        std::uint32_t v = 0;
        for (int i = 0; i < 1000 && !((v = read(reg::kMdic)) & reg::kMdicReady); ++i) std::this_thread::sleep_for(1ms);
        EXPECT_TRUE(v & reg::kMdicReady) << std::hex << v;
        EXPECT_FALSE(v & reg::kMdicError) << std::hex << v;
        return v;
    }

    void setRings(std::uint64_t tx, std::uint64_t rx) {
        write(reg::kTctl, 0);
        write(reg::kTdbal, static_cast<std::uint32_t>(tx));
        write(reg::kTdbah, static_cast<std::uint32_t>(tx >> 32));
        write(reg::kTdlen, kRingBytes);
        write(reg::kTdh, 0);
        write(reg::kTdt, 0);
        write(reg::kTctl, reg::kTctlEn | reg::kTctlPsp);
        write(reg::kRdbal, static_cast<std::uint32_t>(rx));
        write(reg::kRdbah, static_cast<std::uint32_t>(rx >> 32));
        write(reg::kRdlen, kRingBytes);
        write(reg::kRdh, 0);
        write(reg::kRdt, 1);  // descriptor 0 is the device's
    }

private:
    MmioBus& mmio_;
};

TEST(VfioPassthroughL1, DeviceDmaIsConfinedToGuestRam) {
    if (!l1::deviceUnderTest()) GTEST_SKIP() << "needs CXVM_VFIO_DEVICE (nested L1 test bed, docs/passthrough.md)";
    const auto address = host::pci::PciAddress::parse(l1::deviceUnderTest());
    const auto host = host::pci::PciSysfs().device(address);
    const auto spec = l1::specFromSysfs(host, 11);
    KernelLog kmsg;
    ASSERT_TRUE(kmsg.ok()) << "/dev/kmsg: " << std::strerror(errno);

    VfioSession session;
    auto opened = session.open(spec);
    auto memory = Mapping::map(kRamSize + kCanarySize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const std::span<std::uint8_t> ram(memory.data(), kRamSize);
    const std::span<std::uint8_t> canary(memory.data() + kRamSize, kCanarySize);
    std::ranges::fill(ram, kRamFill);
    std::ranges::fill(canary, kCanaryFill);
    session.mapGuestRam(ram, 0);

    const GrantedBar* bar0 = nullptr;
    for (const auto& b : opened.bars)
        if (!b.io && b.index == 0) bar0 = &b;
    ASSERT_NE(bar0, nullptr) << "the e1000's registers are BAR0";
    MmioBus mmio;
    IoBus io;
    VfioPciFunction fn("e1000", std::move(opened.backend), opened.bars, mmio, io, IrqLine{}, 0, {});
    fn.configWrite(0x10, 4, static_cast<std::uint32_t>(kBar0));
    fn.configWrite(0x04, 2, 0x0006);  // memory decode + bus master, as a guest driver sets them
    ASSERT_EQ(fn.mappedBar(0), std::optional<std::uint64_t>(kBar0));
    ASSERT_EQ(fn.configRead(0x04, 2) & 0x6u, 0x6u);

    E1000Dma e(mmio);
    e.write(reg::kImc, 0xffffffff);
    ASSERT_TRUE(e.read(reg::kStatus) & reg::kStatusLu) << "link down: STATUS " << std::hex << e.read(reg::kStatus);
    const std::uint16_t bmcr = static_cast<std::uint16_t>(e.mdic(reg::kMdicRead, 0));
    e.mdic(reg::kMdicWrite, 0, static_cast<std::uint16_t>(bmcr | reg::kBmcrLoopback));
    ASSERT_TRUE(e.mdic(reg::kMdicRead, 0) & reg::kBmcrLoopback) << "PHY loopback on";
    e.setRings(kTxRing, kRxRing);
    e.write(reg::kRctl, reg::kRctlEn | reg::kRctlUpe | reg::kRctlMpe | reg::kRctlBam | reg::kRctlSecrc);
    // QEMU's e1000 refuses frames for 1 s (virtual clock) after an RCTL write.
    std::this_thread::sleep_for(1200ms);

    std::array<std::uint8_t, kFrameSize> frame{};
    std::ranges::fill(frame.begin(), frame.begin() + 6, 0xff);  // broadcast
    const std::array<std::uint8_t, 6> src{0x02, 0xc7, 0x0d, 0x15, 0x00, 0x01};
    std::ranges::copy(src, frame.begin() + 6);
    frame[12] = 0x88;  // local experimental EtherType 0x88b5
    frame[13] = 0xb5;
    for (std::size_t i = 14; i < frame.size(); ++i) frame[i] = static_cast<std::uint8_t>(i * 7 + 1);

    auto txDesc = [&] { TxDesc d; std::memcpy(&d, ram.data() + kTxRing, sizeof d); return d; };
    auto rxDesc = [&] { RxDesc d; std::memcpy(&d, ram.data() + kRxRing, sizeof d); return d; };

    // One round: TX ring at `txRing` (descriptor 0 in guest RAM when txRing = kTxRing)
    // sending from `txBuf`, RX descriptor 0 at kRxRing receiving into `rxBuf`. Returns
    // guest RAM as it was just before the device was started.
    struct Round {
        std::vector<std::uint8_t> before;
        std::uint32_t tdh = 0, rdh = 0;
    };
    auto round = [&](std::uint64_t txRing, std::uint64_t txBuf, std::uint64_t rxBuf) {
        std::ranges::fill(ram, kRamFill);
        const TxDesc td{txBuf, kFrameSize, 0, reg::kTxCmdEop | reg::kTxCmdIfcs | reg::kTxCmdRs, 0, 0, 0};
        const RxDesc rd{rxBuf, 0, 0, 0, 0, 0};
        std::memcpy(ram.data() + kTxRing, &td, sizeof td);
        std::memcpy(ram.data() + kRxRing, &rd, sizeof rd);
        std::ranges::copy(frame, ram.begin() + kTxBuf);
        e.setRings(txRing, kRxRing);
        Round r;
        r.before.assign(ram.begin(), ram.end());
        e.write(reg::kTdt, 1);
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (e.read(reg::kTdh) != 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
        r.tdh = e.read(reg::kTdh);
        r.rdh = e.read(reg::kRdh);
        return r;
    };
    std::optional<std::chrono::steady_clock::time_point> firstFault;  // seen: the rate limit's window began before
    auto expectDmarFault = [&](const char* what, bool write, std::uint64_t iova) {
        const auto line = kmsg.waitFor(dmarFault(address, write, iova), 3s);
        if (line && !firstFault) firstFault = std::chrono::steady_clock::now();
        EXPECT_TRUE(line) << what << ": no DMAR " << (write ? "write" : "read") << " fault for " << address.toString()
                          << " at " << std::hex << iova << " in L1's kernel log";
        if (line) std::printf("l1-dma: %s: %s\n", what, line->c_str());
    };
    // Guest RAM must equal `expected` and the canary be untouched; true if so.
    auto expectConfined = [&](const char* what, std::span<const std::uint8_t> expected) {
        const auto d = diff(expected, ram);
        EXPECT_EQ(d.count, 0u) << what << ": guest RAM changed outside the expected areas: " << d.count
                               << " bytes, the first at " << std::hex << d.first;
        const bool intact = std::ranges::all_of(canary, [](std::uint8_t b) { return b == kCanaryFill; });
        EXPECT_TRUE(intact) << what << ": the canary (host memory right after guest RAM) changed";
        return d.count == 0 && intact;
    };
    // The RX descriptor written back for a frame of kFrameSize into `rxBuf`: patched into `expected`.
    auto expectRxWriteback = [&](const char* what, std::vector<std::uint8_t>& expected, std::uint64_t rxBuf) {
        const RxDesc rd = rxDesc();
        EXPECT_EQ(rd.addr, rxBuf) << what;
        EXPECT_EQ(rd.length, kFrameSize) << what;
        EXPECT_EQ(rd.status & (reg::kStaDd | reg::kRxStaEop), reg::kStaDd | reg::kRxStaEop) << what;
        EXPECT_EQ(rd.errors, 0) << what;
        std::memcpy(expected.data() + kRxRing, &rd, sizeof rd);
    };

    // Positive control: everything in guest RAM.
    {
        const auto r = round(kTxRing, kTxBuf, kRxBuf);
        auto expected = r.before;
        EXPECT_EQ(r.tdh, 1u) << "TDH advanced past the descriptor";
        EXPECT_EQ(r.rdh, 1u) << "RDH advanced: the frame was received";
        ASSERT_TRUE(txDesc().status & reg::kStaDd) << "the TX descriptor's DD written back into guest RAM";
        expected[kTxRing + offsetof(TxDesc, status)] |= reg::kStaDd;
        expectRxWriteback("in guest RAM", expected, kRxBuf);
        EXPECT_TRUE(std::ranges::equal(std::span(ram.data() + kRxBuf, kFrameSize), frame))
            << "the frame read from guest RAM landed in the RX buffer in guest RAM";
        std::ranges::copy(frame, expected.begin() + kRxBuf);
        EXPECT_TRUE(expectConfined("in guest RAM", expected));
        std::printf("l1-dma: in guest RAM: TX descriptor DD, TDH 0 -> %u, frame looped back into the RX buffer "
                    "(RX status %#x, length %u)\n",
                    r.tdh, static_cast<unsigned>(rxDesc().status), static_cast<unsigned>(rxDesc().length));
    }
    ASSERT_FALSE(HasFailure()) << "the positive control failed: the hostile rounds would prove nothing";

    // An RX buffer straddling the end of guest RAM: the device writes the frame from
    // IOVA size - 16. At most those 16 bytes (inside guest RAM) may land.
    {
        const std::uint64_t rxBuf = kRamSize - 16;
        const auto r = round(kTxRing, kTxBuf, rxBuf);
        auto expected = r.before;
        EXPECT_TRUE(txDesc().status & reg::kStaDd);
        expected[kTxRing + offsetof(TxDesc, status)] |= reg::kStaDd;
        expectRxWriteback("RX buffer across the end", expected, rxBuf);
        expectDmarFault("RX buffer across the end of guest RAM", true, kRamSize);
        const std::span<const std::uint8_t> tail(ram.data() + rxBuf, 16);
        const bool landed = std::ranges::equal(tail, std::span(frame).first(16));
        if (landed) std::ranges::copy(tail, expected.begin() + rxBuf);  // else it must be untouched
        const bool ok = expectConfined("RX buffer across the end", expected);
        std::printf("l1-dma: RX buffer at %#llx: %s, %s\n", static_cast<unsigned long long>(rxBuf),
                    landed ? "the 16 bytes inside guest RAM written, the rest dropped" : "nothing written",
                    ok ? "nothing else changed, canary intact" : "MEMORY CHANGED");
    }

    // An RX buffer far outside guest RAM.
    {
        constexpr std::uint64_t rxBuf = 0x7fff0000;
        const auto r = round(kTxRing, kTxBuf, rxBuf);
        auto expected = r.before;
        EXPECT_TRUE(txDesc().status & reg::kStaDd);
        expected[kTxRing + offsetof(TxDesc, status)] |= reg::kStaDd;
        expectDmarFault("RX buffer at 0x7fff0000", true, rxBuf);
        // QEMU's e1000 completes the descriptor although its write was dropped.
        const bool completed = rxDesc().status & reg::kStaDd;
        if (completed) expectRxWriteback("RX buffer at 0x7fff0000", expected, rxBuf);
        const bool ok = expectConfined("RX buffer at 0x7fff0000", expected);
        std::printf("l1-dma: RX buffer at %#llx: %s (RX DD %s)\n", static_cast<unsigned long long>(rxBuf),
                    ok ? "guest RAM unchanged but the descriptors, canary intact" : "MEMORY CHANGED",
                    completed ? "set" : "clear");
    }

    // The TX ring beyond guest RAM: the descriptor fetch fails, so nothing is sent and
    // nothing is written back anywhere.
    {
        constexpr std::uint64_t txRing = kRamSize + (1u << 20);
        const auto r = round(txRing, kTxBuf, kRxBuf);
        expectDmarFault("TX ring at size + 1 MiB", false, txRing);
        const bool ok = expectConfined("TX ring at size + 1 MiB", r.before);
        EXPECT_EQ(e.read(reg::kRdh), 0u) << "a frame was received from a descriptor outside guest RAM";
        std::printf("l1-dma: TX ring at %#llx: %s (TDH %u, RDH %u)\n", static_cast<unsigned long long>(txRing),
                    ok ? "no DD, no frame, guest RAM and canary unchanged" : "MEMORY CHANGED", r.tdh, r.rdh);
    }

    // The TX frame buffer at exactly the end of guest RAM, where the canary lies in host
    // memory: the frame fetch fails; what the device sends carries none of the canary.
    {
        constexpr std::uint64_t txBuf = kRamSize;
        if (firstFault) std::this_thread::sleep_until(*firstFault + 5s + 300ms);  // the next rate-limit window
        const auto r = round(kTxRing, txBuf, kRxBuf);
        auto expected = r.before;
        EXPECT_TRUE(txDesc().status & reg::kStaDd);
        expected[kTxRing + offsetof(TxDesc, status)] |= reg::kStaDd;
        expectDmarFault("TX buffer at the end of guest RAM", false, txBuf);
        const std::span<const std::uint8_t> got(ram.data() + kRxBuf, kFrameSize);
        const bool received = rxDesc().status & reg::kStaDd;
        const bool leaked = std::ranges::any_of(got, [](std::uint8_t b) { return b == kCanaryFill; });
        if (received) {
            expectRxWriteback("TX buffer at the end", expected, kRxBuf);
            EXPECT_FALSE(leaked) << "the frame read from beyond guest RAM carries host memory (the canary)";
            std::ranges::copy(got, expected.begin() + kRxBuf);
        }
        const bool ok = expectConfined("TX buffer at the end", expected);
        const std::string seen =
            received ? fmt::format("the frame sent has {} (first bytes {:02x} {:02x} {:02x} {:02x})",
                                   leaked ? "CANARY BYTES" : "no canary byte", got[0], got[1], got[2], got[3])
                     : std::string("no frame");
        std::printf("l1-dma: TX buffer at %#llx: %s, %s\n", static_cast<unsigned long long>(txBuf), seen.c_str(),
                    ok ? "nothing else changed, canary intact" : "MEMORY CHANGED");
    }

    e.write(reg::kRctl, 0);
    e.write(reg::kTctl, 0);
    e.mdic(reg::kMdicWrite, 0, bmcr);
    fn.configWrite(0x04, 2, 0x0000);
}

}  // namespace
}  // namespace cxvm::hw::vfio
