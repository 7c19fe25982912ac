#pragma once
// Random 32-bit test cases for the differential bench. A case is a short snippet of
// instructions (ALU, shifts and rotates, mul/div, BCD, bit ops, string ops with REP and
// segment overrides, cmpxchg/xadd/bswap/cmov/setcc, push/pop/pusha/popf, enter/leave,
// call/ret, jcc, movzx/movsx, lea, x87), with random and edge-value registers, EFLAGS,
// memory window and x87 state. Every memory operand is addressed through one addressing
// form chosen per case (any ModRM/SIB form, 16-bit forms via 67h when the window is
// below 64 KiB) whose registers the case then never overwrites, so all accesses stay in
// the compared window. Flags the SDM or AMD's APM leave undefined are tracked through
// the sequence and left out of the comparison; instructions that would read them are
// not generated.
#include "DiffCase.h"

#include <cstdint>

namespace cxvm::x86::diff {

struct GeneratorOptions {
    unsigned maxInstructions = 4;
    bool fpu = true;        // x87 instructions
    bool addr16 = true;     // 16-bit addressing, if the layout allows it
};

class Generator {
public:
    Generator(const Layout& layout, GeneratorOptions options = {})
        : layout_(layout), options_(options) {}
    // Deterministic: the same id always gives the same case.
    DiffCase make(std::uint64_t id) const;

private:
    Layout layout_;
    GeneratorOptions options_;
};

}  // namespace cxvm::x86::diff
