#pragma once
// A virtual machine: guest memory, the I/O and MMIO buses, the CPU's interrupt pins, the
// board's devices, one engine + vCPU, the console, the hypercall table — and the loop
// that runs it (docs/vmm.md "The run loop").
#include "engine/EngineSelect.h"
#include "engine/Vcpu.h"
#include "hw/DeterministicClock.h"
#include "hw/Clock.h"
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "hw/virtio/DiskImage.h"
#include "hw/vfio/PassthroughSpec.h"
#include "net/NetOptions.h"
#include "vmm/Board.h"
#include "vmm/GuestStop.h"
#include "vmm/HostConsole.h"
#include "vmm/HypercallTable.h"
#include "vmm/TraceSpec.h"
#include "util/UniqueFd.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace cxvm::vmm {

using engine::EngineChoice;

struct VmConfig {
    std::uint64_t ramBytes = 128ull << 20;
    EngineChoice engine = EngineChoice::Auto;
    bool deterministic = false;
    std::uint64_t maxInstructions = 0;  // 0: unlimited (tests and benchmarks set it)
    HostConsole::Options console;
    std::optional<TraceSpec> trace;  // --trace[=SPEC] (interp only)
    bool tracePost = false;          // --trace-post: keep the last trace lines, print at stop
    std::string profilePath;         // --profile FILE: guest EIP histogram (interp only)
    bool noJit = false;              // --no-jit: interpret only (interp)
    // --disk FILE[,ro]: one virtio-blk PCI function each, in order (/dev/vda, vdb, ...).
    std::vector<hw::virtio::DiskOptions> disks;
    // --net user|tap,...: one virtio-net PCI function each, after the disks (eth0, ...).
    std::vector<net::NicOptions> nics;
    // The spec's pci_devices (with their ioports and irqs): host functions passed
    // through with VFIO (docs/passthrough.md).
    std::vector<hw::vfio::PassthroughSpec> passthrough;
    // --post-codes: print every byte written to the POST port 0x80 as it is written.
    bool postCodes = false;
};

// What the guest wrote to the POST diagnostic port 0x80 (a firmware's progress codes).
struct PostCodes {
    std::uint64_t writes = 0;
    std::uint8_t last = 0;
};

// What a board factory gets: everything devices may attach to or report through.
struct BoardContext {
    hw::GuestMemory& memory;
    hw::IoBus& io;
    hw::MmioBus& mmio;
    hw::CpuInterruptPins& pins;
    const hw::Clock& clock;
    HostConsole& console;
    StopLatch& stops;
    bool deterministic;  // no host time may leak in (RTC start time, ...)
    const std::vector<hw::virtio::DiskOptions>& disks;
    // Thread-safe: brings the VM loop round (Vm::kick), e.g. when an I/O thread has
    // completions for a device. Valid once the VM runs.
    std::function<void()> kick;
    // The VM's network interfaces (VmConfig::nics).
    std::span<const net::NicOptions> nics{};
    // Host PCI functions passed through (VmConfig::passthrough).
    std::span<const hw::vfio::PassthroughSpec> passthrough{};
    // The board's POST port 0x80 reports each byte written here (Vm::postCodes).
    std::function<void(std::uint8_t)> postCode{};
};

class Vm {
public:
    using BoardFactory = std::function<std::unique_ptr<Board>(BoardContext&)>;
    using EngineFactory = std::function<std::unique_ptr<engine::Engine>(
        engine::MachineBus, const hw::Clock&, const VmConfig&)>;

    // The PC board (src/hw devices) and the engine the config asks for.
    explicit Vm(const VmConfig& config);
    // Injected board/engine (unit tests, other boards).
    Vm(const VmConfig& config, const BoardFactory& board, const EngineFactory& engine);
    ~Vm();
    Vm(const Vm&) = delete;
    Vm& operator=(const Vm&) = delete;

    [[nodiscard]] hw::GuestMemory& memory() { return memory_; }
    [[nodiscard]] hw::IoBus& io() { return io_; }
    [[nodiscard]] hw::MmioBus& mmio() { return mmio_; }
    [[nodiscard]] engine::Vcpu& vcpu() { return *vcpu_; }
    [[nodiscard]] engine::EngineKind engineKind() const { return engine_->kind(); }
    [[nodiscard]] HypercallTable& hypercalls() { return hypercalls_; }
    [[nodiscard]] HostConsole& console() { return console_; }
    [[nodiscard]] const hw::Clock& clock() const { return *clock_; }
    [[nodiscard]] StopLatch& stops() { return stops_; }
    // POST codes written so far (port 0x80); the end-of-run log reports the last one.
    [[nodiscard]] PostCodes postCodes() const { return postCodes_; }
    // The board's VFIO descriptors (Board::passthroughFds), for a sandbox.
    [[nodiscard]] hw::vfio::VfioFds passthroughFds() const { return board_->passthroughFds(); }

    // ISA interrupt line `irq` of the board as a new source (wired-OR with the board's
    // devices there; Board::isaIrq). Drive it from the VM thread only. Throws
    // cxvm::Error when the board has no such line.
    [[nodiscard]] hw::IrqLine isaIrq(unsigned irq);

    // Loop hooks run on the VM thread at the top of every run-loop iteration: before
    // each slice, and right after a kick(). Work that other threads hand to the VM (a
    // cross-VM event to deliver) is picked up here. Returns an id for removeLoopHook.
    // Add and remove them while the loop is not running.
    using LoopHook = std::function<void()>;
    std::uint64_t addLoopHook(LoopHook hook);
    void removeLoopHook(std::uint64_t id);
    // Thread-safe: makes the run loop come round promptly — ends the running slice
    // (Vcpu::requestStop) and wakes an idle (HLT) wait — so that the loop hooks run.
    // Costs one eventfd write; call it per event, not per instruction.
    void kick();

    // Runs until the guest or the user stops it. Never throws for guest behaviour.
    GuestStop run();

    // Asks a running loop to stop (async-signal-safe: sets a flag only).
    static void requestStopFromSignal(int signal);

private:
    void deliverConsoleInput();
    std::uint64_t sliceBudget(std::uint64_t nowNs, std::uint64_t deadlineNs) const;
    void idleUntil(std::uint64_t deadlineNs);
    std::uint64_t idleNs_ = 0;  // host time spent waiting while the guest halted
    GuestStop finish(GuestStop stop);
    std::unique_ptr<hw::Clock> makeClock();

    VmConfig config_;
    hw::GuestMemory memory_;
    hw::IoBus io_;
    hw::MmioBus mmio_;
    hw::CpuInterruptPins pins_;
    // Declared before clock_: makeClock() sets it while clock_ is initialised.
    hw::DeterministicClock* deterministic_ = nullptr;  // set in deterministic mode
    std::unique_ptr<hw::Clock> clock_;
    HostConsole console_;
    StopLatch stops_;
    HypercallTable hypercalls_;
    std::unique_ptr<Board> board_;
    std::unique_ptr<engine::Engine> engine_;
    std::unique_ptr<engine::Vcpu> vcpu_;
    double instructionsPerNs_ = 0.1;  // real-time slices: measured guest speed
    std::unique_ptr<TraceRing> traceRing_;  // --trace-post
    std::vector<std::pair<std::uint64_t, LoopHook>> loopHooks_;
    std::uint64_t nextHookId_ = 1;
    UniqueFd wakeFd_;  // eventfd: kick() wakes the idle ppoll through it
    PostCodes postCodes_;
    void postCode(std::uint8_t code);
};

// The engine config.engine asks for (Auto: kvm when it runs at hardware speed, else
// interp; engine::selectEngine). Throws cxvm::Error naming what is missing.
std::unique_ptr<engine::Engine> createEngine(engine::MachineBus bus, const hw::Clock& clock,
                                             const VmConfig& config);

// Turns on instruction tracing on `vcpu` (to stderr, or into `ring`). Throws cxvm::Error
// when the engine cannot trace (only interp can).
void configureTrace(engine::Vcpu& vcpu, const TraceSpec& spec, TraceRing* ring);
// --profile: sample the guest EIP every kProfileInterval instructions (interp only)...
void configureProfile(engine::Vcpu& vcpu);
// --no-jit: the interp engine interprets every block instead of compiling hot ones.
void disableCompiledBlocks(engine::Vcpu& vcpu);
// ...and write "instructions linear-EIP" lines, most frequent first.
void writeProfile(const engine::Vcpu& vcpu, const std::string& path);

// The PC board of src/hw: PIC, PIT, RTC/CMOS, UARTs, i8042, PCI host, debug exit, ...
std::unique_ptr<Board> createPcBoard(BoardContext& ctx);

// "eax=... ebx=..." for the register dump of a crashed guest.
std::string formatRegisterDump(const engine::Regs& r, const engine::Sregs& s);

}  // namespace cxvm::vmm
