#pragma once
// Runs one x87 instruction on the host's own FPU (x86-64 hosts). The guest state travels
// in an FNSAVE image: FRSTOR it, execute the very same ESC opcode and ModRM (memory forms
// are re-encoded to address a host buffer), FNSAVE it back. FNSAVE does not wait, so an
// unmasked exception the instruction raised is captured in the image (ES set) instead of
// trapping the host; the host's own x87 control word is restored afterwards.
#include "x86/X87.h"

#include <cstdint>

namespace cxvm::x86 {

// True when this build can execute x87 instructions on the host.
bool x87HostAvailable();

// Executes (opcode, modrm) with the state in img. operand points at the memory operand
// (a buffer of at least 16 bytes) for memory forms. eflagsIn supplies CF/PF/ZF for
// FCMOVcc; the return value is the host's arithmetic flags afterwards (FCOMI).
std::uint32_t x87HostRun(X87HostImage& img, std::uint8_t opcode, std::uint8_t modrm,
                         void* operand, std::uint32_t eflagsIn);

}  // namespace cxvm::x86
