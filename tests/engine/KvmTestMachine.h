#pragma once
// A tiny machine for kvm-engine tests: 1 MiB RAM, buses, interrupt pins and one vCPU in
// flat 32-bit protected mode (or real mode after reset()). Guest code is hand-assembled
// bytes; each test says what its bytes are.
#include "engine/KvmEngine.h"
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/MmioBus.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>
#include <memory>
#include <vector>

namespace cxvm::engine::test {

inline constexpr std::uint64_t kCode = 0x1000;
inline constexpr std::uint64_t kGdt = 0x500;
inline constexpr std::uint64_t kIdt = 0x600;

// Skips the test where this host has no usable /dev/kvm.
inline bool kvmUsable() {
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}
#define REQUIRE_KVM()                                                  \
    do {                                                               \
        if (!::cxvm::engine::test::kvmUsable()) GTEST_SKIP() << "no usable /dev/kvm"; \
    } while (0)

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

struct KvmTestMachine {
    std::unique_ptr<hw::GuestMemory> memory = std::make_unique<hw::GuestMemory>(1 << 20);
    std::unique_ptr<hw::IoBus> io = std::make_unique<hw::IoBus>();
    hw::MmioBus mmio;
    hw::CpuInterruptPins pins;
    MachineBus bus{*memory, *io, mmio, pins};
    std::unique_ptr<KvmEngine> engine;
    std::unique_ptr<Vcpu> vcpu;

    explicit KvmTestMachine(KvmOptions options = {}) {
        engine = std::make_unique<KvmEngine>(bus, std::move(options));
        vcpu = engine->createVcpu(0);
    }

    void load(std::uint64_t gpa, std::initializer_list<std::uint8_t> bytes) {
        std::vector<std::uint8_t> v(bytes);
        memory->write(gpa, v);
    }

    // Flat 32-bit protected mode with a real GDT (null, code 0x08, data 0x10) and an
    // empty IDT at kIdt, starting at `rip`.
    void protectedMode(std::uint64_t rip = kCode) {
        const std::uint64_t gdt[3] = {0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull};
        std::vector<std::uint8_t> g(sizeof gdt);
        std::memcpy(g.data(), gdt, sizeof gdt);
        memory->write(kGdt, g);
        Sregs s = vcpu->sregs();
        auto flat = [](std::uint16_t sel, std::uint8_t type) {
            Segment seg;
            seg.selector = sel;
            seg.limit = 0xFFFFFFFF;
            seg.type = type;
            seg.present = 1;
            seg.s = 1;
            seg.db = 1;
            seg.g = 1;
            return seg;
        };
        s.cs = flat(0x08, 0xB);
        s.ds = s.es = s.fs = s.gs = s.ss = flat(0x10, 0x3);
        s.gdt = {kGdt, sizeof gdt - 1};
        s.idt = {kIdt, 0x100 * 8 - 1};
        s.cr0 = 0x11;
        vcpu->setSregs(s);
        Regs r{};
        r.rip = rip;
        r.rflags = 0x2;
        r.rsp = 0x8000;
        vcpu->setRegs(r);
    }

    // 32-bit interrupt gate for `vector` to `handler` in the IDT at kIdt.
    void interruptGate(std::uint8_t vector, std::uint32_t handler) {
        const std::uint64_t gate = (handler & 0xFFFFull) | (0x08ull << 16) | (0x8E00ull << 32) |
                                   (static_cast<std::uint64_t>(handler >> 16) << 48);
        std::vector<std::uint8_t> b(8);
        std::memcpy(b.data(), &gate, 8);
        memory->write(kIdt + vector * 8ull, b);
    }
};

}  // namespace cxvm::engine::test
