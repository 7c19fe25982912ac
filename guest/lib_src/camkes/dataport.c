/* libcamkes: cross-VM dataports through the dataport module's ioctls (numbers and the
 * decimal-string convention in <cxvm/crossvm.h>). */
#include "dataport.h"
#include "dataport_allocate.h"

#include <cxvm/crossvm.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

int dataport_allocate(int fd, size_t size) {
    char buf[CXVM_DATAPORT_NUMBER_BUF];
    snprintf(buf, sizeof(buf), "%zu", size);
    return ioctl(fd, DATAPORT_ALLOCATE, buf) < 0 ? -1 : 0;
}

/* Reads one of the module's numbers; 0 or -1 with errno set. */
static int dataport_get_number(int fd, unsigned long request, unsigned long long *out) {
    char buf[CXVM_DATAPORT_NUMBER_BUF] = {0};
    char *end;
    if (ioctl(fd, request, buf) < 0) return -1;
    buf[sizeof(buf) - 1] = '\0';
    errno = 0;
    *out = strtoull(buf, &end, 10);
    if (end == buf || *end != '\0' || errno) {
        errno = EPROTO; /* the module wrote something that is not a number */
        return -1;
    }
    return 0;
}

long long unsigned int dataport_get_paddr(int fd) {
    unsigned long long paddr;
    return dataport_get_number(fd, DATAPORT_GET_PADDR, &paddr) < 0 ? (unsigned long long)-1
                                                                  : paddr;
}

ssize_t dataport_get_size(int fd) {
    unsigned long long size;
    if (dataport_get_number(fd, DATAPORT_GET_SIZE, &size) < 0) return -1;
    return (ssize_t)size;
}

void *dataport_mmap(int fd) {
    ssize_t size = dataport_get_size(fd);
    if (size <= 0) return MAP_FAILED;
    return mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}
