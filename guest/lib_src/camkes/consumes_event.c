/* libcamkes: waiting for a cross-VM event (the consumes_event module's poll, which
 * reports a latched event once and clears it). */
#include "consumes_event.h"

#include <poll.h>

int consumes_event_wait(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, -1);
}

int consumes_event_poll(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0);
}
