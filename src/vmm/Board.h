#pragma once
// What the VM loop needs from the machine's devices, so that the loop is one piece of
// code for every board (the PC board, test boards). One virtual call per vCPU slice,
// never per instruction.
#include "hw/Irq.h"
#include "hw/vfio/VfioFds.h"

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
    // A new source on ISA interrupt line `irq` (0..15), wired-OR with the board's own
    // devices on that line (a shared line stays raised while any source raises it).
    // Unconnected (IrqLine::connected() false) when the board has no such line.
    // Drive it from the VM thread only, like every device.
    [[nodiscard]] virtual hw::IrqLine isaIrq(unsigned /*irq*/) { return {}; }
    // The VFIO descriptors of passed-through functions (none: container -1), for the VM
    // instance's sandbox (docs/passthrough.md "System runs").
    [[nodiscard]] virtual hw::vfio::VfioFds passthroughFds() const { return {}; }
};

}  // namespace cxvm::vmm
