/* Guest-side cost of a read of the passed-through e1000's BAR0 (docs/passthrough.md,
 * measurements): mmap()s the function's resource0 from sysfs and times reads of STATUS
 * (offset 8) with CLOCK_MONOTONIC. Built for the guest with the kit's flags by
 * tests/passthrough/vfio-guest-l1-test; run by nested/pt-init.
 *   bar-bench /sys/bus/pci/devices/0000:00:01.0/resource0 [READS] */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const long reads = argc > 2 ? atol(argv[2]) : 20000;
    int fd = open(argv[1], O_RDWR | O_SYNC);
    if (fd < 0) { perror(argv[1]); return 1; }
    volatile uint32_t *bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (bar == MAP_FAILED) { perror("mmap"); return 1; }
    struct timespec t0, t1;
    uint32_t sum = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < reads; i++) sum += bar[2];
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / reads;
    printf("BAR0 STATUS read: %ld reads, %.0f ns each (STATUS %#x)\n", reads, ns, (unsigned)bar[2]);
    (void)sum;
    return 0;
}
