#pragma once
// One KVM vCPU: its fd, the shared kvm_run page, and the KVM_RUN loop that turns port
// I/O and MMIO exits into calls on the VM's buses (no allocation per exit) and returns
// only for what the VMM decides (engine::ExitReason).
#include "engine/KvmEngine.h"
#include "engine/VcpuKick.h"
#include "util/Mapping.h"
#include "util/UniqueFd.h"

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <memory>

namespace cxvm::engine {

class KvmVcpu final : public Vcpu {
public:
    KvmVcpu(KvmEngine& engine, unsigned index);
    ~KvmVcpu() override;

    Exit run(std::uint64_t maxInstructions) override;
    void requestStop() override;
    void setTimeSlice(std::chrono::nanoseconds slice) override { slice_ = slice; }

    Regs regs() const override;
    void setRegs(const Regs&) override;
    Sregs sregs() const override;
    void setSregs(const Sregs&) override;
    void reset() override;
    void completeHypercall(std::uint32_t eax) override;
    [[nodiscard]] std::uint64_t instructionsRetired() const override { return 0; }

    // Exits handled inside run() since creation (port I/O, MMIO, interrupt windows):
    // what benchmarks and tests count.
    [[nodiscard]] std::uint64_t exitCount() const { return exits_; }
    [[nodiscard]] int fd() const { return fd_.get(); }

private:
    void injectInterrupts();
    [[nodiscard]] bool haltedWithInterruptsOff() const;
    void handleIo();
    void handleMmio();
    [[nodiscard]] Exit hypercallExit();
    [[nodiscard]] Exit shutdownExit(std::string why) const;
    [[noreturn]] void failExit() const;

    KvmEngine& engine_;
    const MachineBus& bus_;
    unsigned index_;
    UniqueFd fd_;
    Mapping runMapping_;
    kvm_run* run_ = nullptr;
    bool userspaceIrqchip_ = true;
    bool hypercallPending_ = false;
    std::uint64_t exits_ = 0;
    std::chrono::nanoseconds slice_{0};
    std::unique_ptr<SliceTimer> timer_;  // created on the thread that calls run()
    std::atomic<bool> stopRequested_{false};
    std::atomic<bool> inRun_{false};
    std::atomic<pthread_t> runThread_{};
};

}  // namespace cxvm::engine
