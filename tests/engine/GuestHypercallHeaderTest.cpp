// guest/include/cxvm/hypercall.h compiles as C++ too, and outside cxvm it finds no gate
// (so a guest program run elsewhere never executes vmcall or the port write).
#include "../../guest/include/cxvm/hypercall.h"

#include "engine/HypercallGate.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

TEST(GuestHypercallHeader, FindsNoGateOutsideCxvm) {
    EXPECT_EQ(cxvm_hypercall_gate(), CXVM_GATE_NONE);  // this test process is no cxvm guest
    EXPECT_EQ(cxvm_hypercall1(4, 0), ~0u);
}

TEST(GuestHypercallHeader, AbiConstantsMatchTheEngine) {
    // The port must fit `outl %eax, $imm8` so EDX stays an argument register.
    EXPECT_LT(cxvm::engine::kHypercallPort, 0x100);
    const char sig[13] = {'c', 'x', 'v', 'm', 'C', 'X', 'V', 'M', 'c', 'x', 'v', 'm', 0};
    std::uint32_t words[3];
    std::memcpy(words, sig, 12);
    EXPECT_EQ(words[0], CXVM_CPUID_SIG_EBX);
    EXPECT_EQ(words[1], CXVM_CPUID_SIG_ECX);
    EXPECT_EQ(words[2], CXVM_CPUID_SIG_EDX);
}

}  // namespace
