/* <vmm/vmm.h>: the VMM-side C API of a VM component (the seed tutorial's poke handler).
 *
 * App code linked into a VM component's executable (DeclareCAmkESComponent(Init0
 * SOURCES poke_handler.c) where Init0 is a VM type) runs inside that VM instance's
 * VMM process. It registers hypercall handlers from the CAmkES start-up hook, before
 * the guest starts:
 *
 *     static int poke_handler(vmm_vcpu_t *vcpu) {
 *         printf("POKE!!! ebx=%u\n", vmm_read_user_context(&vcpu->guest_state,
 *                                                         USER_CONTEXT_EBX));
 *         vmm_set_user_context(&vcpu->guest_state, USER_CONTEXT_EAX, 0);
 *         return 0;
 *     }
 *     void pre_init(void) { reg_new_handler(&vmm, poke_handler, 4); }
 *
 * The guest makes hypercall N with the token in EAX and arguments in EBX, ECX, EDX, ESI
 * (Linux's kvm_hypercallN); the handler sees EAX..EBP and may change them; the guest's
 * EAX after the call is whatever the handler left there. A handler returning 0 resumes
 * the guest after the hypercall instruction; non-zero stops the VM with a message naming
 * the token and the guest's EIP. Tokens 1..3 belong to cxvm's cross-VM connectors; user
 * tokens start at 4. Handlers run on the vCPU's thread, one at a time; printf output is
 * line-buffered and reaches the terminal or the instance's output promptly. */
#ifndef CXVM_VMM_VMM_H
#define CXVM_VMM_VMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Register indices of a guest_state (the reference's order). */
#define USER_CONTEXT_EAX 0
#define USER_CONTEXT_EBX 1
#define USER_CONTEXT_ECX 2
#define USER_CONTEXT_EDX 3
#define USER_CONTEXT_ESI 4
#define USER_CONTEXT_EDI 5
#define USER_CONTEXT_EBP 6
#define CXVM_USER_CONTEXT_COUNT 7

/* The guest's general registers while a handler runs (32-bit guests). */
typedef struct guest_state {
    uint32_t user_context[CXVM_USER_CONTEXT_COUNT];
    uint32_t eip; /* the guest's EIP (read only) */
} guest_state_t;

typedef struct vmm vmm_t;

typedef struct vmm_vcpu {
    guest_state_t guest_state;
    int vcpu_id;
    vmm_t *vmm;
} vmm_vcpu_t;

/* The VM this process runs; `&vmm` is what reg_new_handler takes. */
struct vmm {
    void *cxvm_private; /* cxvm's VMM; not for app code */
};
extern vmm_t vmm;

typedef int (*vmcall_handler)(vmm_vcpu_t *vcpu);

/* Register `func` for hypercall `token` (>= 4). Returns 0, or -1 when the token is
 * taken or reserved, or when called outside pre_init(); such an error is also reported
 * as "file.c:LINE: hypercall token N (func): ..." and stops the VM component with a
 * non-zero exit status before the guest starts. A macro so that the report can name
 * the place and the handler. */
#define reg_new_handler(vmm_ptr, func, token) \
    cxvm_reg_new_handler((vmm_ptr), (func), (token), #func, __FILE__, __LINE__)
int cxvm_reg_new_handler(vmm_t *vmm_ptr, vmcall_handler func, int token, const char *func_name,
                         const char *file, int line);

static inline uint32_t vmm_read_user_context(const guest_state_t *gs, int reg) {
    return reg >= 0 && reg < CXVM_USER_CONTEXT_COUNT ? gs->user_context[reg] : 0;
}

static inline void vmm_set_user_context(guest_state_t *gs, int reg, uint32_t value) {
    if (reg >= 0 && reg < CXVM_USER_CONTEXT_COUNT) gs->user_context[reg] = value;
}

/* The VM instance's name in the system spec (e.g. "vm.vm0"). */
const char *get_instance_name(void);

/* CAmkES's optional start-up hooks, defined by app code. Both run in the VMM process
 * once the guest is loaded and the process is in its seccomp sandbox (as a native
 * component's), before the guest's first instruction: pre_init (register handlers
 * here), then post_init. */
void pre_init(void);
void post_init(void);

#ifdef __cplusplus
}
#endif

#endif
