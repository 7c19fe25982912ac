#pragma once
// Intel 8254 programmable interval timer (datasheet: Intel 8254, order 231164) at ports
// 0x40-0x43, plus the PC's "system control port B" at 0x61 which owns channel 2's gate
// and shows its output (Linux calibrates the TSC against it).
//
//   channel 0: gate tied high, OUT -> IRQ0 (the timer interrupt)
//   channel 1: gate tied high, output unconnected (DRAM refresh on old PCs)
//   channel 2: gate = port 0x61 bit 0, OUT readable as port 0x61 bit 5 (PC speaker)
//
// Counters are not ticked: each channel remembers when counting started and computes
// its count and OUT from the Clock when read (PIT input clock 1.193182 MHz = 105/88 MHz).
// advanceTo() turns OUT's rising edges of channel 0 into IRQ0 edges.
#include "hw/Clock.h"
#include "hw/Irq.h"
#include "hw/IoBus.h"

#include <array>
#include <cstdint>

namespace cxvm::hw {

class Pit8254 final : public IoDevice, public TimedDevice {
public:
    Pit8254(const Clock& clock, IrqLine irq0);
    // Claims 0x40-0x43 and 0x61.
    void attach(IoBus& bus);

    std::uint32_t ioRead(std::uint16_t port, unsigned size) override;
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override;
    [[nodiscard]] std::string_view name() const override { return "pit8254"; }

    void advanceTo(std::uint64_t nowNs) override;
    [[nodiscard]] std::uint64_t nextDeadlineNs() const override;

    // PIT ticks elapsed at `ns` (exact: ns * 105 / 88000).
    [[nodiscard]] static std::uint64_t ticksAt(std::uint64_t ns);
    // The first ns at which `ticks` PIT clocks have elapsed.
    [[nodiscard]] static std::uint64_t nsAtTick(std::uint64_t ticks);

    // Inspection for tests and the VMM's debug dump.
    [[nodiscard]] bool output(unsigned channel) const { return channels_[channel].out(clock_.nowNs()); }
    [[nodiscard]] std::uint16_t count(unsigned channel) const { return channels_[channel].count(clock_.nowNs()); }

private:
    enum class Access : std::uint8_t { Latch = 0, Lsb = 1, Msb = 2, LsbMsb = 3 };

    struct Channel {
        unsigned mode = 0;
        Access access = Access::LsbMsb;
        bool bcd = false;
        bool gate = true;
        std::uint32_t reload = 0x10000;  // decoded initial count (0 means 2^16 or 10^4 BCD)
        bool loaded = false;             // a count was written since the mode was set
        bool triggered = false;          // counting (a count was written/gate trigger seen)
        bool running = false;            // the clock feeds the counter (gate allows it)
        std::uint64_t startTick = 0;     // PIT tick at which `elapsedBase` was taken
        std::uint64_t elapsedBase = 0;   // ticks counted before startTick (gate pauses)
        // Access state (the datasheet's read/write flip-flops and latches).
        bool writeMsbNext = false, readMsbNext = false;
        std::uint8_t writeLsb = 0;
        bool countLatched = false, statusLatched = false, latchMsbNext = false;
        std::uint16_t latchedCount = 0;
        std::uint8_t latchedStatus = 0;

        [[nodiscard]] std::uint64_t elapsed(std::uint64_t nowNs) const;
        [[nodiscard]] std::uint16_t count(std::uint64_t nowNs) const;
        [[nodiscard]] bool out(std::uint64_t nowNs) const;
        // Absolute PIT tick of the next rising edge of OUT after `nowNs`, or ~0 (none).
        [[nodiscard]] std::uint64_t nextRisingEdgeTick(std::uint64_t nowNs) const;
        [[nodiscard]] std::uint8_t status(std::uint64_t nowNs) const;
        void setGate(bool level, std::uint64_t nowNs);
        void startCounting(std::uint64_t nowNs);
    };

    void writeControl(std::uint8_t v);
    void writeCounter(unsigned ch, std::uint8_t v);
    std::uint8_t readCounter(unsigned ch);
    void latchCount(Channel& c);
    std::uint8_t readPortB() const;
    void writePortB(std::uint8_t v);

    const Clock& clock_;
    IrqLine irq0_;
    std::array<Channel, 3> channels_{};
    std::uint8_t portB_ = 0;          // bits 0..3 as written (gate 2, speaker, parity/IOCHK masks)
    std::uint64_t lastAdvanceNs_ = 0;  // IRQ0 edges up to here are delivered
    bool irq0Level_ = false;
};

}  // namespace cxvm::hw
