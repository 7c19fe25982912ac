// Whole systems run as processes: the fixtures of fixtures/Fixtures.cpp, built from
// components/. Each test runs a system to its end and checks what the components
// printed and what cxvm reported.
#include "Fixtures.h"
#include "system/RunApp.h"
#include "util/Error.h"
#include "util/UniqueFd.h"

#include <gmock/gmock.h>
#include "ReadAll.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <sys/wait.h>
#include <thread>

namespace cxvm::system {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct SystemRun {
    int status = -1;
    std::string out, err;
    std::chrono::milliseconds took{};
};


SystemRun runFixture(const adl::System& sys, std::string_view fixture) {
    UniqueFd out(::memfd_create("out", MFD_CLOEXEC)), err(::memfd_create("err", MFD_CLOEXEC));
    RunAppOptions o;
    o.buildDir = std::filesystem::path(CXVM_FIXTURE_DIR) / fixture;
    o.stdoutFd = out.get();
    o.stderrFd = err.get();
    o.stopGrace = std::chrono::milliseconds(500);
    SystemRun r;
    auto t0 = std::chrono::steady_clock::now();
    r.status = runApp(sys, o);
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    r.out = test::readAll(out.get());
    r.err = test::readAll(err.get());
    return r;
}

TEST(RunApp, RpcMarshalsEveryParameterForm) {
    SystemRun r = runFixture(test::fixture("rpc"), "rpc");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("client: client: greeting=[hi \"there\"] times=3\n"));
    EXPECT_THAT(r.out, HasSubstr("server: say(\"hello world\")\n"));
    EXPECT_THAT(r.out, HasSubstr("client: say=11 sum=42 count=8\n"));
    EXPECT_THAT(r.out, HasSubstr("client: shout=QUIET out=out! io=io+\n"));
    EXPECT_THAT(r.out, HasSubstr("client: total=4.0 ys=3:0,10,20 zs=2:6,8\n"));
    EXPECT_THAT(r.out, HasSubstr("client: big=1\n"));
}

TEST(RunApp, NotificationsCoalesceLatchAndCallBackOnce) {
    SystemRun r = runFixture(test::fixture("events"), "events");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("receiver: coalesced: first poll=1 second poll=0\n"));
    EXPECT_THAT(r.out, HasSubstr("receiver: latched: wait returned\n"));
    EXPECT_THAT(r.out, HasSubstr("receiver: after wait: poll=0\n"));
    // a second registration while one is pending is refused
    EXPECT_THAT(r.out, HasSubstr("receiver: reg_callback=0 again=-1\n"));
    for (int i = 1; i <= 3; ++i)
        EXPECT_THAT(r.out, HasSubstr(fmt::format("receiver: callback {} arg=cookie\n", i)));
    EXPECT_THAT(r.out, HasSubstr("receiver: callbacks: 3\n"));
}

// "a: fds: 0=chr 1=pipe 2=pipe 3=anon 4=socket" -> {0:chr, ...}
std::map<int, std::string> fdTable(const std::string& out, const std::string& inst) {
    std::map<int, std::string> t;
    std::smatch m;
    std::regex line(inst + ": fds:([^\n]*)\n");
    if (!std::regex_search(out, m, line)) return t;
    std::string rest = m[1];
    std::regex entry(" (\\d+)=(\\w+)");
    for (auto it = std::sregex_iterator(rest.begin(), rest.end(), entry); it != std::sregex_iterator(); ++it)
        t[std::stoi((*it)[1])] = (*it)[2];
    return t;
}

TEST(RunApp, EachProcessHoldsOnlyItsOwnConnections) {
    SystemRun r = runFixture(test::fixture("probe"), "probe");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("ctl: all probes reported\n"));
    // stdin is /dev/null, stdout and stderr the relay's pipes, then the connections:
    // a emits e and calls the controller; b consumes e, shares d with c and calls; ...
    const std::map<std::string, std::vector<std::string>> expected{
        {"a", {"anon", "socket"}},
        {"b", {"memfd", "anon", "socket"}},
        {"c", {"memfd", "socket"}},
        {"lonely", {"socket"}},
    };
    for (const auto& [inst, conns] : expected) {
        auto t = fdTable(r.out, inst);
        ASSERT_EQ(t.size(), 3 + conns.size()) << inst << "\n" << r.out;
        EXPECT_EQ(t[0], "chr") << inst;
        EXPECT_EQ(t[1], "pipe") << inst;
        EXPECT_EQ(t[2], "pipe") << inst;
        std::multiset<std::string> got, want(conns.begin(), conns.end());
        for (const auto& [fd, kind] : t)
            if (fd > 2) got.insert(kind);
        EXPECT_EQ(got, want) << inst;
        EXPECT_THAT(r.out, HasSubstr(inst + ": open: denied\n"));
        EXPECT_THAT(r.out, HasSubstr("ctl: done: " + inst + "\n"));
    }
}

TEST(RunApp, CrashIsReportedWithSignalAndLastOutput) {
    auto sys = test::subsystem(test::fixture("crash"), {"segv", "idle"});
    SystemRun r = runFixture(sys, "crash");
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.out, HasSubstr("segv: starting\n"));
    EXPECT_THAT(r.out, HasSubstr("segv: last words without a newline\n"));
    EXPECT_THAT(r.err, HasSubstr("segv (Crasher, pid "));
    EXPECT_THAT(r.err, HasSubstr("crashed: killed by signal 11 (SIGSEGV"));
    // the bystander was stopped, not left running, and quickly
    EXPECT_LT(r.took.count(), 5000);
}

TEST(RunApp, SandboxStopsForbiddenSystemCalls) {
    SystemRun r = runFixture(test::subsystem(test::fixture("crash"), {"sockets", "idle"}), "crash");
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.err, HasSubstr("sockets: cxvm runtime: system call socket (41) is not allowed"));
    EXPECT_THAT(r.err, HasSubstr("killed by signal 31 (SIGSYS"));
    EXPECT_THAT(r.out, Not(HasSubstr("socket returned")));

    SystemRun f = runFixture(test::subsystem(test::fixture("crash"), {"forker", "idle"}), "crash");
    EXPECT_EQ(f.status, 1);
    EXPECT_THAT(f.err, HasSubstr("forker: cxvm runtime: system call clone"));
    EXPECT_THAT(f.out, Not(HasSubstr("fork returned")));

    SystemRun p = runFixture(test::subsystem(test::fixture("crash"), {"passer", "idle"}), "crash");
    EXPECT_EQ(p.status, 1);
    EXPECT_THAT(p.err, HasSubstr("passer: cxvm runtime: system call sendmsg"));
    EXPECT_THAT(p.out, Not(HasSubstr("sendmsg returned")));
}

TEST(RunApp, CxxComponentRunsInTheSandbox) {
    SystemRun r = runFixture(test::fixture("cxx"), "cxx");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("cxx: cxx: threads=4 exception=thrown and caught\n"));
}

TEST(RunApp, ControlExitStatusIsReturned) {
    SystemRun r = runFixture(test::subsystem(test::fixture("crash"), {"exiter", "idle"}), "crash");
    EXPECT_EQ(r.status, 3);
    EXPECT_THAT(r.err, HasSubstr("exiter: giving up\n"));
    EXPECT_THAT(r.err, HasSubstr("exiter (Crasher) exited with status 3"));
}

TEST(RunApp, RefusesWhatItCannotRun) {
    auto sys = test::fixture("rpc");
    RunAppOptions o;
    o.buildDir = "/nonexistent";
    EXPECT_THROW(
        {
            try {
                runApp(sys, o);
            } catch (const Error& e) {
                EXPECT_THAT(e.what(), HasSubstr("component type Client (instance client) is not built"));
                throw;
            }
        },
        Error);
    sys.types[0].isVm = true;
    o.buildDir = std::filesystem::path(CXVM_FIXTURE_DIR) / "rpc";
    EXPECT_THROW(
        {
            try {
                runApp(sys, o);
            } catch (const Error& e) {
                // a VM runs now, but has no way to make procedure calls
                EXPECT_THAT(e.what(), HasSubstr("client.h: a VM cannot take part in a procedure "
                                                "connection (uses Hello)"));
                throw;
            }
        },
        Error);
}

}  // namespace
}  // namespace cxvm::system

namespace cxvm::system {
namespace {

TEST(RunApp, CtrlCStopsEverythingCleanly) {
    // runApp takes SIGINT through a signalfd: run it in a child process to signal it.
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // Held pending until runApp's signalfd takes it, however slow the start.
        sigset_t intr;
        sigemptyset(&intr);
        sigaddset(&intr, SIGINT);
        ::sigprocmask(SIG_BLOCK, &intr, nullptr);
        ::close(p[0]);
        RunAppOptions o;
        o.buildDir = std::filesystem::path(CXVM_FIXTURE_DIR) / "crash";
        o.stdoutFd = p[1];
        o.stderrFd = p[1];
        // only passive components: nothing ends it but a signal
        auto sys = test::subsystem(test::fixture("crash"), {"idle", "idle2"});
        ::_exit(runApp(sys, o));
    }
    ::close(p[1]);
    UniqueFd out(p[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(pid, SIGINT), 0);
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 130);
    EXPECT_LT(took, std::chrono::seconds(3));
    std::string text(4096, '\0');
    ssize_t n = ::read(out.get(), text.data(), text.size());
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    EXPECT_THAT(text, HasSubstr("cxvm: interrupted: stopping the system"));
    EXPECT_THAT(text, Not(HasSubstr("crashed")));
}

}  // namespace
}  // namespace cxvm::system
