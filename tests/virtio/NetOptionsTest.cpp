// `--net` / `nics` parsing (net::parseNetSpec): QEMU's spelling, and an error that names
// the flag and the bad part for everything else.
#include "net/NetOptions.h"
#include "util/Error.h"

#include <arpa/inet.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using namespace cxvm;
using namespace cxvm::net;
using ::testing::HasSubstr;

std::string err(std::string_view spec) {
    try {
        parseNetSpec(spec, fmt::format("--net {}", spec));
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

TEST(NetOptions, UserWithHostForwardsAndMac) {
    const NicOptions n = parseNetSpec("user,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp::5353-10.0.2.16:53,"
                                      "mac=52:54:00:aa:bb:cc",
                                      "--net");
    EXPECT_EQ(n.kind, BackendKind::User);
    ASSERT_EQ(n.hostForwards.size(), 2u);
    EXPECT_FALSE(n.hostForwards[0].udp);
    EXPECT_EQ(n.hostForwards[0].hostAddr, htonl(INADDR_LOOPBACK));
    EXPECT_EQ(n.hostForwards[0].hostPort, 2222);
    EXPECT_EQ(n.hostForwards[0].guestAddr, 0u);
    EXPECT_EQ(n.hostForwards[0].guestPort, 22);
    EXPECT_TRUE(n.hostForwards[1].udp);
    EXPECT_EQ(n.hostForwards[1].hostAddr, 0u);
    EXPECT_EQ(n.hostForwards[1].guestAddr, htonl(0x0A000210));
    ASSERT_TRUE(n.mac);
    EXPECT_EQ(n.mac->str(), "52:54:00:aa:bb:cc");
    // It prints back to what parses to the same.
    const NicOptions again = parseNetSpec(formatNetSpec(n), "--net");
    EXPECT_EQ(formatNetSpec(again), formatNetSpec(n));
    EXPECT_EQ(formatNetSpec(n), "user,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp::5353-10.0.2.16:53,"
                                "mac=52:54:00:aa:bb:cc");
}

TEST(NetOptions, TapNeedsIfname) {
    const NicOptions n = parseNetSpec("tap,ifname=tap0", "--net");
    EXPECT_EQ(n.kind, BackendKind::Tap);
    EXPECT_EQ(n.ifname, "tap0");
    EXPECT_EQ(formatNetSpec(n), "tap,ifname=tap0");
    EXPECT_THAT(err("tap"), HasSubstr("--net tap: tap needs ifname=NAME"));
}

TEST(NetOptions, DefaultMacsAreStableAndDistinct) {
    EXPECT_EQ(defaultMac(0).str(), "52:54:00:12:34:56");
    EXPECT_EQ(defaultMac(1).str(), "52:54:00:12:34:57");
    EXPECT_NE(defaultMac(0xA9), defaultMac(0xAA));  // carries past :ff
    EXPECT_EQ(defaultMac(0xAA).str(), "52:54:00:12:35:00");
}

TEST(NetOptions, ErrorsNameTheFlagAndThePart) {
    EXPECT_THAT(err("bridge"), HasSubstr("--net bridge: unknown network type 'bridge'"));
    EXPECT_THAT(err("user,hostfwd=sctp::1-:2"), HasSubstr("hostfwd=sctp::1-:2: protocol 'sctp'"));
    EXPECT_THAT(err("user,hostfwd=tcp::2222:22"), HasSubstr("no '-'"));
    EXPECT_THAT(err("user,hostfwd=tcp::0-:22"), HasSubstr("'0' is not a port"));
    EXPECT_THAT(err("user,hostfwd=tcp::70000-:22"), HasSubstr("'70000' is not a port"));
    EXPECT_THAT(err("user,hostfwd=tcp:localhost:2222-:22"), HasSubstr("'localhost' is not an IPv4 address"));
    EXPECT_THAT(err("user,hostfwd=tcp::2222-"), HasSubstr("the guest side has no ':PORT'"));
    EXPECT_THAT(err("user,mac=52:54:00:12:34"), HasSubstr("mac=52:54:00:12:34: expected six hex bytes"));
    EXPECT_THAT(err("user,mac=01:00:5e:00:00:01"), HasSubstr("multicast"));
    EXPECT_THAT(err("user,mac=00:00:00:00:00:00"), HasSubstr("all-zero"));
    EXPECT_THAT(err("user,ifname=tap0"), HasSubstr("option 'ifname' does not apply to type user"));
    EXPECT_THAT(err("tap,ifname=t,hostfwd=tcp::1-:2"), HasSubstr("option 'hostfwd' does not apply to type tap"));
    EXPECT_THAT(err("user,hostfwd"), HasSubstr("option 'hostfwd' needs a value"));
    EXPECT_THAT(err("tap,ifname=averyveryverylongname"), HasSubstr("at most 15 characters"));
}

}  // namespace
