/* dataport_init NODE SIZE [NODE SIZE ...]: makes the device nodes of the guest's
 * cross-VM dataports and allocates them (crossvm-abi.md "Helper programs and init").
 * The nth pair is the dataport with id n (the node's minor); SIZE must be the spec's
 * size. Run once per boot by camkes_init, after /init loaded the dataport module.
 * Output lines as the reference's (and the tutorial's boot log): "Creating dataport node
 * NODE", then "Allocating SIZE bytes for NODE". */
#include "camkes_nodes.h"
#include "dataport_allocate.h"

#include <cxvm/crossvm.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "dataport_init";

/* Decimal, or hexadecimal after 0x (the reference took strtoul's base 0; a leading zero
 * is not octal here). 0 when `s` is not a positive size. */
static size_t parse_size(const char *s) {
    const int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = hex ? s + 2 : s;
    unsigned long long v;
    const char *p;
    if (*digits == '\0') return 0;
    /* Only digits: strtoull alone would take blanks, a sign or a second 0x. */
    for (p = digits; *p; p++)
        if (!(hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p))) return 0;
    errno = 0;
    v = strtoull(digits, NULL, hex ? 16 : 10);
    if (errno || v > SIZE_MAX) return 0;
    return (size_t)v;
}

int main(int argc, char *argv[]) {
    const int n = (argc - 1) / 2;
    size_t sizes[CXVM_CROSSVM_MAX_ID + 1];
    int major, i, failed = 0;

    /* The lines are a boot log: keep them in order with the error lines. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3 || argc % 2 == 0) {
        if (argc % 2 == 0) fprintf(stderr, "%s: no size given for %s\n", prog, argv[argc - 1]);
        fprintf(stderr,
                "usage: %s NODE SIZE [NODE SIZE ...]\n"
                "Makes a device node for each cross-VM dataport and allocates it. The nth "
                "pair is the\ndataport with id n; SIZE (bytes) must be the spec's. Run once "
                "per boot.\n",
                prog);
        return 1;
    }
    if (n > CXVM_CROSSVM_MAX_ID) {
        fprintf(stderr, "%s: %d dataports given; ids go up to %d\n", prog, n,
                CXVM_CROSSVM_MAX_ID);
        return 1;
    }
    for (i = 0; i < n; i++) {
        sizes[i] = parse_size(argv[2 + 2 * i]);
        if (sizes[i] == 0) {
            fprintf(stderr, "%s: bad size '%s' for %s: expected a positive number of bytes\n",
                    prog, argv[2 + 2 * i], argv[1 + 2 * i]);
            return 1;
        }
    }
    major = camkes_device_major("dataport");
    if (major < 0) {
        fprintf(stderr, "%s: cannot read /proc/devices: %s\n", prog, strerror(errno));
        return 1;
    }
    if (major == 0) {
        fprintf(stderr,
                "%s: the dataport module is not loaded (no \"dataport\" in /proc/devices)\n",
                prog);
        return 1;
    }

    /* All nodes first, then the allocations (the reference's order). A failure is
     * reported and the others still go ahead. */
    for (i = 0; i < n; i++) {
        const char *node = argv[1 + 2 * i];
        printf("Creating dataport node %s\n", node);
        if (camkes_make_node(node, (unsigned)major, (unsigned)(i + 1)) != 0) {
            fprintf(stderr, "%s: cannot create %s (dataport %d): %s\n", prog, node, i + 1,
                    strerror(errno));
            sizes[i] = 0;
            failed = 1;
        }
    }
    for (i = 0; i < n; i++) {
        const char *node = argv[1 + 2 * i];
        int fd;
        if (sizes[i] == 0) continue;
        printf("Allocating %zu bytes for %s\n", sizes[i], node);
        fd = open(node, O_RDWR);
        if (fd < 0) {
            fprintf(stderr, "%s: cannot open %s: %s\n", prog, node, strerror(errno));
            failed = 1;
            continue;
        }
        if (dataport_allocate(fd, sizes[i]) != 0) {
            fprintf(stderr, "%s: cannot allocate %zu bytes for %s (dataport %d): %s (the "
                    "kernel log says why)\n",
                    prog, sizes[i], node, i + 1, strerror(errno));
            failed = 1;
        }
        close(fd);
    }
    return failed;
}
