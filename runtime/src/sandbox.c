/* The seccomp allowlist of a component process, in two stages that stack:
 *  - CXVM_SANDBOX_EXEC, loaded by the supervisor between fork and exec, also admits
 *    what the dynamic loader needs (execve, openat, ...);
 *  - CXVM_SANDBOX_RUN, loaded by the runtime before any component code runs: threads,
 *    memory, I/O on the descriptors it already holds, time, futexes. No exec, no new
 *    files or sockets, no signals to other processes.
 * Anything else traps (SIGSYS); the runtime's handler names the system call. A few
 * calls libc makes speculatively fail with an errno instead, so libc degrades. */
#include "camkes/runtime.h"

#include <errno.h>
#include <linux/vfio.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define SC(name) SCMP_SYS(name)

/* Both stages. */
static const int k_run_allow[] = {
    SC(read), SC(write), SC(readv), SC(writev), SC(pread64), SC(pwrite64), SC(preadv2),
    SC(close),
    SC(fstat), SC(newfstatat), SC(lseek), SC(fcntl),
    SC(mmap), SC(munmap), SC(mprotect), SC(mremap), SC(madvise), SC(brk), SC(msync),
    SC(futex), SC(set_robust_list), SC(get_robust_list), SC(rseq), SC(membarrier),
    SC(rt_sigaction), SC(rt_sigprocmask), SC(rt_sigreturn), SC(sigaltstack),
    SC(restart_syscall), SC(pause), SC(exit), SC(exit_group),
    SC(gettid), SC(getpid), SC(getppid), SC(getuid), SC(geteuid), SC(getgid), SC(getegid),
    SC(nanosleep), SC(clock_nanosleep), SC(clock_gettime), SC(clock_getres),
    SC(gettimeofday), SC(time), SC(times), SC(getrusage), SC(sysinfo),
    SC(poll), SC(ppoll), SC(select), SC(pselect6), SC(epoll_create1), SC(epoll_ctl),
    SC(epoll_wait), SC(epoll_pwait), SC(timerfd_create), SC(timerfd_settime),
    SC(timerfd_gettime),
    /* send/recv only: no sendmsg/recvmsg, so no descriptor can be passed (SCM_RIGHTS)
     * to a component that was not given it */
    SC(sendto), SC(recvfrom),
    SC(getrandom), SC(sched_yield), SC(sched_getaffinity),
};

/* Only the exec stage: the loader and libc start-up. */
static const int k_exec_allow[] = {
    SC(execve), SC(openat), SC(open), SC(access), SC(faccessat), SC(faccessat2),
    SC(arch_prctl), SC(set_tid_address), SC(readlink), SC(readlinkat), SC(uname),
    SC(statfs), SC(fstatfs), SC(getcwd), SC(mincore), SC(ioctl), SC(prctl),
    /* narrowed to the own process by the run stage */
    SC(tgkill),
    /* the runtime loads the run stage on top */
    SC(seccomp),
    /* narrowed to the own process by the run stage */
    SC(prlimit64),
};

/* Run stage: fail politely (libc probes files, terminals and thread names). */
static const struct {
    int nr;
    int err;
} k_run_errno[] = {
    {SC(openat), EACCES}, {SC(open), EACCES},   {SC(access), EACCES},
    {SC(faccessat), EACCES}, {SC(faccessat2), EACCES}, {SC(readlink), EACCES},
    {SC(readlinkat), EACCES}, {SC(ioctl), ENOTTY}, {SC(prctl), EPERM},
    {SC(uname), EPERM}, {SC(statfs), EACCES}, {SC(fstatfs), EACCES},
    {SC(getcwd), EACCES}, {SC(mincore), ENOSYS},
    /* glibc falls back to clone, whose flags we can inspect */
    {SC(clone3), ENOSYS},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void *cxvm_sandbox_filter(enum cxvm_sandbox_stage stage) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx) return NULL;
    int rc = 0;
    for (size_t i = 0; i < COUNT(k_run_allow) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, k_run_allow[i], 0);
    /* Threads only: a clone without CLONE_THREAD would be a new process. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (stage == CXVM_SANDBOX_EXEC) {
        for (size_t i = 0; i < COUNT(k_exec_allow) && rc == 0; i++)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, k_exec_allow[i], 0);
        if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SC(clone3), 0);
    } else {
        for (size_t i = 0; i < COUNT(k_run_errno) && rc == 0; i++)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(k_run_errno[i].err), k_run_errno[i].nr, 0);
        /* Resource limits of this process only (glibc reads them for thread stacks). */
        if (rc == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(prlimit64), 1, SCMP_A0(SCMP_CMP_EQ, 0));
        /* abort() and raise() signal the calling thread only. */
        if (rc == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(tgkill), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
    }
    if (rc != 0) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}

/* A VM instance process (docs/crossvm.md "VM instances"): the run stage's calls, plus
 * what a VMM does once its guest is loaded and its devices are open: the terminal's
 * ioctls for the console (raw mode on and off, window size), every ioctl on kvm (the
 * vCPU and VM descriptors; the request numbers are the engine's business), the kvm
 * engine's kick timer, and signals to its own threads. Not allowed: open, exec, fork,
 * sockets, signals to other processes, and replacing the SIGSYS handler that names a
 * refused call (so app code cannot hide a violation). Anything else traps. */
static const int k_vm_allow[] = {
    SC(timer_create), SC(timer_settime), SC(timer_gettime), SC(timer_delete),
    SC(setitimer), SC(getitimer), SC(eventfd2), SC(ftruncate), SC(fallocate),
    /* virtio-blk's I/O thread: one preadv/pwritev per request, fdatasync for FLUSH */
    SC(preadv), SC(pwritev), SC(fdatasync),
};

static const unsigned long k_terminal_ioctls[] = {
    TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, FIONREAD, TIOCGPGRP,
};

/* CXVM_SANDBOX_VM_NET: libslirp's backend thread turns guest connections into host
 * sockets (TCP, UDP, unprivileged ICMP) and listens for hostfwd rules: socket() for
 * AF_INET/AF_INET6 only, and what it does with them. send/recv are sendto/recvfrom,
 * already allowed; FIONREAD (UDP) is among the terminal ioctls. No sendmsg/recvmsg, so
 * still no descriptor passing. A tap device is opened and attached (TUNSETIFF) before
 * the sandbox; afterwards only read, readv and write touch it. */
static const int k_net_allow[] = {
    SC(connect), SC(bind), SC(listen), SC(accept), SC(accept4), SC(shutdown),
    SC(setsockopt), SC(getsockopt), SC(getsockname), SC(getpeername),
};

/* CXVM_SANDBOX_VM_PASSTHROUGH: the VFIO ioctls a running VM makes (linux/vfio.h), each
 * allowed on the given descriptors only (A0 = fd, A1 = request). */
static const unsigned long k_vfio_device_ioctls[] = {
    VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_IRQ_INFO,
    VFIO_DEVICE_SET_IRQS, VFIO_DEVICE_RESET,
};
static const unsigned long k_vfio_container_ioctls[] = {
    VFIO_IOMMU_UNMAP_DMA,
};

static int add_fd_ioctls(scmp_filter_ctx ctx, int fd, const unsigned long *reqs, size_t n) {
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(ioctl), 2, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd),
                              SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)reqs[i]));
    return rc;
}

void *cxvm_sandbox_vm_filter(int flags) { return cxvm_sandbox_vm_filter_vfio(flags, NULL); }

void *cxvm_sandbox_vm_filter_vfio(int flags, const struct cxvm_sandbox_vfio *vfio) {
    const int any_ioctl = flags & CXVM_SANDBOX_VM_ANY_IOCTL;
    const int passthrough = (flags & CXVM_SANDBOX_VM_PASSTHROUGH) != 0;
    if (passthrough != (vfio != NULL)) return NULL;
    if (vfio) {
        if (vfio->container_fd < 0 || vfio->n_device_fds == 0 || !vfio->device_fds) return NULL;
        for (unsigned i = 0; i < vfio->n_device_fds; i++)
            if (vfio->device_fds[i] < 0) return NULL;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx) return NULL;
    /* Every thread of the process, not only the loading one: device threads (a disk's
     * I/O worker, a network backend) start with the board, before the sandbox. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    for (size_t i = 0; i < COUNT(k_run_allow) && rc == 0; i++)
        if (k_run_allow[i] != SC(rt_sigaction))
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, k_run_allow[i], 0);
    for (size_t i = 0; i < COUNT(k_vm_allow) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, k_vm_allow[i], 0);
    for (size_t i = 0; i < COUNT(k_run_errno) && rc == 0; i++)
        if (k_run_errno[i].nr != SC(ioctl))
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(k_run_errno[i].err), k_run_errno[i].nr, 0);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (flags & CXVM_SANDBOX_VM_NET) {
        for (size_t i = 0; i < COUNT(k_net_allow) && rc == 0; i++)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, k_net_allow[i], 0);
        if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_INET));
        if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6));
    }
    if (any_ioctl) {
        /* (the VFIO ioctls are among them) */
        if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(ioctl), 0);
    } else {
        for (size_t i = 0; i < COUNT(k_terminal_ioctls) && rc == 0; i++)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(ioctl), 1,
                                  SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)k_terminal_ioctls[i]));
        if (vfio) {
            for (unsigned i = 0; i < vfio->n_device_fds && rc == 0; i++)
                rc = add_fd_ioctls(ctx, vfio->device_fds[i], k_vfio_device_ioctls, COUNT(k_vfio_device_ioctls));
            if (rc == 0)
                rc = add_fd_ioctls(ctx, vfio->container_fd, k_vfio_container_ioctls,
                                   COUNT(k_vfio_container_ioctls));
        }
    }
    /* Signal handlers for everything but SIGSYS: the VM loop installs and restores its
     * stop signals; the SIGSYS handler is the one that reports a refused call. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(rt_sigaction), 1,
                              SCMP_A0(SCMP_CMP_NE, SIGSYS));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SC(rt_sigaction), 1,
                              SCMP_A0(SCMP_CMP_EQ, SIGSYS));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(prlimit64), 1, SCMP_A0(SCMP_CMP_EQ, 0));
    /* Kicking its own vCPU thread (pthread_kill), abort() and raise(). */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(tgkill), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
    if (rc != 0) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}
