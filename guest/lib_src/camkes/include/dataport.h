/* libcamkes: cross-VM dataports (crossvm-abi.md "Guest library"; the reference's
 * dataport.h). fd is an open dataport node (/dev/camkes_<iface>) that dataport_init has
 * allocated. */
#ifndef CAMKES_DATAPORT_H
#define CAMKES_DATAPORT_H

#include <stddef.h>
#include <sys/types.h>
/* The seed's print_client calls close() and includes no <unistd.h> (implicit
 * declarations are errors from GCC 14 on): its dataport header brings it. */
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The dataport's guest-physical address, or (unsigned long long)-1 with errno set. */
long long unsigned int dataport_get_paddr(int fd);
/* The dataport's size in bytes, or -1 with errno set. */
ssize_t dataport_get_size(int fd);
/* mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0): the whole dataport,
 * shared with the other end; MAP_FAILED with errno set on error. */
void *dataport_mmap(int fd);

#ifdef __cplusplus
}
#endif

#endif
