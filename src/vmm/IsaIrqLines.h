#pragma once
// The ISA interrupt lines of a board as wired-OR lines: each device (or VMM component)
// that drives line N gets its own source, and the interrupt controller's input N is the
// OR of them. Needed where two sources share a line — IRQ 12 is the i8042's AUX port
// and the cross-VM event IRQ (crossvm-abi.md) — so that one source lowering its level
// cannot drop another's. As on a real shared ISA line, an edge-triggered input sees a
// rising edge only when the OR rises; the cross-VM events hold their level until the
// guest ACKs and the i8042 raises AUX only while it holds AUX output (with no mouse
// attached: during Linux's boot-time AUX probe), so the two do not mask each other.
#include "hw/Irq.h"
#include "util/Error.h"

#include <array>
#include <bit>
#include <cstdint>

namespace cxvm::vmm {

class IsaIrqLines final : public hw::IrqSink {
public:
    static constexpr unsigned kLines = 16;
    static constexpr unsigned kMaxSources = 32;  // per line

    explicit IsaIrqLines(hw::IrqSink& controller) : controller_(controller) {}

    // A new source on `irq`. Throws cxvm::Error past kLines or kMaxSources.
    [[nodiscard]] hw::IrqLine claim(unsigned irq) {
        if (irq >= kLines) throw Error::format("ISA IRQ {} does not exist (0..{})", irq, kLines - 1);
        if (sources_[irq] >= kMaxSources)
            throw Error::format("ISA IRQ {}: more than {} sources", irq, kMaxSources);
        return hw::IrqLine(*this, irq | (sources_[irq]++ << 4));
    }

    // `code` = line | source << 4 (from claim()).
    void setIrqLevel(unsigned code, bool level) override {
        const unsigned irq = code & 15, bit = code >> 4;
        const bool was = levels_[irq] != 0;
        if (level)
            levels_[irq] |= 1u << bit;
        else
            levels_[irq] &= ~(1u << bit);
        const bool now = levels_[irq] != 0;
        if (now != was) controller_.setIrqLevel(irq, now);
    }

    // The OR of line `irq`'s sources.
    [[nodiscard]] bool level(unsigned irq) const { return levels_[irq & 15] != 0; }

private:
    hw::IrqSink& controller_;
    std::array<std::uint32_t, kLines> levels_{};
    std::array<unsigned, kLines> sources_{};
};

}  // namespace cxvm::vmm
