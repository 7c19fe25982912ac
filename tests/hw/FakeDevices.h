#pragma once
// Test doubles for device tests: a clock the test moves by hand and an IRQ sink that
// records line levels and counts rising edges.
#include "hw/Clock.h"
#include "hw/Irq.h"

#include <array>
#include <cstdint>

namespace cxvm::hw::test {

struct FakeClock final : Clock {
    std::uint64_t now = 0;
    [[nodiscard]] std::uint64_t nowNs() const override { return now; }
};

struct IrqRecorder final : IrqSink {
    std::array<bool, 16> level{};
    std::array<unsigned, 16> risingEdges{};
    void setIrqLevel(unsigned line, bool l) override {
        if (l && !level[line]) ++risingEdges[line];
        level[line] = l;
    }
};

}  // namespace cxvm::hw::test
