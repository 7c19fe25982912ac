/* seL4Notification over eventfd: an emit adds to the counter, a wait reads (and so
 * clears) it. Signals therefore coalesce, and a signal that arrives before the wait
 * is latched: the wait returns at once, as with an seL4 notification object. */
#include "camkes/runtime.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

void cxvm_event_bind(struct cxvm_event *e) {
    e->nfds = cxvm_iface_fds(e->name, &e->fds);
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    e->callback = NULL;
    e->callback_arg = NULL;
    e->thread_started = 0;
}

void cxvm_event_emit(struct cxvm_event *e) {
    const uint64_t one = 1;
    for (int i = 0; i < e->nfds; i++) {
        ssize_t r;
        do r = write(e->fds[i], &one, sizeof one);
        while (r < 0 && errno == EINTR);
        /* EAGAIN means the counter is saturated: the event is pending anyway. */
        if (r < 0 && errno != EAGAIN) cxvm_fatal("%s_emit: write: errno %d", e->name, errno);
    }
}

static int consumer_fd(struct cxvm_event *e, const char *op) {
    if (e->nfds != 1) cxvm_fatal("%s_%s: event interface is not connected", e->name, op);
    return e->fds[0];
}

void cxvm_event_wait(struct cxvm_event *e) {
    int fd = consumer_fd(e, "wait");
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR) continue;
            cxvm_fatal("%s_wait: poll: errno %d", e->name, errno);
        }
        if (cxvm_event_poll(e)) return;
        /* another thread consumed it first: keep waiting */
    }
}

int cxvm_event_poll(struct cxvm_event *e) {
    int fd = consumer_fd(e, "poll");
    uint64_t v;
    ssize_t r;
    do r = read(fd, &v, sizeof v); /* the supervisor made it non-blocking */
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)sizeof v) return 1;
    if (r < 0 && errno == EAGAIN) return 0;
    cxvm_fatal("%s_poll: read: errno %d", e->name, errno);
}

/* The interface's callback thread: waits for a registration, then for the event, and
 * calls the callback once (CAmkES callbacks are one-shot; re-register to get more). */
static void *callback_thread(void *arg) {
    struct cxvm_event *e = arg;
    for (;;) {
        pthread_mutex_lock(&e->lock);
        while (!e->callback) pthread_cond_wait(&e->cond, &e->lock);
        pthread_mutex_unlock(&e->lock);
        cxvm_event_wait(e);
        pthread_mutex_lock(&e->lock);
        void (*cb)(void *) = e->callback;
        void *cb_arg = e->callback_arg;
        e->callback = NULL;
        pthread_mutex_unlock(&e->lock);
        cb(cb_arg);
    }
    return NULL;
}

int cxvm_event_reg_callback(struct cxvm_event *e, void (*cb)(void *), void *arg) {
    if (!cb || e->nfds != 1) return -1;
    pthread_mutex_lock(&e->lock);
    if (e->callback) {
        pthread_mutex_unlock(&e->lock);
        return -1; /* one registration at a time */
    }
    e->callback = cb;
    e->callback_arg = arg;
    if (!e->thread_started) {
        pthread_t t;
        if (pthread_create(&t, NULL, callback_thread, e) != 0)
            cxvm_fatal("%s_reg_callback: cannot start the callback thread", e->name);
        pthread_detach(t);
        e->thread_started = 1;
    }
    pthread_cond_signal(&e->cond);
    pthread_mutex_unlock(&e->lock);
    return 0;
}
