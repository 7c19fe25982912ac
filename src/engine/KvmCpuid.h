#pragma once
// The CPUID a kvm-engine guest sees: the host's KVM_GET_SUPPORTED_CPUID filtered to
// what cxvm backs (docs/kvm.md "CPUID"), plus cxvm's hypervisor leaves that advertise
// the port-I/O hypercall gate (guest/include/cxvm/hypercall_abi.h).
#include <linux/kvm.h>

#include <span>
#include <vector>

namespace cxvm::engine {

struct CpuidPolicy {
    unsigned vcpuIndex = 0;
    // The in-kernel irqchip gives each vCPU a local APIC; without it the guest must not
    // see APIC, x2APIC or TSC-deadline.
    bool localApic = false;
};

std::vector<kvm_cpuid_entry2> buildGuestCpuid(std::span<const kvm_cpuid_entry2> supported,
                                              const CpuidPolicy& policy);

}  // namespace cxvm::engine
