#include <camkes.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int calls;

static void count_call(void) {
    calls_lock_lock();
    calls++;
    calls_lock_unlock();
}

int hello_say(const char *message) {
    count_call();
    printf("call %d: %s\n", calls, message);
    return (int)strlen(message);
}

void hello_add(int a, int b, int *sum) {
    count_call();
    *sum = a + b;
}

char *hello_shout(const char *word) {
    count_call();
    char *r = strdup(word);
    for (char *p = r; *p; p++) *p = (char)toupper((unsigned char)*p);
    return r;
}
