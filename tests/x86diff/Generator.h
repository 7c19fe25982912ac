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

// What runs the cases natively. Real CPUs are the oracle proper. QEMU's TCG (the
// nested L1 on hosts that cannot run 32-bit code, scripts/nested/run-diff-oracle)
// deviates from them in the adjudicated ways docs/x86-diff.md lists ("Oracle in the
// nested L1"), so with it the generator leaves those forms out: a misplaced LOCK (TCG
// runs it instead of #UD, and `lock bt r, r` aborts QEMU), writes through CS (TCG does
// not check segment types on data accesses), FLDCW with the reserved bit 6 clear (TCG
// keeps it; CPUs read it as 1) or unmasking exceptions (TCG sets no ES/B for a pending
// one and FNSTENV leaves them unmasked), the 32-bit FNSTENV/FNSAVE layouts (TCG zeroes the
// reserved upper halves CPUs fill with 1s) and CMPXCHG8B (TCG corrupts the flags it
// must keep, DF included); it leaves FIP in FNSTENV/FNSAVE images out of the comparison
// (TCG moves it on control instructions) and treats OF SF AF after FCOMI as undefined
// (TCG keeps them; the SDM clears them). In the 16-bit stack sections it generates no far
// CALL/RET (TCG makes their stack accesses as supervisor: with SMAP, L1's kernel oopses),
// and before an o32 ENTER it makes EBP[31:16] equal to ESP[31:16] (whether that ENTER
// writes BP or EBP is open: docs/x86-diff.md, finding 6).
enum class Oracle { Cpu, QemuTcg };

struct GeneratorOptions {
    unsigned maxInstructions = 4;
    bool fpu = true;        // x87 instructions
    bool addr16 = true;     // 16-bit addressing, if the layout allows it
    Oracle oracle = Oracle::Cpu;
    // Sections on a 16-bit stack (SS = Layout::kStack16Selector, SS.B = 0) in about one
    // case in five, drawn from their own random stream: with this off, or in a case
    // without one, make(id) is what it was before they existed. Needs the runner's LDT
    // entry (NativeRunner::stack16Usable()); CXVM_DIFF_STACK16=0 turns it off.
    bool stack16 = true;
    // The oracle named by CXVM_DIFF_ORACLE: "qemu-tcg" selects Oracle::QemuTcg.
    static GeneratorOptions fromEnvironment();
};
// A readable name of the oracle CXVM_DIFF_ORACLE names ("host CPU" without it).
const char* oracleName();

class Generator {
public:
    Generator(const Layout& layout, GeneratorOptions options = {})
        : layout_(layout), options_(options) {}
    // Deterministic: the same id always gives the same case.
    DiffCase make(std::uint64_t id) const;
    // A case that is mostly MMX/SSE/SSE2 (SimdForms in Generator.cpp), with random XMM
    // registers (edge floats and doubles, NaNs, denormals) and MXCSR (rounding, DAZ,
    // FZ; exceptions unmasked now and then where the oracle is a CPU). Its own id
    // space: make(id) is unchanged.
    DiffCase makeSimd(std::uint64_t id) const;

private:
    Layout layout_;
    GeneratorOptions options_;
};

}  // namespace cxvm::x86::diff
