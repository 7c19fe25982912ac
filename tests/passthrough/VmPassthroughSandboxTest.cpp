// The VM instance's seccomp allowlist with passthrough (runtime/src/sandbox.c,
// CXVM_SANDBOX_VM_PASSTHROUGH; docs/passthrough.md "System runs"): the VFIO ioctls a
// running VM makes are allowed on the descriptors named to the filter only, everything
// else passthrough needs (pread/pwrite on the device fd, mmap of it, eventfds) is
// allowed, and what was refused before still is. Each case runs in a forked child, as
// in a VM instance process; a refused call kills it with SIGSYS. The interp engine's
// filter (no CXVM_SANDBOX_VM_ANY_IOCTL): the kvm engine's admits every ioctl anyway.
// No VFIO device is needed: /dev/null stands in for the descriptors, so an allowed VFIO
// ioctl fails with ENOTTY and a refused one never returns.
extern "C" {
#include <camkes/runtime.h>
}
#include <fcntl.h>
#include <linux/vfio.h>
#include <seccomp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <functional>

namespace {

struct Fds {
    int device = -1, container = -1, other = -1;
};

// Runs `body` in a child under the VM filter (`flags`, the passthrough descriptors when
// `withVfio`); returns the wait status. Exit 0: body returned true; 1: false; 2: no filter.
int underFilter(int flags, bool withVfio, const std::function<bool(const Fds&)>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        Fds f;
        f.device = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        f.container = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        f.other = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        const cxvm_sandbox_vfio vfio{&f.device, 1, f.container};
        void* ctx = cxvm_sandbox_vm_filter_vfio(flags, withVfio ? &vfio : nullptr);
        if (!ctx || seccomp_load(ctx) != 0) ::_exit(2);
        seccomp_release(ctx);
        ::_exit(body(f) ? 0 : 1);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    return st;
}

// An ioctl that the filter let through: /dev/null answers ENOTTY.
bool passedThrough(int fd, unsigned long request) {
    alignas(8) std::array<std::uint8_t, 64> arg{};
    return ::ioctl(fd, request, arg.data()) == -1 && errno == ENOTTY;
}

void expectAllowed(int st) {
    ASSERT_TRUE(WIFEXITED(st)) << "killed by signal " << (WIFSIGNALED(st) ? WTERMSIG(st) : 0)
                               << " (SIGSYS: a call passthrough needs is refused)";
    EXPECT_EQ(WEXITSTATUS(st), 0) << (WEXITSTATUS(st) == 2 ? "the filter did not build or load" : "a call failed");
}

void expectKilled(int st) {
    ASSERT_TRUE(WIFSIGNALED(st)) << "the call was allowed (exit " << WEXITSTATUS(st) << ")";
    EXPECT_EQ(WTERMSIG(st), SIGSYS);
}

constexpr int kPassthrough = CXVM_SANDBOX_VM_PASSTHROUGH;

TEST(VmPassthroughSandbox, TheVfioIoctlsARunningVmMakesAreAllowedOnItsDescriptors) {
    expectAllowed(underFilter(kPassthrough, true, [](const Fds& f) {
        return passedThrough(f.device, VFIO_DEVICE_SET_IRQS) && passedThrough(f.device, VFIO_DEVICE_GET_REGION_INFO) &&
               passedThrough(f.device, VFIO_DEVICE_GET_IRQ_INFO) && passedThrough(f.device, VFIO_DEVICE_GET_INFO) &&
               passedThrough(f.device, VFIO_DEVICE_RESET) && passedThrough(f.container, VFIO_IOMMU_UNMAP_DMA);
    }));
}

TEST(VmPassthroughSandbox, BarAccessMmapAndEventfdsAreAllowed) {
    expectAllowed(underFilter(kPassthrough, true, [](const Fds& f) {
        std::array<std::uint8_t, 4> b{};
        const bool rw = ::pread(f.device, b.data(), b.size(), 0x1000) == 0 &&
                        ::pwrite(f.device, b.data(), b.size(), 0x1000) == static_cast<ssize_t>(b.size());
        // A BAR is mmap()ed MAP_SHARED from the device fd: the call gets through (/dev/null
        // cannot be mapped: ENODEV, not SIGSYS).
        errno = 0;
        void* m = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f.device, 0);
        const bool mapped = m == MAP_FAILED ? errno == ENODEV : ::munmap(m, 4096) == 0;
        const int e = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        std::uint64_t one = 1;
        const bool ev = e >= 0 && ::write(e, &one, sizeof one) == sizeof one && ::read(e, &one, sizeof one) == sizeof one;
        return rw && mapped && ev;
    }));
}

TEST(VmPassthroughSandbox, VfioIoctlsOnAnotherDescriptorKill) {
    expectKilled(underFilter(kPassthrough, true, [](const Fds& f) { return passedThrough(f.other, VFIO_DEVICE_SET_IRQS); }));
    // The device's request on the container and the container's on the device.
    expectKilled(underFilter(kPassthrough, true, [](const Fds& f) { return passedThrough(f.container, VFIO_DEVICE_SET_IRQS); }));
    expectKilled(underFilter(kPassthrough, true, [](const Fds& f) { return passedThrough(f.device, VFIO_IOMMU_UNMAP_DMA); }));
}

TEST(VmPassthroughSandbox, SetUpIoctlsKillAfterTheSandbox) {
    // Mapping more memory for DMA, getting another device, joining a container: set-up
    // only, done before the sandbox.
    expectKilled(underFilter(kPassthrough, true, [](const Fds& f) { return passedThrough(f.container, VFIO_IOMMU_MAP_DMA); }));
    expectKilled(underFilter(kPassthrough, true, [](const Fds& f) { return passedThrough(f.container, VFIO_SET_IOMMU); }));
    expectKilled(underFilter(kPassthrough, true, [](const Fds& f) { return passedThrough(f.device, VFIO_GROUP_GET_DEVICE_FD); }));
    expectKilled(underFilter(kPassthrough, true, [](const Fds& f) { return passedThrough(f.device, VFIO_GROUP_SET_CONTAINER); }));
}

TEST(VmPassthroughSandbox, WithoutTheFlagVfioIoctlsKill) {
    expectKilled(underFilter(0, false, [](const Fds& f) { return passedThrough(f.device, VFIO_DEVICE_SET_IRQS); }));
}

TEST(VmPassthroughSandbox, WhatWasRefusedStaysRefused) {
    expectKilled(underFilter(kPassthrough, true, [](const Fds&) { return ::socket(AF_INET, SOCK_STREAM, 0) >= 0; }));
    expectKilled(underFilter(kPassthrough, true, [](const Fds&) { return ::fork() >= 0; }));
    // open fails politely (EACCES), as without passthrough: no new VFIO group or device.
    expectAllowed(underFilter(kPassthrough, true, [](const Fds&) {
        return ::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC) == -1 && errno == EACCES;
    }));
    // Another terminal ioctl than the console's few kills, as before.
    expectKilled(underFilter(kPassthrough, true, [](const Fds& f) { return passedThrough(f.device, TIOCSTI); }));
}

TEST(VmPassthroughSandbox, TheFlagAndTheDescriptorsMustAgree) {
    const int dev = 5;
    const cxvm_sandbox_vfio ok{&dev, 1, 6}, negative{&dev, 1, -1}, none{&dev, 0, 6};
    EXPECT_EQ(cxvm_sandbox_vm_filter_vfio(kPassthrough, nullptr), nullptr);
    EXPECT_EQ(cxvm_sandbox_vm_filter_vfio(0, &ok), nullptr);
    EXPECT_EQ(cxvm_sandbox_vm_filter_vfio(kPassthrough, &negative), nullptr);
    EXPECT_EQ(cxvm_sandbox_vm_filter_vfio(kPassthrough, &none), nullptr);
    EXPECT_EQ(cxvm_sandbox_vm_filter(kPassthrough), nullptr);
    void* ctx = cxvm_sandbox_vm_filter_vfio(kPassthrough, &ok);
    EXPECT_NE(ctx, nullptr);
    if (ctx) seccomp_release(ctx);
}

}  // namespace
