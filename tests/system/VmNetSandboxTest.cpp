// A VM instance's seccomp allowlist with network interfaces (runtime/src/sandbox.c,
// CXVM_SANDBOX_VM_NET): slirp keeps working under it. In a forked child, as in a VM
// instance process: the backend (and its thread) is created first, then the filter is
// loaded for every thread (TSYNC); a host connection to a hostfwd port must then be
// accepted by slirp on its thread and turned into frames for the guest (an ARP request
// for 10.0.2.15 or the SYN). A refused system call kills the child with SIGSYS.
// Without CXVM_SANDBOX_VM_NET the same child must die of SIGSYS: the sockets are not
// allowed to VMs without NICs.
#include "net/NetOptions.h"
#include "net/SlirpBackend.h"

extern "C" {
#include <camkes/runtime.h>
}
#include <arpa/inet.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

namespace {

using namespace cxvm;

// Exit 0: slirp produced frames for the guest after a host connection; 1: it did not.
int child(int flags, std::uint16_t port) {
    const net::NicOptions o =
        net::parseNetSpec(fmt::format("user,hostfwd=tcp:127.0.0.1:{}-:22", port), "--net (test)");
    net::SlirpBackend backend(o, "net0 (user)");
    backend.start([] {});
    void* ctx = cxvm_sandbox_vm_filter(flags);
    if (!ctx || seccomp_load(ctx) != 0) return std::fprintf(stderr, "cannot load the filter\n"), 2;
    seccomp_release(ctx);
    // The test's own connection (this thread is sandboxed too).
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
        if (!backend.rx().empty()) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return 1;
}

int runChild(int flags, std::uint16_t port) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(child(flags, port));
    int st = 0;
    ::waitpid(pid, &st, 0);
    return st;
}

std::uint16_t freePort() {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

TEST(VmNetSandbox, SlirpWorksUnderTheVmFilterWithNet) {
    const int st = runChild(CXVM_SANDBOX_VM_NET, freePort());
    ASSERT_TRUE(WIFEXITED(st)) << "the child died of signal " << (WIFSIGNALED(st) ? WTERMSIG(st) : 0)
                               << " (SIGSYS: a system call slirp needs is not allowed)";
    EXPECT_EQ(WEXITSTATUS(st), 0) << "slirp made no frames for the guest from the host connection";
}

TEST(VmNetSandbox, SocketsAreRefusedWithoutNet) {
    const int st = runChild(0, freePort());
    ASSERT_TRUE(WIFSIGNALED(st)) << "a VM without NICs could open sockets (exit " << WEXITSTATUS(st) << ")";
    EXPECT_EQ(WTERMSIG(st), SIGSYS);
}

}  // namespace
