/* libcamkes: cross-VM events to the guest (crossvm-abi.md "Guest library"; the
 * reference's consumes_event.h). An event that arrives while nobody waits is latched and
 * the next wait or poll returns at once; events coalesce. */
#ifndef CAMKES_CONSUMES_EVENT_H
#define CAMKES_CONSUMES_EVENT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks until the event of the node fd is open on arrives (poll with no timeout); 1,
 * or -1 with errno set (EINTR when a signal interrupted the wait). */
int consumes_event_wait(int fd);
/* Takes a latched event without blocking: 1 if there was one, 0 if not, -1 on error
 * (poll's result). */
int consumes_event_poll(int fd);

#ifdef __cplusplus
}
#endif

#endif
