/* The layout both ends agree on, at the start of the dataport. */
#pragma once
#include <stdint.h>

struct record {
    uint32_t seq;
    uint32_t checksum; /* sum of the bytes of text */
    char text[120];
};

static inline uint32_t record_checksum(const char *text) {
    uint32_t sum = 0;
    for (const char *p = text; *p; p++) sum += (unsigned char)*p;
    return sum;
}
