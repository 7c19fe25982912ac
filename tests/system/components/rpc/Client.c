/* Calls every method of Hello and prints what came back. */
#include <camkes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int run(void) {
    printf("%s: greeting=[%s] times=%d\n", get_instance_name(), greeting, times);
    int n = h_say("hello world");
    int64_t b = 40, sum = 0;
    unsigned cnt = 7;
    h_add(2, &b, &sum, &cnt);
    char *out = NULL;
    char *io = strdup("io");
    char *r = h_shout("quiet", &out, &io);
    double xs[] = {1.5, 2.5};
    size_t ys_sz = 0;
    int *ys = NULL;
    size_t zs_sz = 2;
    uint8_t *zs = malloc(2);
    zs[0] = 3;
    zs[1] = 4;
    double t = h_total(2, xs, &ys_sz, &ys, &zs_sz, &zs);
    printf("say=%d sum=%lld count=%u\n", n, (long long)sum, cnt);
    printf("shout=%s out=%s io=%s\n", r, out, io);
    printf("total=%.1f ys=%zu:%d,%d,%d zs=%zu:%d,%d\n", t, ys_sz, ys[0], ys[1], ys[2], zs_sz,
           zs[0], zs[1]);
    /* a long string: marshalled in one message */
    char big[8000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    printf("big=%d\n", h_say(big) == (int)strlen(big));
    free(out);
    free(io);
    free(r);
    free(ys);
    free(zs);
    return 0;
}
