// kvm engine benchmarks (docs/kvm.md "Numbers"). Meant for a hardware-assisted KVM: the
// nested L1 (scripts/nested/run-kvm-bench) or a real host. Every number comes with its
// peer, measured in the same run:
//   1. exit round trip: a guest port write to a no-op device (port 0x80), cxvm's kvm
//      engine vs `qemu-system-x86_64 -accel kvm` running the same real-mode ROM;
//   2. interrupt round trip: cxvm's userspace 8259 + KVM_INTERRUPT vs KVM's in-kernel
//      irqchip (the engine's IRQ choice), same guest;
//   3. memory: cxvm's private memory beyond guest RAM vs QEMU's peak RSS on the same
//      guest, and Firecracker's stated bound (5 MiB per VM).
#include "engine/EngineSelect.h"
#include "engine/HypercallGate.h"
#include "engine/KvmScratchMachine.h"
#include "hw/Pic8259.h"
#include "hw/Port80.h"
#include "util/Error.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace {

using namespace cxvm;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kRomBase = 0xFFFF0000;
constexpr std::uint16_t kDebugExitPort = 0xF4;  // QEMU isa-debug-exit: ends the peer

// 64 KiB BIOS ROM, real mode: at the reset vector jmp to 0; there
//   mov ecx, N ; 1: out 0x80, al ; dec ecx ; jnz 1b ; mov al, 0 ; out 0xf4, al ; hlt
std::vector<std::uint8_t> exitLoopRom(std::uint32_t iterations) {
    std::vector<std::uint8_t> rom(65536, 0xF4);
    const std::uint8_t code[] = {0x66, 0xB9, 0, 0, 0, 0, 0xE6, 0x80, 0x66, 0x49, 0x75, 0xFA,
                                 0xB0, 0x00, 0xE6, kDebugExitPort, 0xF4};
    std::memcpy(rom.data(), code, sizeof code);
    std::memcpy(rom.data() + 2, &iterations, 4);
    rom[0xFFF0] = 0xE9;  // jmp near 0x0000 (rel16 from 0xFFF3 wraps to 0)
    rom[0xFFF1] = 0x0D;
    rom[0xFFF2] = 0x00;
    return rom;
}

struct NoOpPort final : hw::IoDevice {
    std::uint32_t ioRead(std::uint16_t, unsigned) override { return 0; }
    void ioWrite(std::uint16_t, unsigned, std::uint32_t) override {}
    std::string_view name() const override { return "no-op"; }
};

double cxvmExitLoopSeconds(std::uint32_t iterations) {
    engine::KvmScratchMachine m;
    hw::Port80 port80;
    port80.attach(*m.io);
    NoOpPort debugExit;
    m.io->attach(kDebugExitPort, 1, debugExit);
    m.memory->addRom(kRomBase, exitLoopRom(iterations), "bench-rom");
    m.vcpu->reset();
    const auto t0 = Clock::now();
    engine::Exit e = m.vcpu->run(0);
    const auto t1 = Clock::now();
    if (e.reason != engine::ExitReason::Halt) throw Error("exit loop guest did not halt");
    return std::chrono::duration<double>(t1 - t0).count();
}

struct PeerRun {
    double seconds;
    long maxRssKiB;
};

// qemu-system-x86_64 -accel kvm on the same ROM; nullopt when QEMU is absent or fails.
std::optional<PeerRun> qemuExitLoop(const std::string& qemu, std::uint32_t iterations) {
    char path[] = "/tmp/cxvm-bench-rom-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0) return std::nullopt;
    auto rom = exitLoopRom(iterations);
    const bool wrote = ::write(fd, rom.data(), rom.size()) == static_cast<ssize_t>(rom.size());
    ::close(fd);
    std::optional<PeerRun> result;
    if (wrote) {
        // vapic off as in bench/kvm/boot-to-login.sh (nested TCG aborts with it).
        std::vector<std::string> args = {qemu, "-accel", "kvm", "-global", "kvm-apic.vapic=false",
                                         "-machine", "pc", "-bios", path, "-m", "16",
                                         "-display", "none", "-nodefaults", "-no-reboot", "-device",
                                         fmt::format("isa-debug-exit,iobase={:#x},iosize=1", kDebugExitPort)};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        pid_t pid = -1;
        const auto t0 = Clock::now();
        if (::posix_spawnp(&pid, qemu.c_str(), &fa, nullptr, argv.data(), environ) == 0) {
            int status = 0;
            rusage ru{};
            ::wait4(pid, &status, 0, &ru);
            const auto t1 = Clock::now();
            // isa-debug-exit makes QEMU exit with (value << 1) | 1 = 1.
            if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
                result = PeerRun{std::chrono::duration<double>(t1 - t0).count(), ru.ru_maxrss};
            else
                std::fprintf(stderr, "kvm_bench: %s exited with status %#x\n", qemu.c_str(), status);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    ::unlink(path);
    return result;
}

// Trigger device: a write to port 0x90 pulses IRQ 1 on whichever controller is wired.
struct IrqTrigger final : hw::IoDevice {
    hw::IrqSink* sink = nullptr;
    std::uint32_t ioRead(std::uint16_t, unsigned) override { return 0; }
    void ioWrite(std::uint16_t, unsigned, std::uint32_t) override {
        sink->setIrqLevel(1, true);
        sink->setIrqLevel(1, false);
    }
    std::string_view name() const override { return "irq-trigger"; }
};

// Per-interrupt cost: the guest pulses IRQ1 (one port exit), takes the interrupt, EOIs
// the 8259 (an exit with the userspace PIC, none in-kernel) and IRETs; N times.
double irqLoopSeconds(engine::IrqChipMode mode, std::uint32_t iterations) {
    engine::KvmOptions opt;
    opt.irqchip = mode;
    engine::KvmScratchMachine m(opt);
    std::unique_ptr<hw::Pic8259Pair> pic;
    IrqTrigger trigger;
    if (mode == engine::IrqChipMode::Userspace) {
        pic = std::make_unique<hw::Pic8259Pair>(m.pins);
        pic->attach(*m.io);
        trigger.sink = pic.get();
    } else {
        trigger.sink = m.engine->inKernelIrqSink();
    }
    m.io->attach(0x90, 1, trigger);
    m.interruptGate(0x21, 0x1800);
    m.load(0x1800, {0xB0, 0x20, 0xE6, 0x20, 0xCF});  // mov al, 0x20 ; out 0x20, al ; iret
    // ICW1..4 (vector base 0x20), unmask IRQ1 only ; mov ecx, N ; sti ;
    // 1: out 0x90, al ; dec ecx ; jnz 1b ; out 0xE0, eax (hypercall gate: back to us; a
    // HLT would block in the kernel with the in-kernel irqchip)
    std::vector<std::uint8_t> code = {0xB0, 0x11, 0xE6, 0x20, 0xB0, 0x20, 0xE6, 0x21, 0xB0, 0x04,
                                      0xE6, 0x21, 0xB0, 0x01, 0xE6, 0x21, 0xB0, 0xFD, 0xE6, 0x21,
                                      0xB9, 0, 0, 0, 0, 0xFB, 0xE6, 0x90, 0x49, 0x75, 0xFB, 0xE7,
                                      engine::kHypercallPort};
    std::memcpy(code.data() + 21, &iterations, 4);
    m.load(engine::KvmScratchMachine::kCode, code);
    m.protectedMode();
    const auto t0 = Clock::now();
    engine::Exit e = m.vcpu->run(0);
    const auto t1 = Clock::now();
    if (e.reason != engine::ExitReason::Hypercall) throw Error("interrupt loop guest did not finish");
    if (m.vcpu->regs().rcx != 0) throw Error("interrupt loop guest stopped early");
    return std::chrono::duration<double>(t1 - t0).count();
}

// Private (non-shared) resident memory of this process: anonymous + file-backed pages.
// Guest RAM is a MAP_SHARED memfd and counts as RssShmem, so it is excluded.
long privateRssKiB() {
    std::ifstream f("/proc/self/status");
    std::string key;
    long anon = 0, file = 0;
    while (f >> key) {
        if (key == "RssAnon:") f >> anon;
        else if (key == "RssFile:") f >> file;
        std::getline(f, key);
    }
    return anon + file;
}

double perOp(double tLong, double tShort, std::uint32_t n) { return (tLong - tShort) / n; }

}  // namespace

int main(int argc, char** argv) {
    std::uint32_t exits = 100000, irqs = 50000, rounds = 3;
    std::string qemu = "qemu-system-x86_64";
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--exits") exits = static_cast<std::uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
        else if (a == "--irqs") irqs = static_cast<std::uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
        else if (a == "--rounds") rounds = static_cast<std::uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
        else if (a == "--qemu") qemu = argv[i + 1];
        else {
            std::fprintf(stderr, "usage: kvm_bench [--exits N] [--irqs N] [--rounds R] [--qemu PATH]\n");
            return 2;
        }
    }
    rounds = std::max<std::uint32_t>(rounds, 1);
    try {
        engine::EngineSelection sel = engine::selectEngine(engine::EngineChoice::Auto);
        std::printf("kvm_bench: %s\n", sel.reason.c_str());
        if (sel.kind != engine::EngineKind::Kvm) {
            std::printf("kvm_bench: this KVM is not hardware-assisted; run it in the nested L1 "
                        "(scripts/nested/run-kvm-bench)\n");
            return 0;
        }
        // Nested KVM's exit cost follows the host's load: each pair is measured `rounds`
        // times, alternating, and the best of each side is compared.
        double cxvmExit = 1e9, qemuExit = 1e9;
        long cxvmRss = 0, qemuRssKiB = 0;
        bool qemuOk = true;
        for (std::uint32_t r = 0; r < rounds; ++r) {
            const double c1 = cxvmExitLoopSeconds(1), cN = cxvmExitLoopSeconds(exits);
            cxvmExit = std::min(cxvmExit, perOp(cN, c1, exits));
            cxvmRss = privateRssKiB();
            if (!qemuOk) continue;
            auto q1 = qemuExitLoop(qemu, 1);
            auto qN = q1 ? qemuExitLoop(qemu, exits) : std::nullopt;
            if (!q1 || !qN) {
                qemuOk = false;
                continue;
            }
            qemuExit = std::min(qemuExit, perOp(qN->seconds, q1->seconds, exits));
            qemuRssKiB = std::max(qemuRssKiB, q1->maxRssKiB);
        }
        std::printf("exit round trip (out to a no-op port, %u exits, best of %u): cxvm kvm %.2f us\n", exits,
                    rounds, cxvmExit * 1e6);
        if (qemuOk)
            std::printf("exit round trip: qemu -accel kvm %.2f us; cxvm/qemu = %.2f\n", qemuExit * 1e6,
                        cxvmExit / qemuExit);
        else
            std::printf("exit round trip: qemu peer unavailable (%s)\n", qemu.c_str());

        double user = 1e9, kern = 1e9;
        for (std::uint32_t r = 0; r < rounds; ++r) {
            const double u1 = irqLoopSeconds(engine::IrqChipMode::Userspace, 1);
            const double uN = irqLoopSeconds(engine::IrqChipMode::Userspace, irqs);
            const double k1 = irqLoopSeconds(engine::IrqChipMode::InKernel, 1);
            const double kN = irqLoopSeconds(engine::IrqChipMode::InKernel, irqs);
            user = std::min(user, perOp(uN, u1, irqs));
            kern = std::min(kern, perOp(kN, k1, irqs));
        }
        std::printf("interrupt round trip (%u IRQs: trigger exit, delivery, EOI, IRET; best of %u): "
                    "userspace 8259 %.2f us, in-kernel irqchip %.2f us; userspace/in-kernel = %.2f\n",
                    irqs, rounds, user * 1e6, kern * 1e6, user / kern);

        std::printf("memory beyond guest RAM: cxvm kvm engine process %.1f MiB private RSS", cxvmRss / 1024.0);
        if (qemuOk) std::printf("; qemu peak RSS %.1f MiB; cxvm/qemu = %.2f", qemuRssKiB / 1024.0,
                                static_cast<double>(cxvmRss) / static_cast<double>(qemuRssKiB));
        std::printf("; Firecracker's stated bound 5 MiB per VM\n");
    } catch (const Error& e) {
        std::fprintf(stderr, "kvm_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
