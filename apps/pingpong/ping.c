#include <camkes.h>

#include <stdio.h>

int run(void) {
    for (int i = 1; i <= rounds; i++) {
        printf("ping %d\n", i);
        ping_emit();
        pong_wait();
    }
    printf("%d round trips done\n", rounds);
    return 0;
}
