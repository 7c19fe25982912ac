/* libcamkes: device nodes for the cross-VM helper programs. */
#include "camkes_nodes.h"

#include <cxvm/crossvm.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

int camkes_device_major(const char *name) {
    /* /proc/devices: "Character devices:", lines "%3d %s", a blank line, "Block
     * devices:", ... (fs/proc/devices.c). Only the character section counts. */
    char line[256];
    int in_char = 0, found = 0;
    FILE *f = fopen("/proc/devices", "r");
    if (!f) return -1;
    while (!found && fgets(line, sizeof(line), f)) {
        char dev[200];
        int major;
        if (strncmp(line, "Character devices:", 18) == 0) {
            in_char = 1;
        } else if (strncmp(line, "Block devices:", 14) == 0) {
            in_char = 0;
        } else if (in_char && sscanf(line, "%d %199s", &major, dev) == 2 &&
                   strcmp(dev, name) == 0) {
            found = major;
        }
    }
    fclose(f);
    return found;
}

int camkes_make_node(const char *path, unsigned int major, unsigned int minor) {
    const dev_t dev = makedev(major, minor);
    struct stat st;
    if (mknod(path, S_IFCHR | 0666, dev) != 0) {
        if (errno != EEXIST) return -1;
        if (stat(path, &st) != 0) return -1;
        if (!S_ISCHR(st.st_mode) || st.st_rdev != dev) {
            errno = EEXIST;
            return -1;
        }
    }
    /* mknod's mode went through the umask. */
    return chmod(path, 0666);
}

int camkes_event_nodes_main(int argc, char *argv[], const char *prog, const char *module,
                            const char *what) {
    int major, i, failed = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc - 1 > CXVM_CROSSVM_MAX_ID) {
        fprintf(stderr, "%s: %d events given; ids go up to %d\n", prog, argc - 1,
                CXVM_CROSSVM_MAX_ID);
        return 1;
    }
    if (argc < 2) return 0; /* no events: nothing to do (as the reference) */
    major = camkes_device_major(module);
    if (major < 0) {
        fprintf(stderr, "%s: cannot read /proc/devices: %s\n", prog, strerror(errno));
        return 1;
    }
    if (major == 0) {
        fprintf(stderr,
                "%s: the %s module is not loaded (no \"%s\" in /proc/devices)\n", prog,
                module, module);
        return 1;
    }
    for (i = 1; i < argc; i++) {
        printf("Creating %s node %s\n", what, argv[i]);
        if (camkes_make_node(argv[i], (unsigned)major, (unsigned)i) != 0) {
            fprintf(stderr, "%s: cannot create %s (event %d): %s\n", prog, argv[i], i,
                    strerror(errno));
            failed = 1;
        }
    }
    return failed;
}
