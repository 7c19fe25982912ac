// The example apps (apps/), loaded from their specs and run as `cxvm run apps/X` does.
#include "adl/Frontend.h"
#include "system/RunApp.h"
#include "util/UniqueFd.h"

#include <gmock/gmock.h>
#include "ReadAll.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <regex>

namespace cxvm::system {
namespace {

using ::testing::HasSubstr;

struct AppRun {
    int status = -1;
    std::string out, err;
};


AppRun runExample(const std::string& name) {
    std::filesystem::path dir = std::filesystem::path(CXVM_SOURCE_DIR) / "apps" / name;
    auto loaded = adl::loadSpec(adl::findAppSpec(dir));
    AppRun r;
    for (const auto& d : loaded.diagnostics) r.err += adl::formatDiagnostic(d) + "\n";
    if (!loaded.ok()) return r;
    UniqueFd out(::memfd_create("out", MFD_CLOEXEC)), err(::memfd_create("err", MFD_CLOEXEC));
    RunAppOptions o;
    o.appDir = dir;
    o.stdoutFd = out.get();
    o.stderrFd = err.get();
    r.status = runApp(*loaded.system, o);
    r.out = test::readAll(out.get());
    r.err += test::readAll(err.get());
    return r;
}

// The lines one instance printed, in order.
std::vector<std::string> linesOf(const std::string& out, const std::string& inst) {
    std::vector<std::string> v;
    std::string prefix = inst + ": ";
    std::size_t pos = 0;
    while (pos < out.size()) {
        std::size_t nl = out.find('\n', pos);
        if (nl == std::string::npos) nl = out.size();
        std::string line = out.substr(pos, nl - pos);
        if (line.rfind(prefix, 0) == 0) v.push_back(line.substr(prefix.size()));
        pos = nl + 1;
    }
    return v;
}

TEST(Examples, HelloRpc) {
    AppRun r = runExample("hello");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(linesOf(r.out, "client"),
              (std::vector<std::string>{"client (client) says hello",
                                        "the server counted 12 characters", "40 + 2 = 42",
                                        "shouted: QUIET PLEASE"}));
    EXPECT_EQ(linesOf(r.out, "server"), (std::vector<std::string>{"call 1: hello, world"}));
}

TEST(Examples, PingPongEvents) {
    AppRun r = runExample("pingpong");
    ASSERT_EQ(r.status, 0) << r.err;
    std::vector<std::string> ping, pong;
    for (int i = 1; i <= 5; ++i) {
        ping.push_back("ping " + std::to_string(i));
        pong.push_back("pong " + std::to_string(i));
    }
    ping.push_back("5 round trips done");
    EXPECT_EQ(linesOf(r.out, "pinger"), ping);
    EXPECT_EQ(linesOf(r.out, "ponger"), pong);
}

TEST(Examples, DataportProducerConsumer) {
    AppRun r = runExample("dataport");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(linesOf(r.out, "producer"),
              (std::vector<std::string>{"record 1 written: alpha", "record 2 written: bravo",
                                        "record 3 written: charlie", "record 4 written: delta"}));
    EXPECT_EQ(linesOf(r.out, "consumer"),
              (std::vector<std::string>{"record 1: alpha (checksum ok)", "record 2: bravo (checksum ok)",
                                        "record 3: charlie (checksum ok)",
                                        "record 4: delta (checksum ok)", "4 records received"}));
}

TEST(Examples, SeedPrintServerWithNativeClient) {
    AppRun r = runExample("print_server_native");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(linesOf(r.out, "print_server"),
              (std::vector<std::string>{"hello", "world", "from", "a", "native", "client"}));
    // the WithCaps `to` end holds the memory object, its id and size from the spec
    auto client = linesOf(r.out, "client");
    ASSERT_EQ(client.size(), 1u) << r.out;
    EXPECT_TRUE(std::regex_match(client[0], std::regex("dataport 1: 4096 bytes \\(memory object fd [3-9]\\)")))
        << client[0];
}

}  // namespace
}  // namespace cxvm::system
