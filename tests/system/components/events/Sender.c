/* Drives the receiver through the notification semantics, one phase at a time. */
#include <camkes.h>

int run(void) {
    /* phase 1: five signals before the receiver looks: they coalesce into one */
    for (int i = 0; i < 5; i++) ev_emit();
    fence_emit();
    ack_wait();
    /* phase 2: a signal before the wait is latched: the wait returns at once */
    ev_emit();
    fence_emit();
    ack_wait();
    /* phase 3: one-shot callbacks, re-registered by the receiver */
    for (int i = 0; i < 3; i++) {
        cb_emit();
        ack_wait();
    }
    ack_wait(); /* the receiver is done */
    return 0;
}
