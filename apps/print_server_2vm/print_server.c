/* The tutorial's print server for two guests: each guest's do_print event prints that
 * guest's buffer and answers on its own done_printing. A passive component: the
 * callbacks run on the event interfaces' threads (CAmkES callbacks are one-shot, so
 * each re-registers itself). */
#include <camkes.h>
#include <stdio.h>

static void print0(void *arg) {
    (void)arg;
    printf("vm0: %s\n", (char *)data0);
    done_printing0_emit();
    do_print0_reg_callback(print0, NULL);
}

static void print1(void *arg) {
    (void)arg;
    printf("vm1: %s\n", (char *)data1);
    done_printing1_emit();
    do_print1_reg_callback(print1, NULL);
}

void post_init(void) {
    do_print0_reg_callback(print0, NULL);
    do_print1_reg_callback(print1, NULL);
}
