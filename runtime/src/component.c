/* A component process's life: environment, crash reporting, the sandbox, then the
 * CAmkES start-up order: pre_init, interfaces, post_init, run. */
#include "camkes/runtime.h"

#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Optional hooks of the component (CAmkES makes them optional too). */
extern void pre_init(void) __attribute__((weak));
extern void post_init(void) __attribute__((weak));

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r <= 0) return;
        p += r;
        n -= (size_t)r;
    }
}

static void write_str(int fd, const char *s) { write_all(fd, s, strlen(s)); }

static void write_num(int fd, long v) {
    char buf[24];
    int i = (int)sizeof buf;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do buf[--i] = (char)('0' + u % 10);
    while ((u /= 10) && i > 1);
    if (v < 0) buf[--i] = '-';
    write_all(fd, buf + i, sizeof buf - (size_t)i);
}

/* On a fatal signal, push out what printf() still holds, so the last words of a
 * crashing component reach the supervisor. Only write(2) here: async-signal-safe. */
static void on_fatal_signal(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
#ifdef __GLIBC__
    if (stdout->_IO_write_ptr > stdout->_IO_write_base)
        write_all(STDOUT_FILENO, stdout->_IO_write_base,
                  (size_t)(stdout->_IO_write_ptr - stdout->_IO_write_base));
#endif
    if (sig == SIGSYS && info->si_code == 1 /* SYS_SECCOMP */) {
        write_str(STDERR_FILENO, "cxvm runtime: system call ");
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, info->si_syscall);
        write_str(STDERR_FILENO, name ? name : "?");
        write_str(STDERR_FILENO, " (");
        write_num(STDERR_FILENO, info->si_syscall);
        write_str(STDERR_FILENO, ") is not allowed for a component\n");
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_crash_handlers(void) {
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

static void enter_sandbox(void) {
    if (getenv("CXVM_NO_SANDBOX")) return; /* debugging a component by hand */
    scmp_filter_ctx ctx = cxvm_sandbox_filter(CXVM_SANDBOX_RUN);
    if (!ctx) cxvm_fatal("cannot build the seccomp filter");
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) cxvm_fatal("cannot load the seccomp filter (%d)", rc);
}

int cxvm_component_main(const struct cxvm_component *c) {
    /* Lines reach the supervisor as they are printed, even through a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    install_crash_handlers();
    if (!getenv("CXVM_INSTANCE"))
        cxvm_fatal("%s is a component of a cxvm system; start it with `cxvm run APP`",
                   c->type_name);
    c->init(cxvm_instance_name());
    enter_sandbox();
    if (pre_init) pre_init();
    c->start();
    if (post_init) post_init();
    if (c->control && c->run) {
        int rc = c->run();
        fflush(stdout);
        fflush(stderr);
        exit(rc);
    }
    /* A passive component lives on its interface threads until the system stops. */
    for (;;) pause();
}
