#include <camkes.h>

#include <stdio.h>
#include <string.h>

#include "record.h"

/* Filled by the callback thread, emptied by run(): guarded by log_lock. */
static struct record journal[16];
static int logged;

static void on_ready(void *arg) {
    (void)arg;
    inbox_acquire(); /* see the producer's stores */
    const struct record *r = (const struct record *)inbox;
    log_lock_lock();
    memcpy(&journal[logged % 16], r, sizeof *r);
    logged++;
    log_lock_unlock();
    ready_reg_callback(on_ready, NULL);
    taken_emit();
    pending_post();
}

void post_init(void) { ready_reg_callback(on_ready, NULL); }

int run(void) {
    for (int i = 0; i < records; i++) {
        pending_wait();
        log_lock_lock();
        struct record r = journal[i % 16];
        log_lock_unlock();
        int ok = r.checksum == record_checksum(r.text);
        printf("record %u: %s (checksum %s)\n", r.seq, r.text, ok ? "ok" : "BAD");
    }
    printf("%d records received\n", records);
    done_emit();
    return 0;
}
