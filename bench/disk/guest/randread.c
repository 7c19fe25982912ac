/* randread: 4 KiB random reads at queue depth 1 with O_DIRECT, for bench/disk in the
 * guest (Debian's image has no fio). Built static for i686 with the guest kit
 * (bench/disk/guest/Makefile), carried into the guest on the scratch disk.
 *
 *   randread DEVICE SPAN_BYTES COUNT [SEED]
 *
 * COUNT preads of 4096 bytes at 4 KiB-aligned offsets drawn uniformly (xorshift64*)
 * from [0, SPAN_BYTES), one at a time, each straight to the device (O_DIRECT: no guest
 * page cache). Prints the count, the guest-clock time and IOPS; every read must return
 * 4096 bytes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: randread DEVICE SPAN_BYTES COUNT [SEED]\n");
        return 2;
    }
    const long long span = atoll(argv[2]);
    const long count = atol(argv[3]);
    uint64_t x = argc > 4 ? strtoull(argv[4], NULL, 0) : 0x9E3779B97F4A7C15ull;
    const long long blocks = span / 4096;
    if (blocks <= 0 || count <= 0 || x == 0) {
        fprintf(stderr, "randread: bad SPAN_BYTES, COUNT or SEED\n");
        return 2;
    }
    const int fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    void* buf;
    if (posix_memalign(&buf, 4096, 4096) != 0) return 1;
    const double t0 = now();
    for (long i = 0; i < count; ++i) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        const long long block = (long long)((x * 0x2545F4914F6CDD1Dull) % (uint64_t)blocks);
        const ssize_t n = pread(fd, buf, 4096, (off_t)(block * 4096));
        if (n != 4096) {
            fprintf(stderr, "randread: read %ld at block %lld returned %ld\n", i, block, (long)n);
            perror("pread");
            return 1;
        }
    }
    const double s = now() - t0;
    printf("randread: %ld reads of 4096 bytes in %.3f s: %.0f IOPS\n", count, s, (double)count / s);
    return 0;
}
