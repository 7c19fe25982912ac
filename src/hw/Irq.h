#pragma once
// Interrupt wiring, engine-neutral.
//  - Devices drive an IrqLine (one input of an interrupt controller, e.g. 8259 IRQ4).
//  - The controller drives the CPU's CpuInterruptPins: INTR level + the INTA cycle
//    (InterruptAcknowledge) that yields the vector, and NMI.
// The interp engine polls `intr` at instruction boundaries (one relaxed atomic load);
// the kvm engine turns it into KVM_INTERRUPT or uses the in-kernel irqchip.
#include <atomic>
#include <cstdint>

namespace cxvm::hw {

class IrqSink {
public:
    virtual ~IrqSink() = default;
    virtual void setIrqLevel(unsigned line, bool level) = 0;
};

class IrqLine {
public:
    IrqLine() = default;
    IrqLine(IrqSink& sink, unsigned line) : sink_(&sink), line_(line) {}
    void set(bool level) const {
        if (sink_) sink_->setIrqLevel(line_, level);
    }
    void raise() const { set(true); }
    void lower() const { set(false); }
    // Edge-triggered devices: a rising then falling edge.
    void pulse() const {
        set(true);
        set(false);
    }
    [[nodiscard]] unsigned line() const { return line_; }
    [[nodiscard]] bool connected() const { return sink_ != nullptr; }

private:
    IrqSink* sink_ = nullptr;
    unsigned line_ = 0;
};

class InterruptAcknowledge {
public:
    virtual ~InterruptAcknowledge() = default;
    // The INTA cycle: returns the vector to deliver (the 8259 returns its spurious
    // vector when nothing is pending any more).
    virtual std::uint8_t acknowledge() = 0;
};

struct CpuInterruptPins {
    std::atomic<bool> intr{false};  // level, driven by the interrupt controller
    std::atomic<bool> nmi{false};   // edge latched; the CPU clears it when it takes the NMI
    InterruptAcknowledge* controller = nullptr;
};

}  // namespace cxvm::hw
