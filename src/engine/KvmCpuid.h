#pragma once
// The CPUID a kvm-engine guest sees: the host's KVM_GET_SUPPORTED_CPUID filtered to
// what cxvm backs (docs/kvm.md "CPUID"), plus cxvm's hypervisor leaves that advertise
// the port-I/O hypercall gate (guest/include/cxvm/hypercall_abi.h).
#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <vector>

namespace cxvm::engine {

struct CpuidPolicy {
    unsigned vcpuIndex = 0;
    // The in-kernel irqchip gives each vCPU a local APIC; without it the guest must not
    // see APIC, x2APIC or TSC-deadline.
    bool localApic = false;
    // KVM's paravirtual clock (kvmclock) and no-op I/O delay, at CPUID 0x40000100 where a
    // guest looks for "KVMKVMKVM" after cxvm's own leaves: a guest on slow exits (nested
    // KVM) cannot calibrate its TSC against the PIT and would read the PIT as its clock
    // (docs/kvm.md "TSC and clock").
    bool kvmClock = true;
};

// Where the KVM paravirtual leaves sit in the guest's CPUID (cxvm's own are at 0x40000000).
inline constexpr std::uint32_t kKvmParavirtCpuidBase = 0x40000100;

std::vector<kvm_cpuid_entry2> buildGuestCpuid(std::span<const kvm_cpuid_entry2> supported,
                                              const CpuidPolicy& policy);

}  // namespace cxvm::engine
