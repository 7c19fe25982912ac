#include "engine/KvmCpuid.h"

#include "engine/HypercallGate.h"

#include <linux/kvm_para.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace cxvm::engine {

namespace {

constexpr std::uint32_t bit(unsigned n) { return 1u << n; }

// Feature bits cxvm passes through (Intel SDM Vol. 2A, CPUID; AMD APM Vol. 3 E.3).
// Everything else is cleared: monitor/mwait (cxvm does not emulate it), VMX/SVM (no
// nesting offered), debug store, PMU, thermal and power leaves, SGX/PT, and the APIC
// family unless the in-kernel irqchip provides a local APIC.
struct LeafMask {
    std::uint32_t function;
    std::uint32_t eax, ebx, ecx, edx;  // allowed bits
};

constexpr std::uint32_t kAll = ~0u;
constexpr std::uint32_t kLeaf1Edx = bit(0) | bit(1) | bit(2) | bit(3) | bit(4) | bit(5) | bit(6) |
                                    bit(7) | bit(8) | bit(11) | bit(12) | bit(13) | bit(14) |
                                    bit(15) | bit(16) | bit(17) | bit(19) | bit(23) | bit(24) |
                                    bit(25) | bit(26);  // FPU..PSE36, CLFSH, MMX, FXSR, SSE, SSE2
constexpr std::uint32_t kLeaf1EdxApic = bit(9);
constexpr std::uint32_t kLeaf1Ecx = bit(0) | bit(1) | bit(9) | bit(12) | bit(13) | bit(17) |
                                    bit(19) | bit(20) | bit(22) | bit(23) | bit(25) | bit(26) |
                                    bit(27) | bit(28) | bit(29) | bit(30);
constexpr std::uint32_t kLeaf1EcxApic = bit(21) | bit(24);  // x2APIC, TSC-deadline
constexpr std::uint32_t kHypervisorPresent = bit(31);

constexpr LeafMask kMasks[] = {
    {0x0, kAll, kAll, kAll, kAll},
    {0x1, kAll, kAll, kLeaf1Ecx, kLeaf1Edx},
    {0x2, kAll, kAll, kAll, kAll},
    {0x4, kAll, kAll, kAll, kAll},
    // FSGSBASE, BMI1, AVX2, SMEP, BMI2, ERMS, INVPCID, ADX, SMAP, CLFLUSHOPT, SHA
    {0x7, 0, bit(0) | bit(3) | bit(5) | bit(7) | bit(8) | bit(9) | bit(10) | bit(19) | bit(20) |
                 bit(23) | bit(29),
     0, 0},
    {0xB, kAll, kAll, kAll, kAll},
    {0xD, kAll, kAll, kAll, kAll},
    {0x80000000, kAll, kAll, kAll, kAll},
    // ECX: LAHF, LZCNT, SSE4A, misaligned SSE, PREFETCHW. EDX: SYSCALL, NX, 1G pages,
    // RDTSCP, LM; and the AMD copies of leaf 1 EDX bits.
    {0x80000001, kAll, kAll, bit(0) | bit(5) | bit(6) | bit(7) | bit(8),
     (kLeaf1Edx & 0x0183F3FF) | bit(11) | bit(20) | bit(26) | bit(27) | bit(29)},
    {0x80000002, kAll, kAll, kAll, kAll},
    {0x80000003, kAll, kAll, kAll, kAll},
    {0x80000004, kAll, kAll, kAll, kAll},
    {0x80000005, kAll, kAll, kAll, kAll},
    {0x80000006, kAll, kAll, kAll, kAll},
    {0x80000007, 0, 0, 0, bit(8)},  // invariant TSC only: the guest TSC is the host's
    {0x80000008, kAll, kAll, kAll, 0},
};
constexpr std::uint32_t kMaxBasic = 0xD;
constexpr std::uint32_t kMaxExtended = 0x80000008;
// XSAVE components offered: x87, SSE, AVX (leaf 0xD subleaf 0 EAX and subleaves 2..).
constexpr std::uint32_t kXcr0Allowed = bit(0) | bit(1) | bit(2);
// KVM paravirtual features offered (Documentation/virt/kvm/x86/cpuid.rst): kvmclock (both
// MSR sets and the stable bit, all handled inside KVM) and the no-op I/O delay (no exit
// per port 0x80 write of outb_p). Not PV EOI, async PF, steal time or PV unhalt: they
// need an in-kernel local APIC, VMM support or several vCPUs.
constexpr std::uint32_t kKvmFeaturesOffered = bit(KVM_FEATURE_CLOCKSOURCE) |
                                              bit(KVM_FEATURE_NOP_IO_DELAY) |
                                              bit(KVM_FEATURE_CLOCKSOURCE2) |
                                              bit(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);

const LeafMask* maskFor(std::uint32_t function) {
    for (const auto& m : kMasks)
        if (m.function == function) return &m;
    return nullptr;
}

}  // namespace

std::vector<kvm_cpuid_entry2> buildGuestCpuid(std::span<const kvm_cpuid_entry2> supported,
                                              const CpuidPolicy& policy) {
    std::vector<kvm_cpuid_entry2> out;
    for (kvm_cpuid_entry2 e : supported) {
        const LeafMask* m = maskFor(e.function);
        if (!m) continue;
        if (e.function == 0xD && e.index >= 2 && e.index < 32 && !(kXcr0Allowed & bit(e.index)))
            continue;
        e.eax &= m->eax;
        e.ebx &= m->ebx;
        e.ecx &= m->ecx;
        e.edx &= m->edx;
        switch (e.function) {
        case 0x0:
            e.eax = std::min(e.eax, kMaxBasic);
            break;
        case 0x1:
            e.ecx |= kHypervisorPresent;
            if (policy.localApic) e.edx |= kLeaf1EdxApic;
            // EBX[31:24] initial APIC ID; [23:16] logical processors: one per package.
            e.ebx = (e.ebx & 0x0000FFFF) | (policy.vcpuIndex << 24) | (1u << 16);
            break;
        case 0xB:
            e.edx = policy.vcpuIndex;  // x2APIC ID
            break;
        case 0xD:
            if (e.index == 0) {
                e.eax &= kXcr0Allowed;
                e.edx = 0;
            }
            if (e.index == 1) e.eax &= bit(0) | bit(1) | bit(2);  // XSAVEOPT, XSAVEC, XGETBV1
            break;
        case 0x80000000:
            e.eax = std::min(e.eax, kMaxExtended);
            break;
        default:
            break;
        }
        out.push_back(e);
    }
    if (policy.localApic) {
        // x2APIC and TSC-deadline only when the host offers them with the in-kernel APIC.
        for (const auto& s : supported)
            if (s.function == 1)
                for (auto& e : out)
                    if (e.function == 1) e.ecx |= s.ecx & kLeaf1EcxApic;
    }
    kvm_cpuid_entry2 base{};
    base.function = kCpuidBase;
    base.eax = kCpuidFeatures;
    base.ebx = kCpuidSigEbx;
    base.ecx = kCpuidSigEcx;
    base.edx = kCpuidSigEdx;
    out.push_back(base);
    kvm_cpuid_entry2 features{};
    features.function = kCpuidFeatures;
    features.eax = kFeaturePortGate;
    features.ebx = kHypercallPort;
    out.push_back(features);
    if (policy.kvmClock) {
        // KVM reports its own leaves at 0x40000000/1 in the supported list; the guest
        // finds them by signature at any 0x100 step (Linux hypervisor_cpuid_base()).
        for (const auto& s : supported) {
            if (s.function != KVM_CPUID_FEATURES || (s.eax & kKvmFeaturesOffered) == 0) continue;
            kvm_cpuid_entry2 sig{};
            sig.function = kKvmParavirtCpuidBase;
            sig.eax = kKvmParavirtCpuidBase + 1;
            std::memcpy(&sig.ebx, "KVMK", 4);
            std::memcpy(&sig.ecx, "VMKV", 4);
            std::memcpy(&sig.edx, "M\0\0\0", 4);
            out.push_back(sig);
            kvm_cpuid_entry2 kvmFeatures{};
            kvmFeatures.function = kKvmParavirtCpuidBase + 1;
            kvmFeatures.eax = s.eax & kKvmFeaturesOffered;
            out.push_back(kvmFeatures);
            break;
        }
    }
    return out;
}

}  // namespace cxvm::engine
