#pragma once
// What the VM loop needs from the machine's devices, so that the loop is one piece of
// code for every board (the PC board, test boards). One virtual call per vCPU slice,
// never per instruction.
#include <cstdint>

namespace cxvm::vmm {

class Board {
public:
    virtual ~Board() = default;
    // Let time-based devices catch up to `nowNs` (raise due interrupts, status bits).
    virtual void advanceTo(std::uint64_t nowNs) = 0;
    // Earliest device deadline (hw::TimedDevice::kNever when none).
    [[nodiscard]] virtual std::uint64_t nextDeadlineNs() const = 0;
    // Console input: whether the console UART can take another byte now, and the byte.
    [[nodiscard]] virtual bool consoleCanAccept() const = 0;
    virtual void consoleInput(std::uint8_t byte) = 0;
};

}  // namespace cxvm::vmm
