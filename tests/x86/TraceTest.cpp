// --trace output and its option parser.
#include "CpuTestSupport.h"
#include "util/Error.h"

#include <cstdio>

namespace cxvm::x86::test {
namespace {

TEST(Trace, OneLinePerInstructionWithDisassemblyBoundedByCount) {
    Machine m;
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    TraceOptions t = TraceOptions::parse("count=3");
    t.out = f;
    m.cpu.setTrace(t);
    auto r = m.runFlat("mov eax, 0x1234\nadd eax, ebx\nnop\nnop\nhlt");
    ASSERT_EQ(r.reason, StopReason::Halt);
    std::rewind(f);
    std::string text;
    char buf[512];
    while (std::fgets(buf, sizeof buf, f)) text += buf;
    std::fclose(f);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
    EXPECT_NE(text.find("00001000 0008:00001000 b834120000"), std::string::npos) << text;
    EXPECT_NE(text.find("mov eax, 0x1234"), std::string::npos) << text;
    EXPECT_NE(text.find("add eax, ebx"), std::string::npos) << text;
    EXPECT_NE(text.find("eax=00001234"), std::string::npos) << text;
}

TEST(Trace, ParsesRangesAndRejectsBadInput) {
    TraceOptions t = TraceOptions::parse("range=0xc0000000-0xc0100000,count=10");
    EXPECT_TRUE(t.enabled);
    EXPECT_EQ(t.fromAddress, 0xC0000000u);
    EXPECT_EQ(t.toAddress, 0xC0100000u);
    EXPECT_EQ(t.count, 10u);
    EXPECT_EQ(TraceOptions::parse("500").count, 500u);
    EXPECT_EQ(TraceOptions::parse("").count, UINT64_MAX);
    EXPECT_THROW(TraceOptions::parse("colour=red"), Error);
    EXPECT_THROW(TraceOptions::parse("count=x"), Error);
    EXPECT_THROW(TraceOptions::parse("from=0x200000000"), Error);
    EXPECT_THROW(TraceOptions::parse("from=10,to=5"), Error);
}

TEST(Profile, SamplesTheEipAtTheRequestedInterval) {
    Machine m;
    m.cpu.setProfileInterval(1000);
    // 1 + 2 x 100 000 + 1 = 200 002 instructions, all inside [0x1000, 0x1010).
    auto r = m.runFlat("mov ecx, 100000\nagain: dec ecx\njnz again\nhlt");
    ASSERT_EQ(r.reason, StopReason::Halt);
    std::uint64_t samples = 0;
    for (const auto& [eip, n] : m.cpu.profileSamples()) {
        EXPECT_GE(eip, 0x1000u);
        EXPECT_LT(eip, 0x1010u);
        samples += n;
    }
    // One sample per 1000 instructions (taken at the next check point, every 256, without
    // drifting); the last interval may end with the HLT.
    EXPECT_GE(samples, 199u);
    EXPECT_LE(samples, 200u);
}

}  // namespace
}  // namespace cxvm::x86::test
