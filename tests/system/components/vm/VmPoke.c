/* VMM-side app code of the VM fixture VmPoke (the tutorial's poke handler), misbehaving
 * as its instance name says. The guest (a tiny ROM) makes hypercall 4 with EBX = 21. */
#include <camkes.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int is(const char *name) { return strcmp(get_instance_name(), name) == 0; }

static int poke_handler(vmm_vcpu_t *vcpu) {
    /* `spinner` runs the same ROM as `good` but must never end the system first: it
     * waits in its handler until the supervisor stops the system (SIGTERM), then goes. */
    if (is("spinner")) {
        pause();
        _exit(0);
    }
    uint32_t ebx = vmm_read_user_context(&vcpu->guest_state, USER_CONTEXT_EBX);
    printf("POKE!!! eax=%u ebx=%u\n", vmm_read_user_context(&vcpu->guest_state, USER_CONTEXT_EAX),
           ebx);
    if (is("failing")) return 1;
    if (is("killer")) {
        printf("dying");
        raise(SIGKILL); /* no handler runs: the supervisor must restore the terminal */
    }
    if (is("sigsys")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        printf("socket returned %d\n", s);
    }
    vmm_set_user_context(&vcpu->guest_state, USER_CONTEXT_EAX, ebx * 2 + 7);
    return 0;
}

static int poke_again(vmm_vcpu_t *vcpu) {
    (void)vcpu;
    return 0;
}

void pre_init(void) {
    if (is("reserved")) {
        int rc = reg_new_handler(&vmm, poke_handler, 2);
        printf("reg_new_handler(2) = %d\n", rc);
        return;
    }
    reg_new_handler(&vmm, poke_handler, 4);
    if (is("dup")) {
        int rc = reg_new_handler(&vmm, poke_again, 4);
        printf("reg_new_handler(4) again = %d\n", rc);
    }
}
