#include "util/Error.h"
#include "vmm/TraceSpec.h"

#include <gtest/gtest.h>

namespace cxvm::vmm {
namespace {

TEST(TraceSpec, Forms) {
    TraceSpec all = parseTraceSpec("all");
    EXPECT_TRUE(all.enabled);
    EXPECT_EQ(all.count, UINT64_MAX);
    EXPECT_EQ(parseTraceSpec("").toAddress, 0xFFFFFFFFu);
    EXPECT_EQ(parseTraceSpec("1000").count, 1000u);
    TraceSpec r = parseTraceSpec("0x1000000-0x1000fff");
    EXPECT_EQ(r.fromAddress, 0x1000000u);
    EXPECT_EQ(r.toAddress, 0x1000fffu);
    EXPECT_EQ(r.count, UINT64_MAX);
    TraceSpec rc = parseTraceSpec("16-32,5");
    EXPECT_EQ(rc.fromAddress, 16u);
    EXPECT_EQ(rc.toAddress, 32u);
    EXPECT_EQ(rc.count, 5u);
}

TEST(TraceSpec, Junk) {
    for (const char* bad : {"x", "10-", "-5", "5-4", "0x-1", "1,2", "0-0x100000000", "12abc"})
        EXPECT_THROW(parseTraceSpec(bad), Error) << bad;
}

TEST(TraceRing, KeepsTheLastLines) {
    TraceRing ring(3);
    for (int i = 0; i < 10; ++i) std::fprintf(ring.stream(), "line %d\n", i);
    std::fprintf(ring.stream(), "partial");
    EXPECT_EQ(ring.text(), "line 7\nline 8\nline 9\npartial\n");
}

}  // namespace
}  // namespace cxvm::vmm
