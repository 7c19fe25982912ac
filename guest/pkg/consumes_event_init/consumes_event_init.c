/* consumes_event_init NODE [NODE ...]: makes the device nodes of the guest's cross-VM
 * VMM-to-guest events (crossvm-abi.md "Helper programs and init"). The nth node is the
 * event with id n (its minor). Run once per boot by camkes_init, after /init loaded the
 * consumes_event module. Output line as the reference's (and the tutorial's boot log):
 * "Creating consuming event node NODE". */
#include "camkes_nodes.h"

#include <cxvm/crossvm.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *prog = "consumes_event_init";

int main(int argc, char *argv[]) {
    int major, i, failed = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc - 1 > CXVM_CROSSVM_MAX_ID) {
        fprintf(stderr, "%s: %d events given; ids go up to %d\n", prog, argc - 1,
                CXVM_CROSSVM_MAX_ID);
        return 1;
    }
    if (argc < 2) return 0; /* no events: nothing to do (as the reference) */
    major = camkes_device_major("consumes_event");
    if (major < 0) {
        fprintf(stderr, "%s: cannot read /proc/devices: %s\n", prog, strerror(errno));
        return 1;
    }
    if (major == 0) {
        fprintf(stderr,
                "%s: the consumes_event module is not loaded (no \"consumes_event\" in "
                "/proc/devices)\n",
                prog);
        return 1;
    }
    for (i = 1; i < argc; i++) {
        printf("Creating consuming event node %s\n", argv[i]);
        if (camkes_make_node(argv[i], (unsigned)major, (unsigned)i) != 0) {
            fprintf(stderr, "%s: cannot create %s (event %d): %s\n", prog, argv[i], i,
                    strerror(errno));
            failed = 1;
        }
    }
    return failed;
}
