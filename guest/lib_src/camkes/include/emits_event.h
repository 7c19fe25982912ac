/* libcamkes: cross-VM events from the guest (crossvm-abi.md "Guest library"; the
 * reference's emits_event.h). */
#ifndef CAMKES_EMITS_EVENT_H
#define CAMKES_EMITS_EVENT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Emits the event of the node fd is open on (/dev/camkes_<iface>); never blocks.
 * 0, or -1 with errno set. */
int emits_event_emit(int fd);

#ifdef __cplusplus
}
#endif

#endif
