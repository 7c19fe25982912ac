/* seL4RPCCall over SOCK_SEQPACKET socketpairs: one pair per client end, so a server
 * knows its clients apart and a client can reach only the server it was connected to.
 * Request: u32 method, then the in/inout parameters. Reply: u32 status (0 = done,
 * 1 = the server rejected the request), the return value, then out/inout parameters. */
#include "camkes/runtime.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { STATUS_OK = 0, STATUS_BAD_REQUEST = 1 };

void cxvm_rpc_client_bind(struct cxvm_rpc_client *c) {
    const int *fds;
    int n = cxvm_iface_fds(c->name, &fds);
    if (n > 1) cxvm_fatal("procedure %s: a uses interface has one server", c->name);
    c->fd = n == 1 ? fds[0] : -1;
    pthread_mutex_init(&c->lock, NULL);
}

struct cxvm_msg *cxvm_rpc_begin(struct cxvm_rpc_client *c, uint32_t method) {
    if (c->fd < 0) cxvm_fatal("procedure %s: interface is not connected", c->name);
    pthread_mutex_lock(&c->lock);
    cxvm_msg_reset(&c->msg);
    cxvm_msg_put(&c->msg, &method, sizeof method);
    return &c->msg;
}

static ssize_t recv_retry(int fd, void *buf, size_t n) {
    ssize_t r;
    do r = recv(fd, buf, n, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

static ssize_t send_retry(int fd, const void *buf, size_t n) {
    ssize_t r;
    do r = send(fd, buf, n, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r;
}

struct cxvm_msg *cxvm_rpc_call(struct cxvm_rpc_client *c) {
    struct cxvm_msg *m = &c->msg;
    if (m->failed) cxvm_fatal("procedure %s: arguments exceed %d bytes", c->name, CXVM_MSG_MAX);
    if (send_retry(c->fd, m->data, m->len) != (ssize_t)m->len)
        cxvm_fatal("procedure %s: the server is gone (send: errno %d)", c->name, errno);
    ssize_t r = recv_retry(c->fd, m->data, sizeof m->data);
    if (r <= 0) cxvm_fatal("procedure %s: the server is gone", c->name);
    m->len = (size_t)r;
    m->pos = 0;
    m->failed = 0;
    uint32_t status;
    cxvm_msg_get(m, &status, sizeof status);
    if (m->failed || status != STATUS_OK)
        cxvm_fatal("procedure %s: the server rejected the call", c->name);
    return m;
}

void cxvm_rpc_end(struct cxvm_rpc_client *c) {
    if (c->msg.failed) cxvm_fatal("procedure %s: malformed reply", c->name);
    pthread_mutex_unlock(&c->lock);
}

void cxvm_rpc_server_bind(struct cxvm_rpc_server *s) {
    s->nfds = cxvm_iface_fds(s->name, &s->fds);
}

static void *server_thread(void *arg) {
    struct cxvm_rpc_server *s = arg;
    struct pollfd *p = calloc((size_t)s->nfds, sizeof *p);
    struct cxvm_msg *req = malloc(sizeof *req);
    struct cxvm_msg *rep = malloc(sizeof *rep);
    if (!p || !req || !rep) cxvm_fatal("procedure %s: out of memory", s->name);
    int live = s->nfds;
    for (int i = 0; i < s->nfds; i++) p[i] = (struct pollfd){.fd = s->fds[i], .events = POLLIN};
    while (live > 0) {
        if (poll(p, (nfds_t)s->nfds, -1) < 0) {
            if (errno == EINTR) continue;
            cxvm_fatal("procedure %s: poll: errno %d", s->name, errno);
        }
        for (int i = 0; i < s->nfds; i++) {
            if (!p[i].revents) continue;
            ssize_t r = recv_retry(p[i].fd, req->data, sizeof req->data);
            if (r <= 0) {
                /* That client has exited: stop listening to it. */
                p[i].fd = -1;
                live--;
                continue;
            }
            req->len = (size_t)r;
            req->pos = 0;
            req->failed = 0;
            cxvm_msg_reset(rep);
            uint32_t status = STATUS_OK, method = 0;
            cxvm_msg_put(rep, &status, sizeof status);
            cxvm_msg_get(req, &method, sizeof method);
            if (req->failed || s->dispatch(method, req, rep) != 0 || req->failed || rep->failed) {
                cxvm_msg_reset(rep);
                status = STATUS_BAD_REQUEST;
                cxvm_msg_put(rep, &status, sizeof status);
            }
            /* A client that died mid-call just loses its reply. */
            (void)send_retry(p[i].fd, rep->data, rep->len);
        }
    }
    free(p);
    free(req);
    free(rep);
    return NULL;
}

void cxvm_rpc_server_start(struct cxvm_rpc_server *s) {
    if (s->nfds == 0) return;
    pthread_t t;
    if (pthread_create(&t, NULL, server_thread, s) != 0)
        cxvm_fatal("procedure %s: cannot start the server thread", s->name);
    pthread_detach(t);
}
