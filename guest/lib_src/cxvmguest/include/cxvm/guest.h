/* libcxvmguest: small facts about the machine a guest program runs on. */
#ifndef CXVM_GUEST_H
#define CXVM_GUEST_H

/* Fills sig (13 bytes) with the hypervisor's CPUID signature (leaf 0x40000000) and
 * returns 1, or returns 0 when CPUID.1:ECX[31] says there is no hypervisor. */
int cxvm_hypervisor_signature(char sig[13]);

/* 1 when the hypervisor is cxvm (signature "cxvmcxvmcxvm"). */
int cxvm_is_cxvm(void);

#endif
