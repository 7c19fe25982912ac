#pragma once
// Real-time mode: guest time follows the host's CLOCK_MONOTONIC, counted from when the
// clock was created (the VM's start), so nowNs() starts near 0 like the guest expects.
#include "hw/Clock.h"

#include <cstdint>

namespace cxvm::hw {

class HostClock final : public Clock {
public:
    HostClock();
    [[nodiscard]] std::uint64_t nowNs() const override;

private:
    std::uint64_t startNs_;
};

}  // namespace cxvm::hw
