// The cross-VM connectors' hypercalls on a bare GuestMemory and a recording IRQ line:
// SHARE/INIT/ACK/EMIT, every refusal a hostile guest can provoke, consumed-event
// latching, coalescing and one-at-a-time delivery.
#include "util/Error.h"
#include "vmm/IsaIrqLines.h"
#include "vmm/crossvm/CrossVmConnectors.h"

#include <gtest/gtest.h>

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace cxvm::vmm::crossvm {
namespace {

constexpr std::uint64_t kRam = 1 << 20;

struct RecordingSink final : hw::IrqSink {
    bool level = false;
    unsigned changes = 0;
    void setIrqLevel(unsigned, bool l) override {
        changes += l != level;
        level = l;
    }
};

UniqueFd makeMemfd(std::uint64_t size, std::uint8_t fill) {
    UniqueFd fd(::memfd_create("test-dataport", MFD_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    std::vector<std::uint8_t> bytes(size, fill);
    EXPECT_EQ(::pwrite(fd.get(), bytes.data(), size, 0), static_cast<ssize_t>(size));
    return fd;
}

std::uint32_t read32Of(const hw::GuestMemory& m, std::uint64_t gpa) {
    std::uint32_t v;
    std::memcpy(&v, m.span(gpa, 4).data(), 4);
    return v;
}

std::uint64_t readCounter(int efd) {
    std::uint64_t v = 0;
    return ::read(efd, &v, sizeof v) == sizeof v ? v : 0;
}

// RAM filled with a pattern; two dataports (ids 1, 2; 0x2000 bytes each); two emitted
// and three consumed events.
struct Fixture {
    hw::GuestMemory mem{kRam};
    RecordingSink sink;
    UniqueFd fd1 = makeMemfd(0x2000, 0xD1), fd2 = makeMemfd(0x2000, 0xD2);
    UniqueFd emit1{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)}, emit2{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    UniqueFd cons[3] = {UniqueFd(::eventfd(0, EFD_CLOEXEC)), UniqueFd(::eventfd(0, EFD_CLOEXEC)),
                        UniqueFd(::eventfd(0, EFD_CLOEXEC))};
    std::unique_ptr<CrossVmConnectors> c;

    Fixture() {
        auto ram = mem.span(0, kRam);
        for (std::size_t i = 0; i < ram.size(); ++i) ram[i] = static_cast<std::uint8_t>(i * 7 + 3);
        CrossVmConfig cfg;
        cfg.dataports = {{1, "vm0.data (conn_data, x.camkes:9:5)", 0x2000, fd1.get()},
                         {2, "vm0.other (conn_other, x.camkes:10:5)", 0x2000, fd2.get()}};
        cfg.emits = {{1, "vm0.ready (conn_ready)", emit1.get()}, {2, "vm0.done", emit2.get()}};
        cfg.consumes = {{1, "vm0.go", cons[0].get()}, {2, "vm0.stop", cons[1].get()},
                        {3, "vm0.third", cons[2].get()}};
        c = std::make_unique<CrossVmConnectors>(mem, hw::IrqLine(sink, 12), std::move(cfg));
    }
    std::int32_t hc(std::uint32_t tok, std::uint32_t ebx, std::uint32_t ecx = 0,
                    std::uint32_t edx = 0, std::uint32_t esi = 0) {
        return static_cast<std::int32_t>(c->hypercall({tok, ebx, ecx, edx, esi}));
    }
    // Whether RAM still holds the pattern everywhere outside `except`.
    bool ramUntouchedExcept(std::vector<GuestRange> except) const {
        auto ram = mem.span(0, kRam);
        for (std::size_t i = 0; i < ram.size(); ++i) {
            bool skip = false;
            for (const auto& e : except) skip |= e.overlaps(i, 1);
            if (!skip && ram[i] != static_cast<std::uint8_t>(i * 7 + 3)) return false;
        }
        return true;
    }
};

bool memfdAll(int fd, std::uint64_t size, std::uint8_t v) {
    std::vector<std::uint8_t> b(size);
    if (::pread(fd, b.data(), size, 0) != static_cast<ssize_t>(size)) return false;
    for (auto x : b)
        if (x != v) return false;
    return true;
}

TEST(CrossVmConnectors, ShareMakesGuestPagesAndMemfdTheSameBytes) {
    Fixture f;
    const std::uint64_t gen = f.mem.generation();
    ASSERT_EQ(f.hc(1, 1, 1, 0x10000, 0x2000), 0);
    EXPECT_GT(f.mem.generation(), gen);
    // The guest now sees the dataport's bytes...
    EXPECT_EQ(f.mem.span(0x10000, 1)[0], 0xD1);
    EXPECT_EQ(f.mem.span(0x11FFF, 1)[0], 0xD1);
    // ...guest writes reach the memfd...
    const char hello[] = "from the guest";
    f.mem.write(0x10100, {reinterpret_cast<const std::uint8_t*>(hello), sizeof hello});
    char back[sizeof hello] = {};
    ASSERT_EQ(::pread(f.fd1.get(), back, sizeof back, 0x100), static_cast<ssize_t>(sizeof back));
    EXPECT_STREQ(back, hello);
    // ...and native writes reach the guest.
    const char native[] = "from the native side";
    ASSERT_EQ(::pwrite(f.fd1.get(), native, sizeof native, 0x1F00), static_cast<ssize_t>(sizeof native));
    EXPECT_EQ(std::memcmp(f.mem.span(0x11F00, sizeof native).data(), native, sizeof native), 0);
    EXPECT_EQ(f.c->dataports().sharedAt(1)->gpa, 0x10000u);
    // RAM around it is untouched.
    EXPECT_TRUE(f.ramUntouchedExcept({{0x10000, 0x2000}}));
}

TEST(CrossVmConnectors, HostileSharesAreRefusedAndTouchNothing) {
    Fixture f;
    ::testing::internal::CaptureStderr();
    struct Case {
        std::uint32_t ebx, id, gpa, size;
        std::int32_t want;
    };
    const std::uint32_t ram = kRam;
    const Case cases[] = {
        {1, 0, 0x10000, 0x2000, CXVM_CROSSVM_ENOENT},            // id 0
        {1, 7, 0x10000, 0x2000, CXVM_CROSSVM_ENOENT},            // unknown id
        {1, 1, 0x10000, 0x1000, CXVM_CROSSVM_EMSGSIZE},          // wrong size
        {1, 1, 0x10000, 0xFFFFFFFF, CXVM_CROSSVM_EMSGSIZE},      // huge size
        {1, 1, 0x10800, 0x2000, CXVM_CROSSVM_EINVAL},            // unaligned
        {1, 1, ram, 0x2000, CXVM_CROSSVM_EFAULT},                // just past RAM
        {1, 1, ram - 0x1000, 0x2000, CXVM_CROSSVM_EFAULT},       // straddles the end
        {1, 1, 0xFFFFF000, 0x2000, CXVM_CROSSVM_EFAULT},         // gpa + size wraps 4 GiB
        {1, 1, 0xE0000000, 0x2000, CXVM_CROSSVM_EFAULT},         // PCI hole
        {9, 1, 0x10000, 0x2000, CXVM_CROSSVM_EOPNOTSUPP},        // unknown command
    };
    for (const Case& k : cases)
        EXPECT_EQ(f.hc(1, k.ebx, k.id, k.gpa, k.size), k.want)
            << "id " << k.id << " gpa " << std::hex << k.gpa << " size " << k.size;
    EXPECT_EQ(f.mem.generation(), 0u);  // no mapping changed
    // Now share 1, then try the overlaps and the second share.
    ASSERT_EQ(f.hc(1, 1, 1, 0x20000, 0x2000), 0);
    EXPECT_EQ(f.hc(1, 1, 2, 0x21000, 0x2000), CXVM_CROSSVM_EBUSY);  // overlaps dataport 1
    EXPECT_EQ(f.hc(1, 1, 2, 0x1F000, 0x2000), CXVM_CROSSVM_EBUSY);  // overlaps its start
    EXPECT_EQ(f.hc(1, 1, 1, 0x40000, 0x2000), CXVM_CROSSVM_EEXIST);  // shared twice
    EXPECT_EQ(f.hc(1, 1, 1, 0x20000, 0x2000), CXVM_CROSSVM_EEXIST);
    ASSERT_EQ(f.hc(1, 1, 2, 0x22000, 0x2000), 0);  // adjacent is fine
    const std::string log = ::testing::internal::GetCapturedStderr();
    // Each refusal names the spec's dataport (when it has one) and the guest's values.
    EXPECT_NE(log.find("vm0.data (conn_data, x.camkes:9:5)"), std::string::npos) << log;
    EXPECT_NE(log.find("dataport id 7"), std::string::npos) << log;
    EXPECT_NE(log.find("0x10800"), std::string::npos) << log;
    EXPECT_NE(log.find("0xfffff000"), std::string::npos) << log;
    EXPECT_NE(log.find("overlaps dataport vm0.data"), std::string::npos) << log;
    EXPECT_NE(log.find("already shared at gpa 0x20000"), std::string::npos) << log;
    EXPECT_NE(log.find("-90 (EMSGSIZE)"), std::string::npos) << log;
    // Guest RAM outside the two dataports and both memfds are as before.
    EXPECT_TRUE(f.ramUntouchedExcept({{0x20000, 0x4000}}));
    EXPECT_TRUE(memfdAll(f.fd1.get(), 0x2000, 0xD1));
    EXPECT_TRUE(memfdAll(f.fd2.get(), 0x2000, 0xD2));
    EXPECT_EQ(f.c->dataports().sharedAt(1)->gpa, 0x20000u);
    EXPECT_EQ(f.c->dataports().sharedAt(2)->gpa, 0x22000u);
}

TEST(CrossVmConnectors, InitChecksThePageAndWritesTheMagic) {
    Fixture f;
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(f.hc(2, 1, kRam), CXVM_CROSSVM_EFAULT);          // outside RAM
    EXPECT_EQ(f.hc(2, 1, kRam - 4), CXVM_CROSSVM_EFAULT);      // straddles the end
    EXPECT_EQ(f.hc(2, 1, 0xFFFFFFFC), CXVM_CROSSVM_EFAULT);    // wraps
    ASSERT_EQ(f.hc(1, 1, 1, 0x30000, 0x2000), 0);
    EXPECT_EQ(f.hc(2, 1, 0x30008), CXVM_CROSSVM_EBUSY);        // inside a dataport
    EXPECT_EQ(f.hc(2, 7), CXVM_CROSSVM_EOPNOTSUPP);            // unknown command
    EXPECT_FALSE(f.c->events().eventPage());
    EXPECT_TRUE(f.ramUntouchedExcept({{0x30000, 0x2000}}));
    ASSERT_EQ(f.hc(2, 1, kRam - 8), 0);  // the last 8 bytes of RAM are fine
    cxvm_event_page p{};
    std::memcpy(&p, f.mem.span(kRam - 8, 8).data(), 8);
    EXPECT_EQ(p.magic, 42u);
    EXPECT_EQ(p.id, 0u);
    // A dataport may not cover the event page afterwards either.
    EXPECT_EQ(f.hc(1, 1, 2, kRam - 0x2000, 0x2000), CXVM_CROSSVM_EBUSY);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find("INIT of the consumed-event page at gpa 0xffffc"), std::string::npos) << log;
    EXPECT_TRUE(f.ramUntouchedExcept({{0x30000, 0x2000}, {kRam - 8, 8}}));
}

TEST(CrossVmConnectors, AckWithNothingInFlightAndBadEmits) {
    Fixture f;
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(f.hc(2, 2), CXVM_CROSSVM_ENOMSG);
    ASSERT_EQ(f.hc(2, 1, 0x6000), 0);
    EXPECT_EQ(f.hc(2, 2), CXVM_CROSSVM_ENOMSG);
    EXPECT_EQ(f.hc(3, 1, 0), CXVM_CROSSVM_ENOENT);
    EXPECT_EQ(f.hc(3, 1, 3), CXVM_CROSSVM_ENOENT);
    EXPECT_EQ(f.hc(3, 2, 1), CXVM_CROSSVM_EOPNOTSUPP);
    EXPECT_EQ(f.hc(3, 1, 2), 0);
    EXPECT_EQ(f.hc(3, 1, 2), 0);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find("ACK with no consumed event in flight (and no INIT yet)"), std::string::npos) << log;
    EXPECT_NE(log.find("EMIT of event id 3"), std::string::npos) << log;
    EXPECT_EQ(readCounter(f.emit1.get()), 0u);
    EXPECT_EQ(readCounter(f.emit2.get()), 2u);  // two EMITs, one counter
    EXPECT_FALSE(f.sink.level);
    EXPECT_TRUE(f.ramUntouchedExcept({{0x6000, 8}}));
}

TEST(CrossVmConnectors, WarningStormIsRateLimited) {
    Fixture f;
    ::testing::internal::CaptureStderr();
    for (int i = 0; i < 100'000; ++i) ASSERT_EQ(f.hc(3, 1, 99), CXVM_CROSSVM_ENOENT);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_LE(f.c->warnings().logged(), WarnLimiter::kBurst + 5u);
    EXPECT_GE(f.c->warnings().suppressed(), 100'000u - WarnLimiter::kBurst - 5u);
    EXPECT_LT(log.size(), 100u * 200u);
}

TEST(CrossVmConnectors, ConsumedEventsLatchBeforeInitThenArriveOneAtATime) {
    Fixture f;
    auto& ev = f.c->events();
    EXPECT_TRUE(ev.latch(0));   // id 1
    EXPECT_FALSE(ev.latch(0));  // coalesced
    EXPECT_TRUE(ev.latch(2));   // id 3
    ev.deliverPending();        // no INIT yet: stays latched
    EXPECT_EQ(ev.inFlight(), 0u);
    EXPECT_FALSE(f.sink.level);

    ASSERT_EQ(f.hc(2, 1, 0x6000), 0);  // INIT delivers the first at once
    EXPECT_EQ(ev.inFlight(), 1u);
    EXPECT_EQ(read32Of(f.mem, 0x6000), 1u);
    EXPECT_EQ(read32Of(f.mem, 0x6004), 42u);
    EXPECT_TRUE(f.sink.level);
    // While 1 is in flight: 1 again and 2 arrive; nothing changes until the ACK.
    EXPECT_TRUE(ev.latch(0));
    EXPECT_TRUE(ev.latch(1));
    ev.deliverPending();
    EXPECT_EQ(ev.inFlight(), 1u);

    std::vector<std::uint32_t> order;
    for (int i = 0; i < 3; ++i) {
        const unsigned changes = f.sink.changes;
        ASSERT_EQ(f.hc(2, 2), 0);
        // The line went down and up again: a fresh edge for the next event.
        EXPECT_EQ(f.sink.changes, changes + 2);
        EXPECT_TRUE(f.sink.level);
        order.push_back(read32Of(f.mem, 0x6000));
        EXPECT_EQ(order.back(), ev.inFlight());
    }
    // Round robin after 1: 2, 3, then 1 again.
    EXPECT_EQ(order, (std::vector<std::uint32_t>{2, 3, 1}));
    ASSERT_EQ(f.hc(2, 2), 0);
    EXPECT_FALSE(f.sink.level);
    EXPECT_EQ(read32Of(f.mem, 0x6000), 0u);  // CXVM_EVENT_NONE after the ACK
    EXPECT_EQ(ev.inFlight(), 0u);
    EXPECT_EQ(f.hc(2, 2), CXVM_CROSSVM_ENOMSG);
    EXPECT_EQ(ev.delivered(), 4u);
    EXPECT_EQ(ev.coalesced(), 1u);
    EXPECT_TRUE(f.ramUntouchedExcept({{0x6000, 8}}));
}

TEST(CrossVmConnectors, SecondInitRedeliversTheEventInFlight) {
    Fixture f;
    auto& ev = f.c->events();
    ASSERT_EQ(f.hc(2, 1, 0x6000), 0);
    ev.latch(1);
    ev.deliverPending();
    ASSERT_EQ(ev.inFlight(), 2u);
    ASSERT_EQ(f.hc(2, 1, 0x7000), 0);  // the module was reloaded: a new page
    EXPECT_EQ(ev.inFlight(), 2u);
    EXPECT_EQ(read32Of(f.mem, 0x7000), 2u);
    EXPECT_EQ(read32Of(f.mem, 0x7004), 42u);
    EXPECT_TRUE(f.sink.level);
}

TEST(CrossVmConnectors, BadConfigsThrowNamingTheObject) {
    hw::GuestMemory mem(kRam);
    RecordingSink sink;
    UniqueFd small = makeMemfd(0x1000, 0);
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
    auto build = [&](CrossVmConfig cfg) {
        CrossVmConnectors c(mem, hw::IrqLine(sink, 12), std::move(cfg));
    };
    auto message = [&](CrossVmConfig cfg) -> std::string {
        try {
            build(std::move(cfg));
        } catch (const Error& e) {
            return e.what();
        }
        return "no error";
    };
    CrossVmConfig a;
    a.dataports = {{0, "vm0.zero", 0x1000, small.get()}};
    EXPECT_NE(message(a).find("vm0.zero"), std::string::npos);
    CrossVmConfig b;
    b.dataports = {{1, "vm0.big", 0x2000, small.get()}};
    EXPECT_NE(message(b).find("vm0.big"), std::string::npos);
    CrossVmConfig c;
    c.emits = {{1, "vm0.e1", efd.get()}, {1, "vm0.e2", efd.get()}};
    EXPECT_NE(message(c).find("vm0.e2"), std::string::npos);
    CrossVmConfig d;
    d.consumes = {{1, "vm0.c", efd.get()}};
    EXPECT_THROW(CrossVmConnectors(mem, hw::IrqLine{}, d), Error);  // no IRQ line
}

TEST(IsaIrqLines, SharedLineIsTheOrOfItsSources) {
    struct PerLine final : hw::IrqSink {
        bool level[16] = {};
        unsigned calls = 0;
        void setIrqLevel(unsigned l, bool v) override {
            level[l] = v;
            ++calls;
        }
    } pic;
    IsaIrqLines lines(pic);
    hw::IrqLine aux = lines.claim(12), cross = lines.claim(12), other = lines.claim(4);
    cross.raise();
    EXPECT_TRUE(pic.level[12]);
    aux.pulse();  // the i8042's edge while the cross-VM source holds the line
    EXPECT_TRUE(pic.level[12]);
    EXPECT_EQ(pic.calls, 1u);  // the OR never changed
    other.raise();
    EXPECT_TRUE(pic.level[4]);
    aux.raise();
    cross.lower();
    EXPECT_TRUE(pic.level[12]);  // the i8042 still holds it
    aux.lower();
    EXPECT_FALSE(pic.level[12]);
    EXPECT_TRUE(pic.level[4]);
    EXPECT_THROW((void)lines.claim(16), Error);
}

}  // namespace
}  // namespace cxvm::vmm::crossvm
