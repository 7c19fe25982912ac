/* libcamkes: allocating a cross-VM dataport (the reference's dataport_allocate.h). Done
 * once per boot by dataport_init; programs only map dataports. */
#ifndef CAMKES_DATAPORT_ALLOCATE_H
#define CAMKES_DATAPORT_ALLOCATE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Asks the dataport module to allocate `size` bytes for the node fd is open on and share
 * them with the VMM (the size must be the spec's). 0, or -1 with errno set. */
int dataport_allocate(int fd, size_t size);

#ifdef __cplusplus
}
#endif

#endif
