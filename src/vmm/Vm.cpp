#include "vmm/Vm.h"

#include "util/Error.h"
#include "hw/HostClock.h"
#include "util/Log.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <csignal>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace cxvm::vmm {
namespace {

volatile std::sig_atomic_t gStopSignal = 0;

// Real-time slices: long enough to amortise the per-slice work, short enough that
// console input and timers stay responsive (about 1 ms at typical interp speed).
constexpr std::uint64_t kMinSlice = 1'000;
constexpr std::uint64_t kMaxSlice = 1'000'000;
// kvm slices in host time: short enough for device deadlines and console flushes, long
// enough that the slice timer costs nothing next to the guest.
constexpr std::uint64_t kMinSliceNs = 50'000;
constexpr std::uint64_t kMaxSliceNs = 10'000'000;
// Longest single idle wait, so host signals are noticed promptly.
constexpr std::uint64_t kMaxIdleNs = 100'000'000;
constexpr std::uint64_t kEflagsIf = 1u << 9;

// Installs the stop-signal handlers for the lifetime of run() and restores the old ones.
class SignalScope {
public:
    SignalScope() {
        gStopSignal = 0;
        struct sigaction sa {};
        sa.sa_handler = Vm::requestStopFromSignal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;  // no SA_RESTART: an idle poll() returns EINTR at once
        for (std::size_t i = 0; i < std::size(kSignals); ++i)
            sigaction(kSignals[i], &sa, &old_[i]);
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGPIPE, &ign, &oldPipe_);  // a closed stdout is reported, not fatal
    }
    ~SignalScope() {
        for (std::size_t i = 0; i < std::size(kSignals); ++i)
            sigaction(kSignals[i], &old_[i], nullptr);
        sigaction(SIGPIPE, &oldPipe_, nullptr);
    }
    SignalScope(const SignalScope&) = delete;
    SignalScope& operator=(const SignalScope&) = delete;

private:
    static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction old_[std::size(kSignals)] {};
    struct sigaction oldPipe_ {};
};

}  // namespace

std::unique_ptr<hw::Clock> Vm::makeClock() {
    if (!config_.deterministic) return std::make_unique<hw::HostClock>();
    // The vCPU exists only after the board and engine; until then no time passes.
    auto c = std::make_unique<hw::DeterministicClock>(
        [this] { return vcpu_ ? vcpu_->instructionsRetired() : 0; });
    deterministic_ = c.get();
    return c;
}

void Vm::requestStopFromSignal(int signal) { gStopSignal = signal; }

Vm::Vm(const VmConfig& config) : Vm(config, createPcBoard, createEngine) {}

Vm::Vm(const VmConfig& config, const BoardFactory& board, const EngineFactory& engine)
    : config_(config),
      memory_(config.ramBytes),
      clock_(makeClock()),
      console_(config.console),
      wakeFd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!wakeFd_) throwErrno("vm: eventfd (wake-up of the idle wait)");
    BoardContext ctx{memory_, io_, mmio_, pins_, *clock_, console_, stops_, config.deterministic,
                     config_.disks, [this] { kick(); }, config_.nics, config_.passthrough,
                     [this](std::uint8_t code) { postCode(code); }};
    board_ = board(ctx);
    engine_ = engine(engine::MachineBus{memory_, io_, mmio_, pins_}, *clock_, config_);
    vcpu_ = engine_->createVcpu(0);
    if (config_.trace || config_.tracePost) {
        if (config_.tracePost) traceRing_ = std::make_unique<TraceRing>();
        configureTrace(*vcpu_, config_.trace.value_or(TraceSpec{.enabled = true}), traceRing_.get());
    }
    if (!config_.profilePath.empty()) configureProfile(*vcpu_);
    if (config_.noJit) disableCompiledBlocks(*vcpu_);
}

Vm::~Vm() {
    // The board first: its devices' I/O threads call kick(), which uses the vCPU.
    board_.reset();
}

hw::IrqLine Vm::isaIrq(unsigned irq) {
    hw::IrqLine line = board_->isaIrq(irq);
    if (!line.connected()) throw Error::format("vm: this board has no ISA IRQ line {}", irq);
    return line;
}

std::uint64_t Vm::addLoopHook(LoopHook hook) {
    loopHooks_.emplace_back(nextHookId_, std::move(hook));
    return nextHookId_++;
}

void Vm::removeLoopHook(std::uint64_t id) {
    std::erase_if(loopHooks_, [id](const auto& h) { return h.first == id; });
}

void Vm::kick() {
    // The eventfd first: an idle ppoll that starts after this returns at once.
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wakeFd_.get(), &one, sizeof one);
    if (vcpu_) vcpu_->requestStop();
}

void Vm::deliverConsoleInput() {
    auto& pending = console_.pendingInput();
    // Bytes the UART cannot take yet wait here (a slow guest is not an overrun).
    while (!pending.empty() && board_->consoleCanAccept()) {
        board_->consoleInput(pending.front());
        pending.pop_front();
    }
}

std::uint64_t Vm::sliceBudget(std::uint64_t nowNs, std::uint64_t deadlineNs) const {
    std::uint64_t budget = kMaxSlice;
    if (deterministic_) {
        if (deadlineNs != hw::TimedDevice::kNever) {
            // Instructions until guest time reaches the deadline (rounded up).
            const std::uint64_t untilNs = deadlineNs > nowNs ? deadlineNs - nowNs : 0;
            const std::uint64_t ps = deterministic_->psPerInstruction();
            budget = untilNs > kMaxSlice * ps / 1000 ? kMaxSlice : (untilNs * 1000 + ps - 1) / ps;
        }
        budget = std::min(budget, kMaxSlice);  // console output still flushes regularly
    } else if (deadlineNs != hw::TimedDevice::kNever) {
        const double untilNs = deadlineNs > nowNs ? static_cast<double>(deadlineNs - nowNs) : 0.0;
        budget = static_cast<std::uint64_t>(untilNs * instructionsPerNs_);
        budget = std::clamp(budget, kMinSlice, kMaxSlice);
    }
    if (config_.maxInstructions) {
        const std::uint64_t done = vcpu_->instructionsRetired();
        const std::uint64_t left = config_.maxInstructions > done ? config_.maxInstructions - done : 0;
        budget = std::min(budget, std::max<std::uint64_t>(left, 1));
    }
    return std::max<std::uint64_t>(budget, 1);
}

void Vm::idleUntil(std::uint64_t deadlineNs) {
    if (deterministic_) {
        // Deterministic: time jumps to the next deadline; no host time passes into the
        // guest. With nothing due, wait for input (which is then the only thing that
        // can wake the guest).
        if (deadlineNs != hw::TimedDevice::kNever) {
            deterministic_->skipTo(deadlineNs);
            return;
        }
    }
    const std::uint64_t now = clock_->nowNs();
    std::uint64_t waitNs = deadlineNs > now ? deadlineNs - now : 0;
    waitNs = std::min(waitNs, kMaxIdleNs);
    if (waitNs == 0) return;
    // The wake eventfd (kick()) first, so that it is always polled; a negative console
    // fd (none, or EOF) is ignored by ppoll.
    pollfd p[2] = {{wakeFd_.get(), POLLIN, 0}, {console_.inputFd(), POLLIN, 0}};
    timespec ts{static_cast<time_t>(waitNs / 1'000'000'000),
                static_cast<long>(waitNs % 1'000'000'000)};
    int r = ::ppoll(p, 2, &ts, nullptr);
    idleNs_ += clock_->nowNs() - now;
    if (r < 0 && errno != EINTR) throwErrno("vm: waiting for input while the guest idles");
    if (r > 0 && (p[0].revents & POLLIN)) {
        // Drained here, where it matters: the loop hooks run next and see what the
        // kicker published before its write.
        std::uint64_t count;
        [[maybe_unused]] ssize_t n = ::read(wakeFd_.get(), &count, sizeof count);
    }
}

void Vm::postCode(std::uint8_t code) {
    ++postCodes_.writes;
    postCodes_.last = code;
    if (!config_.postCodes) return;
    // On the VM thread, inside the OUT: the vCPU's count is exact here (interp) or as
    // of the exit (kvm); guest time is the board clock's.
    std::fprintf(stderr, "cxvm: POST code %02x (#%llu, guest %.6f s, %llu instructions)\n", code,
                 static_cast<unsigned long long>(postCodes_.writes),
                 static_cast<double>(clock_->nowNs()) / 1e9,
                 static_cast<unsigned long long>(vcpu_ ? vcpu_->instructionsRetired() : 0));
}

GuestStop Vm::finish(GuestStop stop) {
    board_->advanceTo(clock_->nowNs());  // hands the UART's last bytes to the console
    console_.flush();
    switch (stop.kind) {
    case StopKind::TripleFault:
        console_.note(fmt::format("guest stopped: {}\n{}", stop.detail,
                                  formatRegisterDump(vcpu_->regs(), vcpu_->sregs())));
        break;
    case StopKind::UserQuit:
        break;  // the console already said so
    default:
        log::info("vm: stopped: {}", stop.detail);
        break;
    }
    if (traceRing_)
        std::fprintf(stderr, "--- last %zu traced instructions (--trace-post) ---\n%s--- end of trace ---\n",
                     TraceRing::kTraceRingLines, traceRing_->text().c_str());
    if (!config_.profilePath.empty()) writeProfile(*vcpu_, config_.profilePath);
    if (std::string s = vcpu_->statistics(); !s.empty()) log::info("vm: {}", s);
    if (postCodes_.writes != 0)
        log::info("vm: last POST code {:#04x} ({} writes to port 0x80)", postCodes_.last,
                  postCodes_.writes);
    const engine::Regs r = vcpu_->regs();
    log::info("vm: {} instructions retired, guest time {:.3f} s ({:.3f} s idle), eip={:#x}",
              vcpu_->instructionsRetired(), static_cast<double>(clock_->nowNs()) / 1e9,
              static_cast<double>(idleNs_) / 1e9, r.rip);
    return stop;
}

GuestStop Vm::run() {
    SignalScope signals;
    using Steady = std::chrono::steady_clock;
    for (;;) {
        if (gStopSignal)
            return finish({StopKind::Signal, 128 + gStopSignal,
                           fmt::format("host signal {}", static_cast<int>(gStopSignal))});
        console_.pollInput();
        if (console_.quitRequested()) return finish({StopKind::UserQuit, 0, "C-a x"});
        deliverConsoleInput();

        const std::uint64_t now = clock_->nowNs();
        board_->advanceTo(now);
        for (auto& [id, hook] : loopHooks_) hook();
        if (stops_.pending()) return finish(stops_.stop());
        if (config_.maxInstructions && vcpu_->instructionsRetired() >= config_.maxInstructions)
            return finish({StopKind::InstructionLimit, 0,
                           fmt::format("instruction limit {} reached", config_.maxInstructions)});

        const std::uint64_t deadline = board_->nextDeadlineNs();
        const std::uint64_t budget = sliceBudget(now, deadline);
        const std::uint64_t before = vcpu_->instructionsRetired();
        // kvm cannot count instructions: it ends its slice by host time instead.
        const std::uint64_t untilNs = deadline == hw::TimedDevice::kNever
                                          ? kMaxSliceNs
                                          : (deadline > now ? deadline - now : 0);
        vcpu_->setTimeSlice(
            std::chrono::nanoseconds(std::clamp<std::uint64_t>(untilNs, kMinSliceNs, kMaxSliceNs)));
        const auto t0 = Steady::now();
        engine::Exit exit = vcpu_->run(budget);
        if (!deterministic_) {
            // Track guest speed to size real-time slices to the next deadline.
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now() - t0)
                                .count();
            const std::uint64_t ran = vcpu_->instructionsRetired() - before;
            if (ns > 0 && ran > 0)
                instructionsPerNs_ = 0.8 * instructionsPerNs_ +
                                     0.2 * (static_cast<double>(ran) / static_cast<double>(ns));
        }
        board_->advanceTo(clock_->nowNs());
        console_.flush();
        if (stops_.pending()) return finish(stops_.stop());

        switch (exit.reason) {
        case engine::ExitReason::SliceEnd:
        case engine::ExitReason::Stopped:
            break;
        case engine::ExitReason::Hypercall:
            if (auto stop = hypercalls_.complete(*vcpu_, exit.hypercall)) return finish(std::move(*stop));
            break;
        case engine::ExitReason::Halt: {
            if (!(vcpu_->regs().rflags & kEflagsIf) && !pins_.nmi.load(std::memory_order_relaxed))
                // cli; hlt: only an NMI could wake it, and nothing raises one. This is how
                // Linux powers off a PC without ACPI (reboot(2) turns POWER_OFF into HALT
                // when no power-off handler exists; machine_halt ends in cli; hlt).
                return finish({StopKind::Halted, 0, "guest halted (cli; hlt): powered off"});
            board_->advanceTo(clock_->nowNs());
            for (auto& [id, hook] : loopHooks_) hook();  // work handed over meanwhile
            if (pins_.intr.load(std::memory_order_relaxed)) break;  // an IRQ is already due
            idleUntil(board_->nextDeadlineNs());
            break;
        }
        case engine::ExitReason::Shutdown:
            return finish({StopKind::TripleFault, 2,
                           exit.detail.empty() ? std::string("shutdown (triple fault)")
                                               : exit.detail});
        }
    }
}

std::string formatRegisterDump(const engine::Regs& r, const engine::Sregs& s) {
    auto seg = [](const char* n, const engine::Segment& g) {
        return fmt::format("{}={:04x} base={:08x} limit={:08x} type={:x} dpl={} db={}", n,
                           g.selector, g.base, g.limit, g.type, g.dpl, g.db);
    };
    return fmt::format(
        "eax={:08x} ebx={:08x} ecx={:08x} edx={:08x}\n"
        "esi={:08x} edi={:08x} ebp={:08x} esp={:08x}\n"
        "eip={:08x} eflags={:08x}\n"
        "{}\n{}\n{}\n{}\n"
        "cr0={:08x} cr2={:08x} cr3={:08x} cr4={:08x} efer={:x}\n"
        "gdt={:08x}/{:04x} idt={:08x}/{:04x}",
        r.rax & 0xffffffff, r.rbx & 0xffffffff, r.rcx & 0xffffffff, r.rdx & 0xffffffff,
        r.rsi & 0xffffffff, r.rdi & 0xffffffff, r.rbp & 0xffffffff, r.rsp & 0xffffffff,
        r.rip & 0xffffffff, r.rflags & 0xffffffff, seg("cs", s.cs), seg("ds", s.ds),
        seg("ss", s.ss), seg("tr", s.tr), s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.gdt.base,
        s.gdt.limit, s.idt.base, s.idt.limit);
}

}  // namespace cxvm::vmm
