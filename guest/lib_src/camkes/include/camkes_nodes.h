/* libcamkes: device nodes for cross-VM connectors, used by dataport_init,
 * consumes_event_init and emits_event_init (the reference's libdevice). */
#ifndef CAMKES_NODES_H
#define CAMKES_NODES_H

#ifdef __cplusplus
extern "C" {
#endif

/* The major of the character device `name` in /proc/devices: > 0; 0 when no character
 * device has that name (its module is not loaded); -1 with errno set when /proc/devices
 * cannot be read. */
int camkes_device_major(const char *name);

/* Makes `path` the character device major:minor, usable by every guest user (0666). A
 * node already there with the same numbers is kept (the helpers may run twice). 0, or -1
 * with errno set (EEXIST: something else is at `path`). */
int camkes_make_node(const char *path, unsigned int major, unsigned int minor);

/* The whole of consumes_event_init and emits_event_init (they differ only in names):
 * for NODE... in argv, "Creating <what> node NODE" and the node with minor n for the
 * nth, under the major of `module`. Errors go to stderr prefixed with `prog`; returns
 * the program's exit status. */
int camkes_event_nodes_main(int argc, char *argv[], const char *prog, const char *module,
                            const char *what);

#ifdef __cplusplus
}
#endif

#endif
