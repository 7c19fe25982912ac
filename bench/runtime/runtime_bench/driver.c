/* Measures through the glue: event round trips, RPC round trips, dataport throughput.
 * Prints "name value" lines the bench harness parses. */
#include <camkes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int run(void) {
    double t0 = now_ns();
    for (int i = 0; i < rounds; i++) {
        ping_emit();
        pong_wait();
    }
    printf("event_rtt_ns %.1f\n", (now_ns() - t0) / rounds);

    uint64_t sum = 0;
    t0 = now_ns();
    for (int i = 0; i < rounds; i++) sum += rpc_echo((uint64_t)i);
    printf("rpc_rtt_ns %.1f\n", (now_ns() - t0) / rounds);
    if (sum != (uint64_t)rounds * (uint64_t)(rounds - 1) / 2) printf("rpc_bad_sum %llu\n", (unsigned long long)sum);

    size_t size = buf_get_size();
    unsigned char *src = malloc(size);
    for (size_t i = 0; i < size; i++) src[i] = (unsigned char)i;
    t0 = now_ns();
    for (int i = 0; i < chunks; i++) {
        memcpy((void *)buf, src, size);
        buf_release();
        ready_emit();
        taken_wait();
    }
    double secs = (now_ns() - t0) / 1e9;
    printf("dataport_mib_s %.1f\n", (double)chunks * (double)size / (1024.0 * 1024.0) / secs);
    free(src);
    return 0;
}
