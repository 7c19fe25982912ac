#include <cxvm/guest.h>

#include <cpuid.h>
#include <string.h>

int cxvm_hypervisor_signature(char sig[13]) {
    unsigned a, b, c, d;
    /* CPUID.1:ECX bit 31 is reserved for hypervisors to say they are there (SDM Vol. 2A,
     * CPUID; leaves 0x40000000+ are the hypervisor range). */
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31))) return 0;
    __cpuid(0x40000000, a, b, c, d);
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    sig[12] = 0;
    return 1;
}

int cxvm_is_cxvm(void) {
    char sig[13];
    return cxvm_hypervisor_signature(sig) && strcmp(sig, "cxvmcxvmcxvm") == 0;
}
