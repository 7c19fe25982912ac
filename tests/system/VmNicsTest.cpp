// The `nics` VM attribute (system::vmNics): entries become the same NicOptions as
// `cxvm run --net`, errors point at the spec's file:line:col of the bad part, and the VM
// instance's command line carries them (--net, --net-origin) unchanged.
#include "system/VmInstanceConfig.h"
#include "system/VmNics.h"
#include "util/Error.h"

#include <arpa/inet.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cxvm::system {
namespace {

using ::testing::HasSubstr;

adl::Value str(std::string s, int line, int col) {
    adl::Value v;
    v.kind = adl::Value::Kind::String;
    v.s = std::move(s);
    v.loc = {"app.camkes", line, col};
    return v;
}
adl::Value list(std::vector<adl::Value> items, int line, int col) {
    adl::Value v;
    v.kind = adl::Value::Kind::List;
    v.list = std::move(items);
    v.loc = {"app.camkes", line, col};
    return v;
}
adl::Value dict(std::vector<std::pair<std::string, adl::Value>> entries, int line, int col) {
    adl::Value v;
    v.kind = adl::Value::Kind::Dict;
    v.dict = std::move(entries);
    v.loc = {"app.camkes", line, col};
    return v;
}

struct NicsAttribute : ::testing::Test {
    adl::Instance vm;
    void SetUp() override { vm.name = "vm.vm0"; }
    void set(std::vector<adl::Value> entries) { vm.attributes["nics"] = list(std::move(entries), 20, 20); }
    std::string err() {
        try {
            vmNics(vm);
        } catch (const Error& e) {
            return e.what();
        }
        return "no error";
    }
};

TEST_F(NicsAttribute, EntriesBecomeNicOptions) {
    EXPECT_TRUE(vmNics(vm).empty()) << "no attribute: no NIC";
    set({dict({{"type", str("user", 20, 30)},
               {"hostfwd", list({str("tcp:127.0.0.1:2222-:22", 20, 50), str("udp::5353-:53", 20, 75)}, 20, 49)},
               {"mac", str("52:54:00:12:34:60", 20, 95)}},
              20, 21),
         dict({{"type", str("tap", 21, 30)}, {"ifname", str("tap0", 21, 48)}}, 21, 21)});
    const auto nics = vmNics(vm);
    ASSERT_EQ(nics.size(), 2u);
    EXPECT_EQ(nics[0].kind, net::BackendKind::User);
    ASSERT_EQ(nics[0].hostForwards.size(), 2u);
    EXPECT_EQ(nics[0].hostForwards[0].hostAddr, htonl(INADDR_LOOPBACK));
    EXPECT_EQ(nics[0].hostForwards[0].hostPort, 2222);
    EXPECT_EQ(nics[0].hostForwards[0].guestPort, 22);
    EXPECT_TRUE(nics[0].hostForwards[1].udp);
    EXPECT_EQ(nics[0].mac->str(), "52:54:00:12:34:60");
    EXPECT_EQ(nics[0].origin, "app.camkes:20:21: vm.vm0.nics[0]");
    EXPECT_EQ(nics[1].kind, net::BackendKind::Tap);
    EXPECT_EQ(nics[1].ifname, "tap0");
    EXPECT_FALSE(nics[1].mac);
}

TEST_F(NicsAttribute, ErrorsPointAtTheBadPart) {
    set({dict({{"type", str("bridge", 22, 30)}}, 22, 21)});
    EXPECT_THAT(err(), HasSubstr("app.camkes:22:30: error: vm.vm0.nics[0].type must be \"user\" or \"tap\""));
    set({dict({{"hostfwd", list({}, 23, 40)}}, 23, 21)});
    EXPECT_THAT(err(), HasSubstr("app.camkes:23:21: error: vm.vm0.nics[0].type must be"));
    set({dict({{"type", str("user", 24, 30)}, {"hostfwd", list({str("tcp::2222:22", 24, 50)}, 24, 49)}}, 24, 21)});
    EXPECT_THAT(err(), HasSubstr("app.camkes:24:50: error: vm.vm0.nics[0]: hostfwd=tcp::2222:22: no '-'"));
    set({dict({{"type", str("user", 25, 30)}, {"mac", str("01:00:5e:00:00:01", 25, 50)}}, 25, 21)});
    EXPECT_THAT(err(), HasSubstr("app.camkes:25:50: error: vm.vm0.nics[0]: mac=01:00:5e:00:00:01: a multicast"));
    set({dict({{"type", str("tap", 26, 30)}}, 26, 21)});
    EXPECT_THAT(err(), HasSubstr("app.camkes:26:21: error: vm.vm0.nics[0]: tap needs ifname=NAME"));
    set({dict({{"type", str("user", 27, 30)}, {"ifname", str("tap0", 27, 50)}}, 27, 21)});
    EXPECT_THAT(err(), HasSubstr("app.camkes:27:21: error: vm.vm0.nics[0]: option 'ifname' does not apply"));
    set({dict({{"type", str("user", 28, 30)}, {"speed", str("fast", 28, 50)}}, 28, 21)});
    EXPECT_THAT(err(), HasSubstr("app.camkes:28:50: error: vm.vm0.nics[0]: unknown key \"speed\""));
    set({str("user", 29, 22)});
    EXPECT_THAT(err(), HasSubstr("app.camkes:29:22: error: vm.vm0.nics[0] must be {\"type\""));
}

TEST(VmInstanceConfigNics, RoundTripThroughTheCommandLine) {
    VmInstanceConfig c;
    c.instance = "vm.vm0";
    c.kernel = "/k";
    net::NicOptions user = net::parseNetSpec("user,hostfwd=tcp:127.0.0.1:2222-:22,mac=52:54:00:12:34:60", "x");
    user.origin = "app.camkes:20:21: vm.vm0.nics[0]";
    net::NicOptions tap = net::parseNetSpec("tap,ifname=tap0", "x");
    c.nics = {user, tap};
    const std::vector<std::string> words = c.args();
    const std::vector<std::string_view> views(words.begin(), words.end());
    const VmInstanceConfig d = VmInstanceConfig::parse(views);
    ASSERT_EQ(d.nics.size(), 2u);
    EXPECT_EQ(net::formatNetSpec(d.nics[0]), net::formatNetSpec(user));
    EXPECT_EQ(d.nics[0].origin, user.origin);
    EXPECT_EQ(net::formatNetSpec(d.nics[1]), "tap,ifname=tap0");
    EXPECT_EQ(d.nics[1].origin, "");
    const std::string_view orphan[] = {"--instance", "v", "--kernel", "k", "--net-origin", "x"};
    EXPECT_THROW(VmInstanceConfig::parse(orphan), Error);
}

}  // namespace
}  // namespace cxvm::system
