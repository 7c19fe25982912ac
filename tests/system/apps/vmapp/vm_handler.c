/* The VMM-side code of the test app's VM component: hypercall 4 doubles EBX. */
#include <camkes.h>

#include <stdio.h>

static int double_it(vmm_vcpu_t *vcpu) {
    uint32_t ebx = vmm_read_user_context(&vcpu->guest_state, USER_CONTEXT_EBX);
    printf("%s: APP POKE ebx=%u\n", get_instance_name(), ebx);
    vmm_set_user_context(&vcpu->guest_state, USER_CONTEXT_EAX, ebx * 2 + 7);
    return 0;
}

void pre_init(void) { reg_new_handler(&vmm, double_it, 4); }
