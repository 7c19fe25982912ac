#include "engine/EngineSelect.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace cxvm::engine {
namespace {

TEST(EngineSelect, ParsesTheThreeChoices) {
    EXPECT_EQ(parseEngineChoice("auto"), EngineChoice::Auto);
    EXPECT_EQ(parseEngineChoice("interp"), EngineChoice::Interp);
    EXPECT_EQ(parseEngineChoice("kvm"), EngineChoice::Kvm);
    EXPECT_EQ(parseEngineChoice("KVM"), std::nullopt);
    EXPECT_EQ(parseEngineChoice(""), std::nullopt);
}

TEST(EngineSelect, ExplicitChoicesAreTakenAsAsked) {
    EXPECT_EQ(selectEngine(EngineChoice::Interp).kind, EngineKind::Interp);
    EXPECT_EQ(selectEngine(EngineChoice::Kvm).kind, EngineKind::Kvm);
}

TEST(EngineSelect, AutoWithoutADeviceFallsBackToInterpAndSaysWhy) {
    EngineSelection s = selectEngine(EngineChoice::Auto, "/nonexistent/kvm");
    EXPECT_EQ(s.kind, EngineKind::Interp);
    EXPECT_NE(s.reason.find("/nonexistent/kvm"), std::string::npos) << s.reason;
    EXPECT_EQ(s.reason.find('\n'), std::string::npos);  // one line
}

// The decision follows the measurement. Where the expected answer is known (the nested
// L1 sets it to kvm; these PVM hosts would give interp) CXVM_EXPECT_AUTO_ENGINE pins it.
TEST(EngineSelect, AutoOnThisHostFollowsTheCalibrationSpeed) {
    KvmProbe p = probeKvm();
    if (!p.opened) GTEST_SKIP() << "no usable /dev/kvm: " << p.detail;
    ASSERT_TRUE(p.detail.empty()) << p.detail;
    EXPECT_GT(p.guestIps, 0.0);
    EngineSelection s = selectEngine(EngineChoice::Auto);
    std::printf("%s\n", s.reason.c_str());
    EXPECT_NE(s.reason.find("instructions/s"), std::string::npos) << s.reason;
    if (const char* want = std::getenv("CXVM_EXPECT_AUTO_ENGINE")) {
        EXPECT_EQ(engineName(s.kind), want) << s.reason;
    }
}

}  // namespace
}  // namespace cxvm::engine
