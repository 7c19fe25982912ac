#include <camkes.h>

#include <stdlib.h>
#include <string.h>

uint64_t rpc_echo(uint64_t value) { return value; }

int run(void) {
    for (int i = 0; i < rounds; i++) {
        ping_wait();
        pong_emit();
    }
    size_t size = buf_get_size();
    unsigned char *dst = malloc(size);
    for (int i = 0; i < chunks; i++) {
        ready_wait();
        buf_acquire();
        memcpy(dst, (const void *)buf, size);
        taken_emit();
    }
    free(dst);
    for (;;) ping_wait(); /* the driver's return stops the system */
    return 0;
}
