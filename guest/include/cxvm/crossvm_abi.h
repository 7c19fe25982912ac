/* cxvm cross-VM connectors: hypercall tokens, commands, the event page and the result
 * codes, shared by the VMM (C++, src/vmm/crossvm/) and the guest modules (C, kernel or
 * user). The protocol is ../shared/docs/crossvm-abi.md; the design docs/crossvm.md.
 *
 *   token 1 dataport:  EBX 1 SHARE  ECX = id, EDX = guest-physical address, ESI = size
 *   token 2 events in: EBX 1 INIT   ECX = guest-physical address of the event page
 *                      EBX 2 ACK    (the in-flight event has been read)
 *   token 3 events out:EBX 1 EMIT   ECX = id
 *
 * Result in EAX: 0 on success, else a negative errno-style code below (the values are
 * Linux's errno numbers, so a guest module can hand them to user space unchanged). A
 * bad hypercall never stops the VM: the VMM logs it, naming the spec's object and the
 * guest's values, and the guest carries on. An unknown token answers
 * CXVM_HYPERCALL_ENOSYS (hypercall_abi.h). */
#ifndef CXVM_CROSSVM_ABI_H
#define CXVM_CROSSVM_ABI_H

#define CXVM_TOKEN_DATAPORT 1u
#define CXVM_TOKEN_EVENT_TO_GUEST 2u   /* consumed events: native -> guest */
#define CXVM_TOKEN_EVENT_FROM_GUEST 3u /* emitted events: guest -> native */

#define CXVM_DATAPORT_SHARE 1u
#define CXVM_EVENT_INIT 1u
#define CXVM_EVENT_ACK 2u
#define CXVM_EVENT_EMIT 1u

/* The event page (INIT's argument): 8 bytes of guest RAM. The VMM writes magic 42 at
 * INIT. On delivery it writes the consumed event's id (ids start at 1) and raises
 * CXVM_EVENT_IRQ; ACK lowers the line and sets id back to CXVM_EVENT_NONE until the next
 * delivery, so that a handler on the shared IRQ line (the i8042's AUX port is IRQ 12
 * too) can tell "not mine" (id 0) and return IRQ_NONE. One event is in flight at a
 * time; consumed events that arrive meanwhile are latched per id (coalesced) and
 * delivered one after the other, each after the previous ACK. */
struct cxvm_event_page {
    unsigned int id;
    unsigned int magic;
};
#define CXVM_EVENT_MAGIC 42u
#define CXVM_EVENT_NONE 0u
#define CXVM_EVENT_IRQ 12u

/* Result codes (EAX, as a signed 32-bit value). */
#define CXVM_CROSSVM_OK 0
#define CXVM_CROSSVM_ENOENT (-2)     /* id 0, or no dataport/event with that id */
#define CXVM_CROSSVM_EIO (-5)        /* the host failed (mapping the dataport, eventfd) */
#define CXVM_CROSSVM_EFAULT (-14)    /* the range is not wholly guest RAM (or wraps) */
#define CXVM_CROSSVM_EBUSY (-16)     /* overlaps another shared dataport or the event page */
#define CXVM_CROSSVM_EEXIST (-17)    /* that dataport is already shared */
#define CXVM_CROSSVM_EINVAL (-22)    /* address not page aligned */
#define CXVM_CROSSVM_ENOMSG (-42)    /* ACK with no event in flight */
#define CXVM_CROSSVM_EMSGSIZE (-90)  /* size differs from the spec's */
#define CXVM_CROSSVM_EOPNOTSUPP (-95) /* unknown command (EBX) for the token */

#endif
