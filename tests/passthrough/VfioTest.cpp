// The VFIO wrappers. Without an IOMMU (the build machines) only the error paths run;
// in the nested L1 test bed (docs/passthrough.md: QEMU q35 + intel-iommu + an e1000
// bound to vfio-pci) CXVM_VFIO_DEVICE names the bound function and the rest runs
// against it, checked against sysfs read independently.
#include "host/pci/PciAddress.h"
#include "host/vfio/VfioContainer.h"
#include "host/vfio/VfioGroup.h"
#include "util/Error.h"
#include "util/Mapping.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cxvm::host::vfio {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The function CXVM_VFIO_DEVICE names, or skip.
const char* deviceUnderTest() { return std::getenv("CXVM_VFIO_DEVICE"); }

#define REQUIRE_VFIO_DEVICE()                                                                             \
    do {                                                                                                  \
        if (!deviceUnderTest()) {                                                                         \
            GTEST_SKIP() << "needs a function bound to vfio-pci: CXVM_VFIO_DEVICE=0000:00:01.0 (nested L1 " \
                            "test bed, docs/passthrough.md)";                                             \
        }                                                                                                 \
    } while (false)

TEST(Vfio, MissingContainerIsAnErrorNamingIt) {
    try {
        VfioContainer c("/nonexistent/vfio");
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("VFIO container '/nonexistent/vfio' (modprobe vfio-pci"),
                  std::string::npos)
            << e.what();
    }
}

struct SysfsFacts {
    unsigned group = 0;
    unsigned vendor = 0, device = 0, classCode = 0;
    std::uint64_t barSize[6] = {};
    bool barIo[6] = {};
};

SysfsFacts readSysfs(const std::string& bdf) {
    SysfsFacts f;
    const fs::path dev = fs::path("/sys/bus/pci/devices") / bdf;
    f.group = static_cast<unsigned>(std::stoul(fs::read_symlink(dev / "iommu_group").filename().string()));
    f.vendor = static_cast<unsigned>(std::stoul(slurp(dev / "vendor"), nullptr, 16));
    f.device = static_cast<unsigned>(std::stoul(slurp(dev / "device"), nullptr, 16));
    f.classCode = static_cast<unsigned>(std::stoul(slurp(dev / "class"), nullptr, 16));
    std::FILE* r = std::fopen((dev / "resource").c_str(), "r");
    unsigned long long s, e, fl;
    for (int i = 0; r && i < 6 && std::fscanf(r, "%llx %llx %llx", &s, &e, &fl) == 3; ++i) {
        f.barSize[i] = (s || e) ? e - s + 1 : 0;
        f.barIo[i] = (fl & 0x100) != 0;
    }
    if (r) std::fclose(r);
    return f;
}

TEST(Vfio, GroupAndDeviceMatchSysfs) {
    REQUIRE_VFIO_DEVICE();
    const auto address = pci::PciAddress::parse(deviceUnderTest());
    const auto facts = readSysfs(address.toString());
    VfioContainer container;
    EXPECT_FALSE(container.iommuSet());
    VfioGroup group(facts.group, container);
    EXPECT_TRUE(container.iommuSet());
    EXPECT_NE(container.iovaPageSizes() & (1u << 12), 0u);  // 4 KiB pages

    const auto dev = group.openDevice(address);
    EXPECT_TRUE(dev.isPci());
    EXPECT_GE(dev.regionCount(), 9u);  // BAR0-5, ROM, config, VGA
    EXPECT_EQ(dev.readConfig(0x00, 2), facts.vendor);
    EXPECT_EQ(dev.readConfig(0x02, 2), facts.device);
    EXPECT_EQ(dev.readConfig(0x08, 4) >> 8, facts.classCode);
    for (unsigned i = 0; i < 6; ++i) {
        SCOPED_TRACE(i);
        const auto r = dev.region(i);
        EXPECT_EQ(r.size, facts.barSize[i]);
        if (facts.barIo[i]) {
            EXPECT_FALSE(r.mappable());
        }
    }
    EXPECT_THROW((void)dev.region(dev.regionCount()), Error);
    EXPECT_THROW((void)dev.readConfig(0x100000, 4), Error);
}

TEST(Vfio, MappedBarAndFdReadsAgree) {
    REQUIRE_VFIO_DEVICE();
    const auto address = pci::PciAddress::parse(deviceUnderTest());
    const auto facts = readSysfs(address.toString());
    VfioContainer container;
    VfioGroup group(facts.group, container);
    const auto dev = group.openDevice(address);
    for (unsigned i = 0; i < 6; ++i) {
        const auto r = dev.region(i);
        if (r.size == 0) continue;
        SCOPED_TRACE(i);
        if (!r.mappable()) {
            EXPECT_THROW((void)dev.map(r), Error);
            continue;
        }
        // The first dword (on an e1000 BAR0: CTRL) read both ways.
        const auto m = dev.map(r);
        ASSERT_EQ(m.size(), r.size);
        std::uint32_t viaMap = 0;
        std::memcpy(&viaMap, m.data(), 4);
        std::array<std::uint8_t, 4> b{};
        dev.read(r, 0, b);
        std::uint32_t viaFd = 0;
        std::memcpy(&viaFd, b.data(), 4);
        EXPECT_EQ(viaMap, viaFd);
        EXPECT_THROW(dev.read(r, r.size - 2, b), Error);  // crosses the end
    }
}

TEST(Vfio, IntxToEventfd) {
    REQUIRE_VFIO_DEVICE();
    const auto address = pci::PciAddress::parse(deviceUnderTest());
    const auto facts = readSysfs(address.toString());
    VfioContainer container;
    VfioGroup group(facts.group, container);
    const auto dev = group.openDevice(address);
    const auto intx = dev.irqInfo(VfioDevice::kIntxIrq);
    EXPECT_EQ(intx.count, 1u);  // the function has an interrupt pin
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_TRUE(efd.valid());
    dev.setIrqEventfd(VfioDevice::kIntxIrq, efd.get());
    dev.unmaskIntx();
    // For docs/passthrough.md: what sysfs shows once vfio-pci has enabled the function.
    std::printf("vfio-test: sysfs irq while INTx is routed: %s", slurp(fs::path("/sys/bus/pci/devices") / address.toString() / "irq").c_str());
    dev.setIrqEventfd(VfioDevice::kIntxIrq, -1);
    EXPECT_THROW((void)dev.irqInfo(dev.irqCount()), Error);
}

TEST(Vfio, DmaMappingIsUnmappedWhenDestroyed) {
    REQUIRE_VFIO_DEVICE();
    const auto address = pci::PciAddress::parse(deviceUnderTest());
    VfioContainer container;
    VfioGroup group(readSysfs(address.toString()).group, container);
    auto memory = Mapping::map(2u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    {
        const auto dma = container.mapDma(memory.bytes(), 0x100000, true);
        EXPECT_EQ(dma.iova(), 0x100000u);
        EXPECT_EQ(dma.size(), 2u << 20);
        // Overlapping IOVA: refused while the first mapping lives.
        EXPECT_THROW((void)container.mapDma(memory.bytes().first(4096), 0x100000, false), Error);
    }
    // Unmapped by the destructor: the same IOVA maps again.
    const auto again = container.mapDma(memory.bytes(), 0x100000, false);
    EXPECT_EQ(again.iova(), 0x100000u);
}

TEST(Vfio, UnknownGroupIsAnErrorNamingIt) {
    REQUIRE_VFIO_DEVICE();
    VfioContainer container;
    try {
        VfioGroup g(9999, container);
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("VFIO group 9999 ('/dev/vfio/9999')"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace cxvm::host::vfio
