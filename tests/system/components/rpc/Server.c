/* Implements procedure Hello: every parameter form the glue marshals. */
#include <camkes.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hello_say(const char *s) {
    printf("say(\"%s\")\n", s);
    return (int)strlen(s);
}

void hello_add(int a, const int64_t *b, int64_t *sum, unsigned int *count) {
    *sum = a + *b;
    *count += 1;
}

char *hello_shout(const char *in, char **out, char **io) {
    char *r = strdup(in);
    for (char *p = r; *p; p++) *p = (char)toupper((unsigned char)*p);
    *out = strdup("out!");
    size_t n = strlen(*io);
    *io = realloc(*io, n + 2);
    strcat(*io, "+");
    return r;
}

double hello_total(size_t xs_sz, const double *xs, size_t *ys_sz, int **ys, size_t *zs_sz,
                   uint8_t **zs) {
    double t = 0;
    for (size_t i = 0; i < xs_sz; i++) t += xs[i];
    *ys_sz = 3;
    *ys = malloc(3 * sizeof(int));
    for (int i = 0; i < 3; i++) (*ys)[i] = i * 10;
    for (size_t i = 0; i < *zs_sz; i++) (*zs)[i] = (uint8_t)((*zs)[i] * 2);
    return t;
}
