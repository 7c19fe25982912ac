#include <camkes.h>

#include <stdio.h>

static int calls;

static void on_cb(void *arg) {
    m_lock();
    calls++;
    m_unlock();
    printf("callback %d arg=%s\n", calls, (const char *)arg);
    if (calls < 3) cb_reg_callback(on_cb, arg); /* one-shot: re-register for the next */
    s_post();
}

int run(void) {
    fence_wait();
    int first = ev_poll();
    int second = ev_poll();
    printf("coalesced: first poll=%d second poll=%d\n", first, second);
    ack_emit();

    fence_wait();
    ev_wait();
    printf("latched: wait returned\n");
    printf("after wait: poll=%d\n", ev_poll());

    int rc = cb_reg_callback(on_cb, "cookie");
    printf("reg_callback=%d again=%d\n", rc, cb_reg_callback(on_cb, "cookie"));
    ack_emit();
    for (int i = 0; i < 3; i++) {
        s_wait();
        if (i < 2) ack_emit();
    }
    m_lock();
    printf("callbacks: %d\n", calls);
    m_unlock();
    ack_emit();
    return 0;
}
