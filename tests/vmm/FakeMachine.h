#pragma once
// A scripted engine and board for testing the VM loop without a real CPU or devices.
#include "vmm/Vm.h"

#include <deque>
#include <functional>
#include <vector>

namespace cxvm::vmm::testing {

struct Step {
    Step(std::uint64_t n, engine::Exit e) : instructions(n), exit(std::move(e)) {}
    std::uint64_t instructions = 0;  // retired before the exit
    engine::Exit exit{};
    std::function<void()> during{};  // runs inside the slice (device access, ...)
    std::uint64_t rflags = 0x202;    // what regs() shows at the exit
};

class FakeVcpu final : public engine::Vcpu {
public:
    std::deque<Step> script;
    std::vector<std::uint64_t> budgets;
    std::vector<std::uint32_t> hypercallResults;
    engine::Regs r{};
    engine::Sregs s{};
    std::uint64_t retired = 0;

    engine::Exit run(std::uint64_t maxInstructions) override {
        budgets.push_back(maxInstructions);
        if (script.empty()) {  // nothing scripted: spin through the budget
            retired += maxInstructions;
            return {engine::ExitReason::SliceEnd, {}, {}};
        }
        Step& st = script.front();
        if (st.instructions > maxInstructions) {
            st.instructions -= maxInstructions;
            retired += maxInstructions;
            return {engine::ExitReason::SliceEnd, {}, {}};
        }
        retired += st.instructions;
        if (st.during) st.during();
        r.rflags = st.rflags;
        engine::Exit e = st.exit;
        script.pop_front();
        return e;
    }
    void requestStop() override {}
    engine::Regs regs() const override { return r; }
    void setRegs(const engine::Regs& v) override { r = v; }
    engine::Sregs sregs() const override { return s; }
    void setSregs(const engine::Sregs& v) override { s = v; }
    void reset() override {}
    void completeHypercall(std::uint32_t eax) override {
        r.rax = eax;
        hypercallResults.push_back(eax);
    }
    std::uint64_t instructionsRetired() const override { return retired; }
};

class FakeEngine final : public engine::Engine {
public:
    explicit FakeEngine(FakeVcpu*& out) : out_(out) {}
    engine::EngineKind kind() const override { return engine::EngineKind::Interp; }
    std::unique_ptr<engine::Vcpu> createVcpu(unsigned) override {
        auto v = std::make_unique<FakeVcpu>();
        out_ = v.get();
        return v;
    }

private:
    FakeVcpu*& out_;
};

// One timer with a fixed period and a console "UART" with a small receive FIFO.
class FakeBoard final : public Board {
public:
    explicit FakeBoard(BoardContext& c) : ctx(c) {}
    BoardContext& ctx;
    std::uint64_t periodNs = 0;  // 0: no timer
    std::uint64_t nextNs = 0;
    std::uint64_t ticks = 0;
    std::vector<std::uint64_t> advancedTo;
    std::deque<std::uint8_t> rx;
    std::size_t rxCapacity = 16;

    void advanceTo(std::uint64_t now) override {
        advancedTo.push_back(now);
        while (periodNs && now >= nextNs) {
            ++ticks;
            nextNs += periodNs;
        }
    }
    std::uint64_t nextDeadlineNs() const override {
        return periodNs ? nextNs : hw::TimedDevice::kNever;
    }
    bool consoleCanAccept() const override { return rx.size() < rxCapacity; }
    void consoleInput(std::uint8_t b) override { rx.push_back(b); }
};

// A VM on the fake engine and board; console output into a pipe-less sink.
struct FakeVm {
    FakeVcpu* vcpu = nullptr;
    FakeBoard* board = nullptr;
    std::unique_ptr<Vm> vm;

    explicit FakeVm(VmConfig cfg) {
        vm = std::make_unique<Vm>(
            cfg,
            [this](BoardContext& c) {
                auto b = std::make_unique<FakeBoard>(c);
                board = b.get();
                return b;
            },
            [this](engine::MachineBus, const hw::Clock&, const VmConfig&) {
                return std::make_unique<FakeEngine>(vcpu);
            });
    }
};

inline VmConfig quietConfig() {
    VmConfig c;
    c.ramBytes = 4 << 20;
    c.console.inFd = -1;
    c.console.outFd = -1;
    return c;
}

}  // namespace cxvm::vmm::testing
