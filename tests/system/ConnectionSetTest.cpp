// The kernel objects behind connections, and the output relay.
#include "Fixtures.h"
#include "system/ConnectionSet.h"
#include "system/OutputRelay.h"

#include "ReadAll.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cxvm::system {
namespace {

TEST(ConnectionSet, EachEndGetsItsObjects) {
    ConnectionSet set(test::fixture("probe"));
    // one eventfd (e->f), one memfd (d), four socketpairs (r): 1 + 1 + 8
    EXPECT_EQ(set.objectCount(), 10u);
    const auto& a = set.endsOf("a");
    const auto& b = set.endsOf("b");
    ASSERT_EQ(a.at("e").size(), 1u);
    ASSERT_EQ(b.at("f").size(), 1u);
    EXPECT_EQ(a.at("e")[0], b.at("f")[0]);  // emitter and consumer share the eventfd
    EXPECT_EQ(b.at("d")[0], set.endsOf("c").at("d")[0]);
    EXPECT_EQ(set.endsOf("ctl").at("r").size(), 4u);  // one socket per client
    EXPECT_EQ(set.endsOf("lonely").size(), 1u);
    EXPECT_TRUE(set.endsOf("nobody").empty());
}

TEST(ConnectionSet, DataportIsSealedAtItsPageRoundedSize) {
    auto sys = test::fixture("probe");
    sys.types[0].interfaces[2].dataportSize = 100;  // Buf(100): one page
    ConnectionSet set(sys);
    int fd = set.endsOf("b").at("d")[0];
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_size, 4096);
    // no end can shrink it under the others' mappings
    EXPECT_NE(::ftruncate(fd, 0), 0);
    int seals = ::fcntl(fd, F_GET_SEALS);
    EXPECT_TRUE(seals & F_SEAL_SHRINK);
    EXPECT_TRUE(seals & F_SEAL_SEAL);
}

TEST(ConnectionSet, EventsToOneConsumerShareOneEventfd) {
    auto sys = test::fixture("events");
    sys.connections.push_back(test::conn("extra", "seL4Notification", "sender", "fence", "receiver", "ev"));
    ConnectionSet set(sys);
    const auto& s = set.endsOf("sender");
    EXPECT_EQ(s.at("fence").size(), 2u);  // fence now signals two consumers
    EXPECT_EQ(s.at("fence")[1], set.endsOf("receiver").at("ev")[0]);
    EXPECT_EQ(set.endsOf("receiver").at("ev").size(), 1u);
}


TEST(OutputRelay, PrefixesWholeLinesAndKeepsTheLastPartialOne) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    UniqueFd w(p[1]);
    UniqueFd out(::memfd_create("relay", 0));
    OutputRelay relay{UniqueFd{p[0]}, "inst", out.get()};
    ASSERT_EQ(::write(w.get(), "one\ntw", 6), 6);
    EXPECT_TRUE(relay.pump());
    EXPECT_EQ(test::readAll(out.get()), "inst: one\n");
    ASSERT_EQ(::write(w.get(), "o\nthree", 7), 7);
    EXPECT_TRUE(relay.pump());
    w.reset();
    relay.drain();
    EXPECT_FALSE(relay.open());
    EXPECT_EQ(test::readAll(out.get()), "inst: one\ninst: two\ninst: three\n");
}

}  // namespace
}  // namespace cxvm::system
