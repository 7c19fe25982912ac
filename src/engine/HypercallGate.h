#pragma once
// Host side of the hypercall ABI (guest/include/cxvm/hypercall_abi.h is the one
// definition, shared with guest C code).
#include "../../guest/include/cxvm/hypercall_abi.h"

#include <cstdint>

namespace cxvm::engine {

inline constexpr std::uint32_t kCpuidBase = CXVM_CPUID_BASE;
inline constexpr std::uint32_t kCpuidFeatures = CXVM_CPUID_FEATURES;
inline constexpr std::uint32_t kCpuidSigEbx = CXVM_CPUID_SIG_EBX;
inline constexpr std::uint32_t kCpuidSigEcx = CXVM_CPUID_SIG_ECX;
inline constexpr std::uint32_t kCpuidSigEdx = CXVM_CPUID_SIG_EDX;
inline constexpr std::uint32_t kFeatureVmcall = CXVM_FEATURE_VMCALL;
inline constexpr std::uint32_t kFeaturePortGate = CXVM_FEATURE_PORT_GATE;
inline constexpr std::uint16_t kHypercallPort = CXVM_HYPERCALL_PORT;
inline constexpr std::uint32_t kHypercallEnosys = CXVM_HYPERCALL_ENOSYS;

}  // namespace cxvm::engine
