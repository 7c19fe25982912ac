#include <camkes.h>

#include <stdio.h>

void r_done(const char *who) {
    printf("done: %s\n", who);
    s_post();
}

int run(void) {
    for (int i = 0; i < 4; i++) s_wait();
    printf("all probes reported\n");
    return 0;
}
