#include "util/Error.h"
#include "vmm/HypercallTable.h"

#include <gtest/gtest.h>

namespace cxvm::vmm {
namespace {

TEST(HypercallTable, UserTokensStartAtFour) {
    HypercallTable t;
    auto h = [](const engine::HypercallArgs&) { return 0u; };
    for (std::uint32_t tok : {0u, 1u, 2u, 3u}) EXPECT_THROW(t.registerUser(tok, "x", h), Error);
    EXPECT_NO_THROW(t.registerUser(4, "poke", h));
    EXPECT_TRUE(t.has(4));
}

TEST(HypercallTable, ConnectorTokensAreOneToThree) {
    HypercallTable t;
    auto h = [](const engine::HypercallArgs&) { return 0u; };
    EXPECT_THROW(t.registerConnector(0, "x", h), Error);
    EXPECT_THROW(t.registerConnector(4, "x", h), Error);
    EXPECT_NO_THROW(t.registerConnector(1, "dataport", h));
    EXPECT_NO_THROW(t.registerConnector(3, "emit", h));
}

TEST(HypercallTable, DuplicateTokenNamesTheHolder) {
    HypercallTable t;
    auto h = [](const engine::HypercallArgs&) { return 0u; };
    t.registerUser(5, "first", h);
    try {
        t.registerUser(5, "second", h);
        FAIL() << "duplicate accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("first"), std::string::npos) << e.what();
    }
}

TEST(HypercallTable, DispatchPassesArgumentsAndReturnsResult) {
    HypercallTable t;
    t.registerUser(7, "sum", [](const engine::HypercallArgs& a) {
        return a.arg0 + a.arg1 + a.arg2 + a.arg3;
    });
    EXPECT_EQ(t.dispatch({7, 1, 2, 3, 4}), 10u);
    EXPECT_EQ(t.dispatch({8, 0, 0, 0, 0}), HypercallTable::kUnknownTokenResult);
    EXPECT_EQ(t.unknownCount(), 1u);
}

TEST(HypercallTable, RegisterHandlersFollowTheSameTokenRules) {
    HypercallTable t;
    auto h = [](engine::Regs&) { return 0; };
    for (std::uint32_t tok : {0u, 1u, 2u, 3u}) EXPECT_THROW(t.registerUserRegs(tok, "x", h), Error);
    t.registerUser(4, "poke", [](const engine::HypercallArgs&) { return 0u; });
    EXPECT_THROW(t.registerUserRegs(4, "again", h), Error);
    EXPECT_NO_THROW(t.registerUserRegs(5, "regs", h));
    EXPECT_THROW(t.registerUser(5, "again", [](const engine::HypercallArgs&) { return 0u; }), Error);
}

TEST(HypercallTable, DispatchRunsRegisterHandlersOnTheArguments) {
    HypercallTable t;
    t.registerUserRegs(9, "swap", [](engine::Regs& r) {
        r.rax = r.rbx + r.rsi;  // 2 + 5
        return 0;
    });
    t.registerUserRegs(10, "fails", [](engine::Regs&) { return -3; });
    EXPECT_EQ(t.dispatch({9, 2, 3, 4, 5}), 7u);
    try {
        (void)t.dispatch({10, 0, 0, 0, 0});
        FAIL() << "a failing handler went unnoticed";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("fails"), std::string::npos) << e.what();
    }
    t.unregister(9);
    EXPECT_FALSE(t.has(9));
    EXPECT_EQ(t.dispatch({9, 2, 3, 4, 5}), HypercallTable::kUnknownTokenResult);
}

}  // namespace
}  // namespace cxvm::vmm
