/* cxvm hypercall ABI: constants shared by the VMM (C++) and guest code (C, kernel or
 * user). Documented in docs/kvm.md "Hypercalls"; the call convention is
 * ../shared/docs/architecture.md "Hypercalls": token in EAX, arguments in EBX, ECX,
 * EDX, ESI, result in EAX.
 *
 * Discovery (CPUID, the hypervisor range of Intel SDM Vol. 2A "CPUID", AMD APM Vol. 3
 * E.3.x; Linux scans 0x40000000..0x4000ff00 in steps of 0x100 the same way):
 *   leaf 0x40000000: EAX = highest cxvm leaf (0x40000001),
 *                    EBX, ECX, EDX = "cxvmCXVMcxvm" (12 bytes, little endian)
 *   leaf 0x40000001: EAX = CXVM_FEATURE_* bits, EBX = CXVM_HYPERCALL_PORT
 *
 * Gates:
 *   CXVM_FEATURE_VMCALL: `vmcall`/`vmmcall` reach the VMM (the interp engine).
 *   CXVM_FEATURE_PORT_GATE: `outl %eax, $CXVM_HYPERCALL_PORT` is the hypercall (the kvm
 *   engine: stock KVM answers vmcall itself and never tells userspace). The port is
 *   below 0x100 so the OUT can take it as an immediate and leave EDX free for the third
 *   argument. 0xE0 is unassigned on the PC/AT (IBM PC AT Technical Reference, I/O map). */
#ifndef CXVM_HYPERCALL_ABI_H
#define CXVM_HYPERCALL_ABI_H

#define CXVM_CPUID_BASE 0x40000000u
#define CXVM_CPUID_FEATURES 0x40000001u
/* "cxvm" "CXVM" "cxvm" as EBX, ECX, EDX */
#define CXVM_CPUID_SIG_EBX 0x6d767863u
#define CXVM_CPUID_SIG_ECX 0x4d565843u
#define CXVM_CPUID_SIG_EDX 0x6d767863u

#define CXVM_FEATURE_VMCALL 0x1u
#define CXVM_FEATURE_PORT_GATE 0x2u

#define CXVM_HYPERCALL_PORT 0xE0u

/* Tokens 1..3 are the cross-VM connectors (crossvm-abi.md); user handlers start at 4. */
#define CXVM_HYPERCALL_FIRST_USER 4u

/* Returned in EAX when no handler is registered for the token (as KVM's -KVM_ENOSYS). */
#define CXVM_HYPERCALL_ENOSYS 0xFFFFFC18u /* (uint32_t)-1000 */

#endif
