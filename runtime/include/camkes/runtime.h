/* cxvm's C runtime for native CAmkES components: what the generated glue calls.
 * Component code never includes this directly; it includes the generated <camkes.h>.
 *
 * A component instance is a process. The supervisor (cxvm::system::runApp) hands it
 * the descriptors of its connections and nothing else, and names them in the
 * environment:
 *   CXVM_INSTANCE=<instance name>
 *   CXVM_IFACES=<interface>=<fd>[,<fd>...];...
 * Events are eventfds, dataports memfds, procedure calls SOCK_SEQPACKET socketpairs
 * (one per client end). */
#ifndef CXVM_CAMKES_RUNTIME_H
#define CXVM_CAMKES_RUNTIME_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- process-wide ------------------------------------------------------------- */

/* Fatal runtime error: prints "cxvm runtime: <msg>" and exits with status 70. */
__attribute__((noreturn, format(printf, 1, 2))) void cxvm_fatal(const char *fmt, ...);

/* The descriptors the supervisor passed for `iface`; returns their count (0 when the
 * interface is not connected) and stores a pointer to them in *fds. */
int cxvm_iface_fds(const char *iface, const int **fds);
const char *cxvm_instance_name(void);

/* ---- events (seL4Notification) -------------------------------------------------- */

struct cxvm_event {
    const char *name;
    int nfds;        /* emits: one eventfd per connected consumer; consumes: 0 or 1 */
    const int *fds;
    /* consumes side: one-shot callback, run by the interface's callback thread */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void (*callback)(void *);
    void *callback_arg;
    int thread_started;
};

void cxvm_event_bind(struct cxvm_event *e);
void cxvm_event_emit(struct cxvm_event *e);
void cxvm_event_wait(struct cxvm_event *e);
int cxvm_event_poll(struct cxvm_event *e);
int cxvm_event_reg_callback(struct cxvm_event *e, void (*cb)(void *), void *arg);

/* ---- dataports (seL4SharedData, seL4SharedDataWithCaps) ------------------------- */

struct cxvm_dataport {
    const char *name;
    size_t size;     /* from the spec: Buf(N) */
    int fd;          /* the memfd, -1 when unconnected */
    void *base;
};

/* Maps the interface's memfd (or private zeroed pages when unconnected). */
void cxvm_dataport_bind(struct cxvm_dataport *d);

/* ---- mutexes and semaphores (`has`) --------------------------------------------- */

/* Process-shared objects in one MAP_SHARED region per instance, so that they keep
 * their meaning for every thread and any process the region is handed to. */
struct cxvm_shared_mutex;
struct cxvm_shared_sem;
struct cxvm_shared_mutex *cxvm_mutex_create(void);
int cxvm_mutex_lock(struct cxvm_shared_mutex *m);
int cxvm_mutex_unlock(struct cxvm_shared_mutex *m);
/* limit 0 = counting semaphore, 1 = binary semaphore */
struct cxvm_shared_sem *cxvm_sem_create(unsigned initial, unsigned limit);
int cxvm_sem_wait(struct cxvm_shared_sem *s);
int cxvm_sem_trywait(struct cxvm_shared_sem *s);
int cxvm_sem_post(struct cxvm_shared_sem *s);

/* ---- procedures (seL4RPCCall) ----------------------------------------------------- */

#define CXVM_MSG_MAX 65536

/* A marshalling buffer; `failed` latches the first overflow/underflow. */
struct cxvm_msg {
    uint8_t data[CXVM_MSG_MAX];
    size_t len;
    size_t pos;
    int failed;
};

void cxvm_msg_reset(struct cxvm_msg *m);
void cxvm_msg_put(struct cxvm_msg *m, const void *p, size_t n);
void cxvm_msg_get(struct cxvm_msg *m, void *p, size_t n);
void cxvm_msg_put_str(struct cxvm_msg *m, const char *s);
/* Points into the buffer (valid until the buffer is reused); NULL on a bad message. */
const char *cxvm_msg_get_str(struct cxvm_msg *m);
/* A malloc()ed copy; never NULL (fatal on a bad message). */
char *cxvm_msg_get_strdup(struct cxvm_msg *m);
/* Arrays: element count, then the elements. get_array returns malloc()ed memory. */
void cxvm_msg_put_array(struct cxvm_msg *m, const void *p, size_t count, size_t elem);
void *cxvm_msg_get_array(struct cxvm_msg *m, size_t *count, size_t elem);

struct cxvm_rpc_client {
    const char *name;
    int fd;          /* -1 when unconnected */
    pthread_mutex_t lock;
    struct cxvm_msg msg;
};

void cxvm_rpc_client_bind(struct cxvm_rpc_client *c);
/* Starts a call: locks the client and returns its buffer with the method index. */
struct cxvm_msg *cxvm_rpc_begin(struct cxvm_rpc_client *c, uint32_t method);
/* Sends the request, waits for the reply and returns it positioned after the status
 * word. The caller unmarshals and then calls cxvm_rpc_end. */
struct cxvm_msg *cxvm_rpc_call(struct cxvm_rpc_client *c);
void cxvm_rpc_end(struct cxvm_rpc_client *c);

/* Server side: `dispatch` unmarshals `req` (positioned after the method index),
 * calls the component's implementation and marshals the reply into `rep`. It returns
 * 0, or -1 for an unknown method / malformed request (the client is then told). */
typedef int (*cxvm_rpc_dispatch_fn)(uint32_t method, struct cxvm_msg *req,
                                    struct cxvm_msg *rep);
struct cxvm_rpc_server {
    const char *name;
    int nfds;
    const int *fds;
    cxvm_rpc_dispatch_fn dispatch;
};

void cxvm_rpc_server_bind(struct cxvm_rpc_server *s);
/* One thread per provided interface (as CAmkES gives each interface its own thread). */
void cxvm_rpc_server_start(struct cxvm_rpc_server *s);

/* ---- the component's entry points, provided by generated glue ------------------ */

struct cxvm_component {
    const char *type_name;
    int control;
    /* binds every interface and creates the `has` objects for `instance` */
    void (*init)(const char *instance);
    /* starts the server thread of every provided interface */
    void (*start)(void);
    int (*run)(void); /* NULL for a passive component */
};

/* Runs a component: environment, sandbox, init, pre_init, servers, post_init, run. */
int cxvm_component_main(const struct cxvm_component *c);

/* ---- sandbox ---------------------------------------------------------------------- */

enum cxvm_sandbox_stage {
    /* Installed by the supervisor before exec: also lets the dynamic loader work. */
    CXVM_SANDBOX_EXEC = 0,
    /* Installed by the runtime once the component is set up: no exec, no open. */
    CXVM_SANDBOX_RUN = 1,
};

/* Builds the allowlist of `stage` into a libseccomp context (returned as void* so this
 * header does not need <seccomp.h>); NULL on failure. Release with seccomp_release. */
void *cxvm_sandbox_filter(enum cxvm_sandbox_stage stage);

/* The allowlist of a VM instance process, loaded by the VM instance itself once its
 * guest is loaded (it gets no exec stage: a VMM opens /dev/kvm, the guest's files and
 * its console log first). `flags`: CXVM_SANDBOX_VM_ANY_IOCTL for the kvm engine (all
 * ioctls), else only the console terminal's; CXVM_SANDBOX_VM_NET for a VM with network
 * interfaces (slirp's host sockets; tap devices are attached before). NULL on failure. */
#define CXVM_SANDBOX_VM_ANY_IOCTL 1
#define CXVM_SANDBOX_VM_NET 2
void *cxvm_sandbox_vm_filter(int flags);

/* CXVM_SANDBOX_VM_PASSTHROUGH: a VM with host PCI functions passed through with VFIO
 * (docs/passthrough.md "System runs"). The container, groups and devices are opened and
 * guest RAM is mapped for DMA before the sandbox; afterwards the VM needs, on the
 * descriptors named here only: on each device fd the VFIO device ioctls (region and IRQ
 * info, VFIO_DEVICE_SET_IRQS for INTx unmask and teardown, VFIO_DEVICE_RESET), on the
 * container fd VFIO_IOMMU_UNMAP_DMA (teardown). BAR accesses are pread/pwrite on the
 * device fd and mmap of it, eventfds carry INTx: all in the run stage's list already.
 * NULL (failure) when the flag and the descriptors disagree, or a descriptor is < 0. */
#define CXVM_SANDBOX_VM_PASSTHROUGH 4
struct cxvm_sandbox_vfio {
    const int *device_fds;
    unsigned n_device_fds;
    int container_fd;
};
void *cxvm_sandbox_vm_filter_vfio(int flags, const struct cxvm_sandbox_vfio *vfio);

#ifdef __cplusplus
}
#endif

#endif
