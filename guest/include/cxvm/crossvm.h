/* Cross-VM connectors, guest side: the ioctls the guest's kernel modules
 * (guest/modules/dataport, consumes_event, emits_event), libcamkes and the helper
 * programs share, so the two sides of an ioctl can never disagree. The hypercalls (tokens,
 * commands, event page, result codes) are crossvm_abi.h, shared with the VMM. The
 * protocol is ../shared/docs/crossvm-abi.md; the ioctl numbers are the reference's
 * (camkes-vm-linux before its 2019 PCI rewrite: dataport/ioctl_commands.h,
 * emits_event/ioctl_commands.h) so the seed's programs keep working unchanged.
 *
 * Works in kernel modules (<linux/ioctl.h>) and in user programs (<sys/ioctl.h>). */
#ifndef CXVM_CROSSVM_H
#define CXVM_CROSSVM_H

#include "crossvm_abi.h"
#include "hypercall_abi.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#else
#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>
#endif

/* The errno (positive) for a non-zero hypercall result: the VMM's codes
 * (CXVM_CROSSVM_E*) are Linux errno numbers; CXVM_HYPERCALL_ENOSYS (-1000, an unknown
 * token: a VMM without cross-VM connectors) is ENOSYS; anything else is EIO. */
static inline int cxvm_crossvm_errno(unsigned int eax) {
    if (eax == CXVM_HYPERCALL_ENOSYS) return ENOSYS;
    if (eax >= 0xFFFFF001u) return (int)(0u - eax);
    return EIO;
}

/* The minor of a node is the connector's id. */
#define CXVM_CROSSVM_MAX_ID 255 /* ids 1..255: minors are 8 bits in the reference's nodes */

/* ioctls. The argument of ALLOCATE is a pointer to a NUL-terminated decimal string with
 * the size; GET_PADDR and GET_SIZE write a NUL-terminated decimal string to the pointer
 * given, at most CXVM_DATAPORT_NUMBER_BUF bytes including the NUL. The encoded sizes
 * (size_t, unsigned long long) are the reference's and only label the numbers. */
#define DATAPORT_MAGIC 'D'
#define DATAPORT_ALLOCATE _IOW(DATAPORT_MAGIC, 0, size_t)
#define DATAPORT_GET_PADDR _IOR(DATAPORT_MAGIC, 1, unsigned long long)
#define DATAPORT_GET_SIZE _IOR(DATAPORT_MAGIC, 2, size_t)
#define CXVM_DATAPORT_NUMBER_BUF 32

#define EMITS_EVENT_MAGIC 'E'
#define EMITS_EVENT_EMIT _IOW(EMITS_EVENT_MAGIC, 0, unsigned int)

#if defined(__i386__)
/* The values the reference's i386 guests used (crossvm-abi.md). */
_Static_assert(DATAPORT_ALLOCATE == 0x40044400u, "DATAPORT_ALLOCATE differs from the reference");
_Static_assert(DATAPORT_GET_PADDR == 0x80084401u, "DATAPORT_GET_PADDR differs from the reference");
_Static_assert(DATAPORT_GET_SIZE == 0x80044402u, "DATAPORT_GET_SIZE differs from the reference");
_Static_assert(EMITS_EVENT_EMIT == 0x40044500u, "EMITS_EVENT_EMIT differs from the reference");
#endif

#endif
