// The PC board: the src/hw devices at their ISA ports and IRQs, wired to the VM's
// console and stop latch.
#include "hw/DebugExit.h"
#include "hw/I8042.h"
#include "hw/PciHost.h"
#include "hw/Pic8259.h"
#include "hw/Pit8254.h"
#include "hw/Port80.h"
#include "hw/ResetControl.h"
#include "hw/RtcCmos.h"
#include "hw/Uart16550.h"
#include "vmm/IsaIrqLines.h"
#include "vmm/Vm.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace cxvm::vmm {
namespace {

// --deterministic: the RTC starts at a fixed time, not the host's (2026-01-01 00:00 UTC).
constexpr std::int64_t kDeterministicEpoch = 1767225600;

class PcBoard final : public Board {
public:
    explicit PcBoard(BoardContext& c)
        : pic_(c.pins),
          irqs_(pic_),
          pit_(c.clock, irqs_.claim(0)),
          rtc_(c.clock, irqs_.claim(hw::RtcCmos::kIrq),
               {c.deterministic ? kDeterministicEpoch : hw::RtcCmos::hostUnixSeconds(),
                c.memory.ramSize(), 1}),
          com1_("com1", c.clock, irqs_.claim(hw::Uart16550::kCom1Irq),
                [&console = c.console](std::span<const std::uint8_t> b) { console.write(b); }),
          com2_("com2", c.clock, irqs_.claim(hw::Uart16550::kCom2Irq), {}),
          i8042_(irqs_.claim(hw::I8042::kKeyboardIrq), irqs_.claim(hw::I8042::kAuxIrq),
                 [&stops = c.stops] {
                     stops.request(StopKind::Reset, 0, "guest reset (i8042 reset line)");
                 }),
          debugExit_([&stops = c.stops](const hw::DebugExit::Request& r) {
              stops.request(StopKind::DebugExit, r.status,
                            fmt::format("debug-exit port: guest wrote {:#x}", r.value));
          }),
          resetControl_([&stops = c.stops](bool hard) {
              stops.request(StopKind::Reset, 0,
                            fmt::format("guest reset ({} reset via port 0xcf9)", hard ? "hard" : "soft"));
          }) {
        c.pins.controller = &pic_;
        pic_.attach(c.io);
        pit_.attach(c.io);
        rtc_.attach(c.io);
        com1_.attach(c.io, hw::Uart16550::kCom1Port);
        com2_.attach(c.io, hw::Uart16550::kCom2Port);
        i8042_.attach(c.io);
        port80_.attach(c.io);
        debugExit_.attach(c.io);
        pci_.setNarrowCf8Handler(resetControl_);
        pci_.attach(c.io);
    }

    void advanceTo(std::uint64_t nowNs) override {
        for (hw::TimedDevice* d : timed_) d->advanceTo(nowNs);
    }
    [[nodiscard]] std::uint64_t nextDeadlineNs() const override {
        std::uint64_t next = hw::TimedDevice::kNever;
        for (const hw::TimedDevice* d : timed_) next = std::min(next, d->nextDeadlineNs());
        return next;
    }
    [[nodiscard]] bool consoleCanAccept() const override { return com1_.rxSpace() > 0; }
    void consoleInput(std::uint8_t byte) override { com1_.receive({&byte, 1}); }
    // IRQ 12 is shared with the i8042's AUX port (IsaIrqLines says why that is safe).
    [[nodiscard]] hw::IrqLine isaIrq(unsigned irq) override {
        if (irq == hw::Pic8259Pair::kCascadeIrq) return {};  // the slave PIC's INT
        return irqs_.claim(irq);
    }

private:
    hw::Pic8259Pair pic_;
    IsaIrqLines irqs_;  // every device drives its line through here (wired-OR)
    hw::Pit8254 pit_;
    hw::RtcCmos rtc_;
    hw::Uart16550 com1_, com2_;
    hw::I8042 i8042_;
    hw::Port80 port80_;
    hw::DebugExit debugExit_;
    hw::ResetControl resetControl_;
    hw::PciHost pci_;
    std::array<hw::TimedDevice*, 4> timed_{&pit_, &rtc_, &com1_, &com2_};
};

}  // namespace

std::unique_ptr<Board> createPcBoard(BoardContext& ctx) { return std::make_unique<PcBoard>(ctx); }

}  // namespace cxvm::vmm
