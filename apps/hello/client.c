#include <camkes.h>

#include <stdio.h>
#include <stdlib.h>

int run(void) {
    printf("%s (%s) says hello\n", get_instance_name(), name);
    int n = greeter_say("hello, world");
    printf("the server counted %d characters\n", n);
    int sum = 0;
    greeter_add(40, 2, &sum);
    printf("40 + 2 = %d\n", sum);
    char *loud = greeter_shout("quiet please");
    printf("shouted: %s\n", loud);
    free(loud);
    return 0;
}
