/* Dataports: every end maps the same memfd, so a store by one is a load by the other. */
#include "camkes/runtime.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>

void cxvm_dataport_bind(struct cxvm_dataport *d) {
    const int *fds;
    int n = cxvm_iface_fds(d->name, &fds);
    if (n > 1) cxvm_fatal("dataport %s: more than one memory object", d->name);
    d->fd = n == 1 ? fds[0] : -1;
    if (d->fd < 0) {
        /* An unconnected (`maybe`) dataport still points at usable memory. */
        d->base = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else {
        struct stat st;
        if (fstat(d->fd, &st) != 0) cxvm_fatal("dataport %s: fstat: errno %d", d->name, errno);
        if ((size_t)st.st_size < d->size)
            cxvm_fatal("dataport %s: memory object has %lld bytes, the spec says %zu", d->name,
                       (long long)st.st_size, d->size);
        d->base = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
    }
    if (d->base == MAP_FAILED) cxvm_fatal("dataport %s: mmap: errno %d", d->name, errno);
}
