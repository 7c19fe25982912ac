/* Misbehaves according to its instance name. */
#include <camkes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Not a constant, so the compiler cannot see the fault coming. */
volatile int *volatile nowhere;

int run(void) {
    const char *me = get_instance_name();
    printf("starting\n");
    if (strcmp(me, "segv") == 0) {
        printf("last words without a newline");
        *nowhere = 1;
    } else if (strcmp(me, "sockets") == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        printf("socket returned %d\n", s);
    } else if (strcmp(me, "forker") == 0) {
        pid_t p = fork();
        printf("fork returned %d\n", (int)p);
    } else if (strcmp(me, "exiter") == 0) {
        fprintf(stderr, "giving up\n");
        exit(3);
    }
    return 0;
}
