/* The VMM side of the tutorial's poke (step 8 of "Adding a kernel module"): a handler
 * for hypercall 4, registered the way the tutorial registers it in main_continued.
 * Built into the VM component Init0 (CMakeLists.txt), so it runs inside vm0's VMM. */
#include <stdio.h>
#include <vmm/vmm.h>

static int poke_handler(vmm_vcpu_t *vmm_vcpu) {
    (void)vmm_vcpu;
    printf("POKE!!!\n");
    return 0;
}

/* CAmkES's start-up hook: runs in the VMM before the guest starts. */
void pre_init(void) {
    reg_new_handler(&vmm, poke_handler, 4);
}
