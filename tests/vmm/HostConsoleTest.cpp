#include "util/Error.h"
#include "vmm/HostConsole.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace cxvm::vmm {
namespace {

std::string drain(int fd) {
    std::string s;
    char buf[4096];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<std::size_t>(n));
    return s;
}

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Pipe {
    int r = -1, w = -1;
    Pipe() {
        int p[2];
        if (pipe(p) == 0) {
            r = p[0];
            w = p[1];
        }
    }
    ~Pipe() {
        if (r >= 0) close(r);
        if (w >= 0) close(w);
    }
};

TEST(HostConsole, OutputIsBufferedUntilFlush) {
    Pipe out;
    HostConsole::Options o;
    o.inFd = -1;
    o.outFd = out.w;
    HostConsole c(o);
    c.write(bytes("login: "));
    EXPECT_EQ(drain(out.r), "");  // nothing written per byte
    c.flush();
    EXPECT_EQ(drain(out.r), "login: ");
}

TEST(HostConsole, LargeOutputFlushesInChunks) {
    Pipe out;
    HostConsole::Options o;
    o.inFd = -1;
    o.outFd = out.w;
    HostConsole c(o);
    for (int i = 0; i < 5000; ++i) c.write(static_cast<std::uint8_t>('a' + i % 26));
    std::string got = drain(out.r);
    EXPECT_GE(got.size(), 4096u);
    EXPECT_LT(got.size(), 5000u);
    c.flush();
    EXPECT_EQ(got.size() + drain(out.r).size(), 5000u);
}

TEST(HostConsole, SerialLogGetsEveryByte) {
    char path[] = "/tmp/cxvm-serial-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    {
        HostConsole::Options o;
        o.inFd = -1;
        o.outFd = -1;
        o.serialLogPath = path;
        HostConsole c(o);
        c.write(bytes("Welcome to cxvm\r\n"));
    }  // the destructor flushes
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), "Welcome to cxvm\r\n");
    unlink(path);
}

TEST(HostConsole, SerialLogInUnwritablePlaceIsAnError) {
    HostConsole::Options o;
    o.inFd = -1;
    o.serialLogPath = "/nonexistent-dir/serial.log";
    EXPECT_THROW(HostConsole c(o), Error);
}

TEST(HostConsole, EscapeQuitAndDoubleCtrlA) {
    HostConsole::Options o;
    o.inFd = -1;
    o.outFd = -1;
    o.escapeOnPipes = true;
    HostConsole c(o);
    c.feedInput(bytes("ab\x01\x01" "c"));
    EXPECT_EQ(std::string(c.pendingInput().begin(), c.pendingInput().end()), "ab\x01" "c");
    EXPECT_FALSE(c.quitRequested());
    c.feedInput(bytes("\x01x"));
    EXPECT_TRUE(c.quitRequested());
}

TEST(HostConsole, PipesPassCtrlAThrough) {
    HostConsole::Options o;
    o.inFd = -1;
    o.outFd = -1;
    HostConsole c(o);
    c.feedInput(bytes("\x01x"));
    EXPECT_FALSE(c.quitRequested());
    EXPECT_EQ(c.pendingInput().size(), 2u);
}

TEST(HostConsole, EofStopsReadingOnly) {
    Pipe in;
    HostConsole::Options o;
    o.inFd = in.r;
    o.outFd = -1;
    HostConsole c(o);
    ASSERT_EQ(write(in.w, "ls\n", 3), 3);
    close(in.w);
    in.w = -1;
    c.pollInput();
    c.pollInput();
    EXPECT_EQ(c.pendingInput().size(), 3u);
    EXPECT_EQ(c.inputFd(), -1);
    EXPECT_FALSE(c.quitRequested());
}

}  // namespace
}  // namespace cxvm::vmm
