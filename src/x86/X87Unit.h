#pragma once
// The CPU's handle on the x87 FPU (X87.h): the FPU of this CPU model is always present
// (CPUID.1:EDX.FPU); CR0.EM/TS decide whether ESC instructions reach it.
#include "x86/X87.h"

#include <memory>

#define CXVM_HAVE_X87 1

namespace cxvm::x86 {
class X87Unit : public X87 {};
inline std::unique_ptr<X87Unit> makeX87Unit() { return std::make_unique<X87Unit>(); }
}  // namespace cxvm::x86
