/* VmPinger: a VM component whose app code only says hello; the guest (a tiny ROM) emits
 * `ping` through cxvm's cross-VM connector (hypercall 3). */
#include <camkes.h>

#include <stdio.h>

void pre_init(void) { printf("pinger VMM up\n"); }
