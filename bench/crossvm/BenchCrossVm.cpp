// bench_crossvm: what a cross-VM event and a user hypercall cost on the interp or kvm
// engine, each as a ratio to a peer measured in the same run.
//
//   (a) round trip: the guest EMITs (token 3), a native thread waits on that eventfd
//       and writes the consumed event's eventfd back, the waiter thread latches it and
//       kicks the VM, the guest (in HLT) takes IRQ 12 and ACKs — versus two native
//       threads ping-ponging over two eventfds.
//   (b) the seed's poke: hypercall 4 to a user handler (EAX handler and register
//       handler) — versus the cheapest guest exit, an OUT to an unused port.
//
//   build/bench/crossvm/bench_crossvm [--engine interp|kvm] [--rounds N] [--calls N]
//
// On kvm the guests use the port gate (`out 0xE0, eax`, the <mode>-port.bin builds):
// stock KVM answers vmcall itself. kvm needs /dev/kvm: here, scripts/nested/run-crossvm-bench
// runs it in the nested L1.
#include "util/Error.h"
#include "util/Log.h"
#include "vmm/Vm.h"
#include "vmm/crossvm/CrossVm.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

using namespace cxvm;
using Clock = std::chrono::steady_clock;

namespace {

engine::EngineChoice gEngine = engine::EngineChoice::Interp;

// The hypercall guests come in two gates: vmcall (interp) and the port gate (kvm).
std::vector<std::uint8_t> loadGuest(const char* mode, bool hypercalls = true) {
    const bool port = hypercalls && gEngine == engine::EngineChoice::Kvm;
    const std::string path =
        std::string(CXVM_BENCH_CROSSVM_DIR) + "/" + mode + (port ? "-port" : "") + ".bin";
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error::format("bench_crossvm: {} missing (build the bench_crossvm target)", path);
    return {std::istreambuf_iterator<char>(f), {}};
}

vmm::VmConfig config() {
    vmm::VmConfig cfg;
    cfg.ramBytes = 4 << 20;
    cfg.engine = gEngine;
    cfg.console.inFd = -1;
    cfg.console.outFd = -1;
    return cfg;
}

void start(vmm::Vm& vm, const std::vector<std::uint8_t>& code, std::uint32_t iterations) {
    vm.memory().write(0x1000, code);
    vm.vcpu().reset();
    engine::Sregs s = vm.vcpu().sregs();
    for (engine::Segment* seg : {&s.cs, &s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
        seg->selector = 0;
        seg->base = 0;
    }
    vm.vcpu().setSregs(s);
    engine::Regs r = vm.vcpu().regs();
    r.rip = 0x1000;
    r.rsp = 0x7000;
    r.rbp = iterations;
    r.rflags = 0x2;
    vm.vcpu().setRegs(r);
}

double runGuest(vmm::Vm& vm) {
    const auto t0 = Clock::now();
    const vmm::GuestStop s = vm.run();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s.kind != vmm::StopKind::DebugExit)
        throw Error::format("bench_crossvm: guest stopped unexpectedly: {}", s.detail);
    return secs;
}

UniqueFd eventfd0() {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
    if (!fd) throwErrno("eventfd");
    return fd;
}

void waitAndClear(int fd) {
    std::uint64_t v;
    if (::read(fd, &v, 8) != 8) throwErrno("eventfd read");
}
void signal(int fd) {
    const std::uint64_t one = 1;
    if (::write(fd, &one, 8) != 8) throwErrno("eventfd write");
}

// µs per guest -> native -> guest round trip.
double crossVmRoundTrip(std::uint32_t rounds) {
    vmm::Vm vm(config());
    UniqueFd out = eventfd0(), in = eventfd0();
    vmm::CrossVmConfig cfg;
    cfg.emits = {{1, "bench.ping", out.get()}};
    cfg.consumes = {{1, "bench.pong", in.get()}};
    vmm::CrossVm cross(vm, cfg);
    std::thread native([&] {
        for (std::uint32_t i = 0; i < rounds; ++i) {
            waitAndClear(out.get());
            signal(in.get());
        }
    });
    start(vm, loadGuest("roundtrip"), rounds);
    const double secs = runGuest(vm);
    native.join();
    if (cross.connectors().events().delivered() != rounds)
        throw Error::format("bench_crossvm: {} events delivered, expected {}",
                            cross.connectors().events().delivered(), rounds);
    return secs * 1e6 / rounds;
}

// µs per native -> native round trip over two eventfds.
double nativeRoundTrip(std::uint32_t rounds) {
    UniqueFd a = eventfd0(), b = eventfd0();
    std::thread peer([&] {
        for (std::uint32_t i = 0; i < rounds; ++i) {
            waitAndClear(a.get());
            signal(b.get());
        }
    });
    const auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < rounds; ++i) {
        signal(a.get());
        waitAndClear(b.get());
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    peer.join();
    return secs * 1e6 / rounds;
}

// ns per guest iteration of `mode`.
double guestLoop(const char* mode, std::uint32_t calls, bool hypercalls) {
    vmm::Vm vm(config());
    vm.hypercalls().registerUser(4, "poke", [](const engine::HypercallArgs&) { return 0u; });
    vm.hypercalls().registerUserRegs(5, "poke_regs", [](engine::Regs& r) {
        r.rax = 0;
        return 0;
    });
    start(vm, loadGuest(mode, hypercalls), calls);
    return runGuest(vm) * 1e9 / calls;
}

}  // namespace

int main(int argc, char** argv) try {
    std::uint32_t rounds = 20'000, calls = 500'000;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) throw Error::format("option {} needs a value", argv[i]);
        const char* v = argv[i + 1];
        if (!std::strcmp(argv[i], "--rounds")) rounds = static_cast<std::uint32_t>(std::atoi(v));
        else if (!std::strcmp(argv[i], "--calls")) calls = static_cast<std::uint32_t>(std::atoi(v));
        else if (!std::strcmp(argv[i], "--engine") && !std::strcmp(v, "interp")) gEngine = engine::EngineChoice::Interp;
        else if (!std::strcmp(argv[i], "--engine") && !std::strcmp(v, "kvm")) gEngine = engine::EngineChoice::Kvm;
        else throw Error::format("unknown option {} {} (--engine interp|kvm, --rounds N, --calls N)", argv[i], v);
    }
    const bool kvm = gEngine == engine::EngineChoice::Kvm;
    log::setLevel(log::Level::Error);
    std::printf("bench_crossvm: %s engine (hypercall gate: %s), %u round trips, %u calls\n",
                kvm ? "kvm" : "interp", kvm ? "out 0xE0, eax" : "vmcall", rounds, calls);

    const double native = nativeRoundTrip(rounds);
    const double cross = crossVmRoundTrip(rounds);
    std::printf("(a) round trip   native<->native eventfd ping-pong : %8.2f us\n", native);
    std::printf("                 guest EMIT -> native -> IRQ 12 + ACK: %8.2f us  (%.1fx native)\n",
                cross, cross / native);

    const double out = guestLoop("outport", calls, false);
    const double poke = guestLoop("poke", calls, true);
    const double pokeRegs = guestLoop("pokeregs", calls, true);
    std::printf("(b) exits        OUT to an unused port             : %8.1f ns\n", out);
    std::printf("                 hypercall 4, EAX handler (poke)     : %8.1f ns  (%.1fx OUT)\n", poke,
                poke / out);
    std::printf("                 hypercall 5, register handler       : %8.1f ns  (%.1fx OUT)\n",
                pokeRegs, pokeRegs / out);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_crossvm: %s\n", e.what());
    return 1;
}
