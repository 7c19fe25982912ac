/* The process's view of its connections: parsed once from the environment the
 * supervisor set (see camkes/runtime.h). */
#include "camkes/runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_IFACES = 256, MAX_FDS = 1024 };

static struct {
    char name[128];
    int first; /* index into fds */
    int count;
} g_ifaces[MAX_IFACES];
static int g_niface;
static int g_fds[MAX_FDS];
static int g_nfds;
static int g_parsed;
static const char *g_instance = "?";

void cxvm_fatal(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "cxvm runtime: %s\n", buf);
    _exit(70);
}

/* "a=3,4;b=5" */
static void parse(void) {
    g_parsed = 1;
    const char *inst = getenv("CXVM_INSTANCE");
    if (inst) g_instance = inst;
    const char *s = getenv("CXVM_IFACES");
    if (!s) return;
    while (*s) {
        const char *eq = strchr(s, '=');
        if (!eq) cxvm_fatal("malformed CXVM_IFACES near \"%s\"", s);
        size_t n = (size_t)(eq - s);
        if (n == 0 || n >= sizeof g_ifaces[0].name || g_niface == MAX_IFACES)
            cxvm_fatal("malformed CXVM_IFACES near \"%s\"", s);
        memcpy(g_ifaces[g_niface].name, s, n);
        g_ifaces[g_niface].name[n] = '\0';
        g_ifaces[g_niface].first = g_nfds;
        s = eq + 1;
        while (*s && *s != ';') {
            char *end;
            long fd = strtol(s, &end, 10);
            if (end == s || fd < 0 || g_nfds == MAX_FDS)
                cxvm_fatal("malformed CXVM_IFACES near \"%s\"", s);
            g_fds[g_nfds++] = (int)fd;
            s = end;
            if (*s == ',') s++;
        }
        g_ifaces[g_niface].count = g_nfds - g_ifaces[g_niface].first;
        g_niface++;
        if (*s == ';') s++;
    }
}

int cxvm_iface_fds(const char *iface, const int **fds) {
    if (!g_parsed) parse();
    for (int i = 0; i < g_niface; i++) {
        if (strcmp(g_ifaces[i].name, iface) == 0) {
            *fds = &g_fds[g_ifaces[i].first];
            return g_ifaces[i].count;
        }
    }
    *fds = NULL;
    return 0;
}

const char *cxvm_instance_name(void) {
    if (!g_parsed) parse();
    return g_instance;
}
