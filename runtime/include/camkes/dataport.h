/* Dataport helpers of CAmkES's <camkes/dataport.h> that make sense on a Linux host. */
#ifndef CXVM_CAMKES_DATAPORT_H
#define CXVM_CAMKES_DATAPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the `to` end of an seL4SharedDataWithCaps connection holds so that a VMM can
 * later make guest pages be the dataport: the memory object itself (on seL4, the frame
 * caps), its size, the dataport id from the spec, and where it is mapped here. */
typedef struct {
    int fd;           /* memfd: map it at a guest physical address (GuestMemory::overlay) */
    size_t size;
    int id;           /* <interface>_id from the spec, 0 when not set */
    volatile void *vaddr;
} dataport_caps_handle_t;

#ifdef __cplusplus
}
#endif

#endif
