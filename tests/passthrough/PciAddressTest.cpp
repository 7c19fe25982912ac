#include "host/pci/PciAddress.h"
#include "util/Error.h"

#include <gtest/gtest.h>

namespace cxvm::host::pci {
namespace {

TEST(PciAddress, ParsesTheLongForm) {
    const auto a = PciAddress::parse("0000:00:1f.2");
    EXPECT_EQ(a.domain, 0);
    EXPECT_EQ(a.bus, 0);
    EXPECT_EQ(a.device, 0x1f);
    EXPECT_EQ(a.function, 2);
    EXPECT_EQ(a.toString(), "0000:00:1f.2");
}

TEST(PciAddress, ParsesTheShortFormAndUpperCase) {
    const auto a = PciAddress::parse("05:1F.7");
    EXPECT_EQ(a.domain, 0);
    EXPECT_EQ(a.bus, 5);
    EXPECT_EQ(a.device, 0x1f);
    EXPECT_EQ(a.function, 7);
    EXPECT_EQ(a.toString(), "0000:05:1f.7");
    EXPECT_EQ(PciAddress::parse("abcd:ff:00.0").toString(), "abcd:ff:00.0");
    EXPECT_EQ(PciAddress::parse("abcd:ff:00.0").domain, 0xabcd);
}

TEST(PciAddress, RejectsMalformedAddressesNamingThem) {
    for (const char* bad : {"", "00:1f", "00:1f.8", "00:20.0", "0000:100:00.0", "00000:00:00.0", "zz:00.0",
                            "00:1f.2x", "0000:00:1f.2.1", ":00.0", "00:.0", "00:1f.", "0x00:1f.2"}) {
        EXPECT_FALSE(PciAddress::valid(bad)) << bad;
        try {
            (void)PciAddress::parse(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
        }
    }
}

TEST(PciAddress, OrdersByDomainBusDeviceFunction) {
    EXPECT_LT(PciAddress::parse("00:1f.2"), PciAddress::parse("00:1f.3"));
    EXPECT_LT(PciAddress::parse("00:1f.7"), PciAddress::parse("01:00.0"));
    EXPECT_LT(PciAddress::parse("0000:ff:1f.7"), PciAddress::parse("0001:00:00.0"));
    EXPECT_EQ(PciAddress::parse("00:1f.2"), PciAddress::parse("0000:00:1f.2"));
}

}  // namespace
}  // namespace cxvm::host::pci
