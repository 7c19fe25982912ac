#include <camkes.h>

#include <stdio.h>
#include <string.h>

#include "record.h"

static const char *const texts[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};

int run(void) {
    struct record *r = (struct record *)outbox;
    for (int i = 0; i < records; i++) {
        const char *t = texts[i % 6];
        snprintf(r->text, sizeof r->text, "%s", t);
        r->checksum = record_checksum(r->text);
        r->seq = (uint32_t)i + 1;
        outbox_release(); /* the record is complete before the consumer hears of it */
        printf("record %d written: %s\n", i + 1, t);
        ready_emit();
        taken_wait(); /* the consumer copied it: the buffer may be reused */
    }
    done_wait(); /* the consumer has logged everything */
    return 0;
}
