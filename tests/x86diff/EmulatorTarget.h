#pragma once
// The emulator side of the bench: cxvm's x86::Cpu in flat 32-bit protected mode at CPL 3
// (as the host runs the snippet), exceptions ending the run. The snippet is followed by
// UD2; #UD there is the normal end.
#include "DiffCase.h"

#include <memory>

namespace cxvm::x86::diff {

// Null when this build has no CPU core (src/x86/Cpu.h) yet.
// `compiled`: every translated block runs as compiled host code (x86/jit), from its
// first execution; otherwise interpreted only.
std::unique_ptr<DiffTarget> makeEmulatorTarget(const Layout& layout, bool compiled = false);

}  // namespace cxvm::x86::diff
