/* `has mutex`, `has semaphore`, `has binary_semaphore`: process-shared objects in a
 * MAP_SHARED region, so that they keep their meaning for every thread and for any
 * process the region is later handed to (a VMM's vCPU threads, say). */
#include "camkes/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

struct cxvm_shared_mutex {
    pthread_mutex_t m;
};

/* A semaphore with an optional ceiling (binary semaphores saturate at 1). */
struct cxvm_shared_sem {
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned value;
    unsigned limit; /* 0 = none */
};

static void *shared_alloc(size_t n) {
    static unsigned char *region;
    static size_t used, cap;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    n = (n + 63) & ~(size_t)63;
    pthread_mutex_lock(&lock);
    if (!region || used + n > cap) {
        cap = 64 * 1024;
        if (n > cap) cxvm_fatal("shared object too large");
        region = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) cxvm_fatal("mmap for mutexes/semaphores: errno %d", errno);
        used = 0;
    }
    void *p = region + used;
    used += n;
    pthread_mutex_unlock(&lock);
    return p;
}

static void init_mutex(pthread_mutex_t *m) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    /* A holder that dies must not wedge the others forever. */
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

static int lock_robust(pthread_mutex_t *m) {
    int r = pthread_mutex_lock(m);
    if (r == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        r = 0;
    }
    return r;
}

struct cxvm_shared_mutex *cxvm_mutex_create(void) {
    struct cxvm_shared_mutex *m = shared_alloc(sizeof *m);
    init_mutex(&m->m);
    return m;
}

int cxvm_mutex_lock(struct cxvm_shared_mutex *m) { return lock_robust(&m->m) == 0 ? 0 : -1; }
int cxvm_mutex_unlock(struct cxvm_shared_mutex *m) {
    return pthread_mutex_unlock(&m->m) == 0 ? 0 : -1;
}

struct cxvm_shared_sem *cxvm_sem_create(unsigned initial, unsigned limit) {
    struct cxvm_shared_sem *s = shared_alloc(sizeof *s);
    init_mutex(&s->m);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&s->c, &a);
    pthread_condattr_destroy(&a);
    s->limit = limit;
    s->value = limit && initial > limit ? limit : initial;
    return s;
}

int cxvm_sem_wait(struct cxvm_shared_sem *s) {
    if (lock_robust(&s->m) != 0) return -1;
    while (s->value == 0) pthread_cond_wait(&s->c, &s->m);
    s->value--;
    pthread_mutex_unlock(&s->m);
    return 0;
}

int cxvm_sem_trywait(struct cxvm_shared_sem *s) {
    if (lock_robust(&s->m) != 0) return -1;
    int r = -1;
    if (s->value > 0) {
        s->value--;
        r = 0;
    }
    pthread_mutex_unlock(&s->m);
    return r;
}

int cxvm_sem_post(struct cxvm_shared_sem *s) {
    if (lock_robust(&s->m) != 0) return -1;
    if (!s->limit || s->value < s->limit) s->value++;
    pthread_cond_signal(&s->c);
    pthread_mutex_unlock(&s->m);
    return 0;
}
