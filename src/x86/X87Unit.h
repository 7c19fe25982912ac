#pragma once
// The CPU's handle on the x87 FPU (X87.h, written separately). When the FPU is not part
// of this build the CPU has no FPU: CPUID.1:EDX.FPU is clear and ESC raises #NM/#UD.
#include <memory>

#if __has_include("x86/X87.h")
#include "x86/X87.h"
#define CXVM_HAVE_X87 1
namespace cxvm::x86 {
class X87Unit : public X87 {};
inline std::unique_ptr<X87Unit> makeX87Unit() { return std::make_unique<X87Unit>(); }
}  // namespace cxvm::x86
#else
#define CXVM_HAVE_X87 0
namespace cxvm::x86 {
class X87Unit {
public:
    void reset() {}
};
inline std::unique_ptr<X87Unit> makeX87Unit() { return nullptr; }
}  // namespace cxvm::x86
#endif
