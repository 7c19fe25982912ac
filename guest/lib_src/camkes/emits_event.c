/* libcamkes: emitting a cross-VM event (the emits_event module's ioctl). */
#include "emits_event.h"

#include <cxvm/crossvm.h>

#include <sys/ioctl.h>

int emits_event_emit(int fd) {
    return ioctl(fd, EMITS_EVENT_EMIT, 0) < 0 ? -1 : 0;
}
