/* Pinged: the native end of VmPinger's `ping`. */
#include <camkes.h>

#include <stdio.h>

int run(void) {
    ping_wait();
    printf("got ping\n");
    return 5;
}
