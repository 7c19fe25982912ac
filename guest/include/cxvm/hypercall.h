/* cxvm hypercalls from guest code: picks the gate the VMM advertises through CPUID
 * (hypercall_abi.h). Works in Linux kernel modules (include it as
 * <cxvm/hypercall.h> with -I<cxvm>/guest/include) and in user programs that have I/O
 * permission (ioperm) or run where vmcall is allowed. No libc or kernel headers needed.
 *
 * Mapping from the seed's poke module: `kvm_hypercall1(4, 0)` from <asm/kvm_para.h> is
 * `vmcall` (patched to `vmmcall` on AMD) with RAX=4, RBX=0: on the interp engine it reaches
 * the VMM's handler 4; on the kvm engine stock KVM answers it itself with -KVM_ENOSYS
 * (-1000) and cxvm never sees it. `cxvm_hypercall1(4, 0)` uses the same registers and the
 * same handler table on both engines. */
#ifndef CXVM_HYPERCALL_H
#define CXVM_HYPERCALL_H

#include "hypercall_abi.h"

#if !(defined(__i386__) || defined(__x86_64__))
#error "cxvm hypercalls are x86 only"
#endif

enum cxvm_gate { CXVM_GATE_NONE = 0, CXVM_GATE_VMCALL = 1, CXVM_GATE_PORT = 2 };

static inline void cxvm_cpuid(unsigned leaf, unsigned* a, unsigned* b, unsigned* c, unsigned* d) {
    __asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0u));
}

/* Which gate the VMM offers; CXVM_GATE_NONE when not running under cxvm. The port
 * gate wins when both are offered (it is the one that works on every engine). */
static inline enum cxvm_gate cxvm_hypercall_gate(void) {
    unsigned a, b, c, d;
    cxvm_cpuid(1, &a, &b, &c, &d);
    if (!(c & (1u << 31))) return CXVM_GATE_NONE; /* no hypervisor present bit */
    cxvm_cpuid(CXVM_CPUID_BASE, &a, &b, &c, &d);
    if (b != CXVM_CPUID_SIG_EBX || c != CXVM_CPUID_SIG_ECX || d != CXVM_CPUID_SIG_EDX ||
        a < CXVM_CPUID_FEATURES)
        return CXVM_GATE_NONE;
    cxvm_cpuid(CXVM_CPUID_FEATURES, &a, &b, &c, &d);
    if ((a & CXVM_FEATURE_PORT_GATE) && b == CXVM_HYPERCALL_PORT) return CXVM_GATE_PORT;
    if (a & CXVM_FEATURE_VMCALL) return CXVM_GATE_VMCALL;
    return CXVM_GATE_NONE;
}

/* The hypercall itself. Returns EAX; (unsigned)-1 (and no call) when no gate exists. */
static inline unsigned cxvm_hypercall4(unsigned token, unsigned a0, unsigned a1, unsigned a2,
                                       unsigned a3) {
    static enum cxvm_gate gate = (enum cxvm_gate)-1;
    unsigned ret;
    if (gate == (enum cxvm_gate)-1) gate = cxvm_hypercall_gate();
    if (gate == CXVM_GATE_PORT) {
        __asm__ __volatile__("outl %%eax, %[port]"
                             : "=a"(ret)
                             : "a"(token), "b"(a0), "c"(a1), "d"(a2), "S"(a3),
                               [port] "i"(CXVM_HYPERCALL_PORT)
                             : "memory");
    } else if (gate == CXVM_GATE_VMCALL) {
        __asm__ __volatile__("vmcall"
                             : "=a"(ret)
                             : "a"(token), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
                             : "memory");
    } else {
        ret = ~0u;
    }
    return ret;
}

static inline unsigned cxvm_hypercall0(unsigned token) { return cxvm_hypercall4(token, 0, 0, 0, 0); }
static inline unsigned cxvm_hypercall1(unsigned token, unsigned a0) {
    return cxvm_hypercall4(token, a0, 0, 0, 0);
}
static inline unsigned cxvm_hypercall2(unsigned token, unsigned a0, unsigned a1) {
    return cxvm_hypercall4(token, a0, a1, 0, 0);
}
static inline unsigned cxvm_hypercall3(unsigned token, unsigned a0, unsigned a1, unsigned a2) {
    return cxvm_hypercall4(token, a0, a1, a2, 0);
}

#endif
