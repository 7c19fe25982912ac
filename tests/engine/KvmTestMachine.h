#pragma once
// Test helpers over engine::KvmScratchMachine: skipping where /dev/kvm is unusable and
// a port device that records what the guest did.
#include "engine/KvmScratchMachine.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <vector>

namespace cxvm::engine::test {

inline constexpr std::uint64_t kCode = KvmScratchMachine::kCode;
using KvmTestMachine = KvmScratchMachine;

inline bool kvmUsable() {
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}
#define REQUIRE_KVM()                                                                     \
    do {                                                                                  \
        if (!::cxvm::engine::test::kvmUsable()) GTEST_SKIP() << "no usable /dev/kvm";     \
    } while (0)

// For tests of KVM's in-kernel irqchip: skip where KVM has none.
#define REQUIRE_IN_KERNEL_IRQCHIP()                                                       \
    do {                                                                                  \
        REQUIRE_KVM();                                                                    \
        if (::cxvm::engine::KvmSystem().capability(KVM_CAP_IRQCHIP) <= 0)                 \
            GTEST_SKIP() << "no in-kernel irqchip";                                       \
    } while (0)

inline KvmOptions inKernelIrqchip() {
    KvmOptions o;
    o.irqchip = IrqChipMode::InKernel;
    return o;
}

// Records port writes and answers reads with a fixed value.
struct RecordingPort final : hw::IoDevice {
    struct Access {
        std::uint16_t port;
        unsigned size;
        std::uint32_t value;
    };
    std::vector<Access> writes;
    std::uint32_t readValue = 0;
    unsigned reads = 0;
    std::uint32_t ioRead(std::uint16_t, unsigned) override {
        ++reads;
        return readValue;
    }
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override {
        writes.push_back({port, size, value});
    }
    std::string_view name() const override { return "test-port"; }
};

}  // namespace cxvm::engine::test
