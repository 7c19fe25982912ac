/* hvinfo: which hypervisor this guest runs under (CPUID, via libcxvmguest). Also the
 * sample of a program linking a lib_src library. */
#include <cxvm/guest.h>
#include <stdio.h>

int main(void) {
    char sig[13];
    if (cxvm_hypervisor_signature(sig))
        printf("hypervisor: %s%s\n", sig, cxvm_is_cxvm() ? " (cxvm)" : "");
    else
        printf("hypervisor: none\n");
    return 0;
}
