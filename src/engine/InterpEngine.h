#pragma once
// The interp engine: cxvm's own x86 CPU (x86::Cpu) behind the engine seam (Vcpu.h).
#include "engine/Vcpu.h"
#include "hw/Clock.h"
#include "x86/Cpu.h"

#include <functional>
#include <memory>

namespace cxvm::engine {

class InterpVcpu final : public Vcpu {
public:
    InterpVcpu(const MachineBus& bus, const hw::Clock* clock);

    Exit run(std::uint64_t maxInstructions) override;
    void requestStop() override { cpu_.requestStop(); }
    Regs regs() const override;
    void setRegs(const Regs&) override;
    Sregs sregs() const override;
    void setSregs(const Sregs&) override;
    void reset() override { cpu_.reset(); }
    void completeHypercall(std::uint32_t eax) override { cpu_.completeHypercall(eax); }
    [[nodiscard]] std::uint64_t instructionsRetired() const override {
        return cpu_.instructionsRetired();
    }
    [[nodiscard]] std::string statistics() const override;

    // Debugging hooks for `cxvm run --trace/--trace-post`.
    void setTrace(const x86::TraceOptions& t) { cpu_.setTrace(t); }
    void setPostCodeHook(std::function<void(std::uint8_t)> hook) {
        cpu_.setPostCodeHook(std::move(hook));
    }
    void setFerrHook(std::function<void()> hook) { cpu_.setFerrHook(std::move(hook)); }
    x86::Cpu& cpu() { return cpu_; }
    const x86::Cpu& cpu() const { return cpu_; }

private:
    x86::Cpu cpu_;
};

class InterpEngine final : public Engine {
public:
    // `clock` (may be null) is the TSC source; it must outlive the engine.
    explicit InterpEngine(MachineBus bus, const hw::Clock* clock = nullptr)
        : bus_(bus), clock_(clock) {}
    [[nodiscard]] EngineKind kind() const override { return EngineKind::Interp; }
    std::unique_ptr<Vcpu> createVcpu(unsigned index) override;

private:
    MachineBus bus_;
    const hw::Clock* clock_;
};

}  // namespace cxvm::engine
