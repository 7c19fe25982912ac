/* Marshalling buffers for procedure calls: scalars in host byte order (both ends run
 * on the same host), strings as a length word plus the bytes and a NUL, arrays as an
 * element count plus the elements. */
#include "camkes/runtime.h"

#include <stdlib.h>
#include <string.h>

void cxvm_msg_reset(struct cxvm_msg *m) {
    m->len = 0;
    m->pos = 0;
    m->failed = 0;
}

void cxvm_msg_put(struct cxvm_msg *m, const void *p, size_t n) {
    if (m->failed || n > sizeof m->data - m->len) {
        m->failed = 1;
        return;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
}

void cxvm_msg_get(struct cxvm_msg *m, void *p, size_t n) {
    if (m->failed || n > m->len - m->pos) {
        m->failed = 1;
        memset(p, 0, n);
        return;
    }
    memcpy(p, m->data + m->pos, n);
    m->pos += n;
}

void cxvm_msg_put_str(struct cxvm_msg *m, const char *s) {
    if (!s) s = "";
    size_t n = strlen(s);
    if (n > UINT32_MAX) {
        m->failed = 1;
        return;
    }
    uint32_t len = (uint32_t)n;
    cxvm_msg_put(m, &len, sizeof len);
    cxvm_msg_put(m, s, n + 1);
}

const char *cxvm_msg_get_str(struct cxvm_msg *m) {
    uint32_t len;
    cxvm_msg_get(m, &len, sizeof len);
    if (m->failed || (size_t)len + 1 > m->len - m->pos || m->data[m->pos + len] != '\0') {
        m->failed = 1;
        return NULL;
    }
    const char *s = (const char *)m->data + m->pos;
    m->pos += (size_t)len + 1;
    return s;
}

char *cxvm_msg_get_strdup(struct cxvm_msg *m) {
    const char *s = cxvm_msg_get_str(m);
    char *copy = strdup(s ? s : "");
    if (!copy) cxvm_fatal("out of memory unmarshalling a string");
    return copy;
}

void cxvm_msg_put_array(struct cxvm_msg *m, const void *p, size_t count, size_t elem) {
    uint64_t c = count;
    cxvm_msg_put(m, &c, sizeof c);
    if (count && elem > (sizeof m->data) / count) {
        m->failed = 1;
        return;
    }
    if (count) cxvm_msg_put(m, p, count * elem);
}

void *cxvm_msg_get_array(struct cxvm_msg *m, size_t *count, size_t elem) {
    uint64_t c = 0;
    cxvm_msg_get(m, &c, sizeof c);
    if (m->failed || (c && elem > (m->len - m->pos) / c)) {
        m->failed = 1;
        *count = 0;
        return calloc(1, elem ? elem : 1);
    }
    void *p = malloc(c ? c * elem : 1);
    if (!p) cxvm_fatal("out of memory unmarshalling an array");
    cxvm_msg_get(m, p, c * elem);
    *count = c;
    return p;
}
