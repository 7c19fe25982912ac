// consumes_event: VMM-to-guest events (a CAmkES component emits, a guest process waits)
// as character devices (crossvm-abi.md "Event delivery to the guest"). /dev nodes of the
// "consumes_event" major, minor = the event's id in the spec.
//
// At load the module gives the VMM an event page (INIT hypercall) and checks the magic
// the VMM writes there. To deliver an event the VMM writes its id into the page and
// raises IRQ 12; the handler reads the id, ACKs (which lets the VMM deliver the next one),
// marks that id pending and wakes its pollers. poll() reports POLLIN once per pending
// event and clears it: events latch like notifications and coalesce.
//
// Same interface as the reference's module (camkes-vm-linux, drivers/vmm
// consumes_event.c before 2019), written afresh: cxvm's hypercall gate; atomic pending
// bits instead of a mutex taken in the interrupt handler; IRQ 12 shared with the i8042's
// auxiliary port (Linux's i8042 driver holds it as a shared IRQ when it finds the port),
// telling our interrupts apart by a non-zero id in the page; where there is no cxvm
// (QEMU, real hardware) or the VMM refuses INIT it loads without events and says why.
#include <linux/bitops.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/wait.h>

#include <asm/io.h>

#include <cxvm/crossvm.h>
#include <cxvm/hypercall.h>

#define DEVICE_NAME "consumes_event"

static struct cxvm_event_page *event_page;
static DECLARE_BITMAP(pending, CXVM_CROSSVM_MAX_ID + 1);
static wait_queue_head_t waiters[CXVM_CROSSVM_MAX_ID + 1];
static int major_number;
static int irq_cookie;  // dev_id of our handler on the shared IRQ
static bool events_on;  // the VMM accepted the event page and IRQ 12 is ours

static irqreturn_t consumes_event_interrupt(int irq, void *dev_id) {
    unsigned int id = READ_ONCE(event_page->id);
    unsigned int ret;

    // The ACK sets the id back to CXVM_EVENT_NONE (crossvm_abi.h), so an interrupt with
    // no id in the page is the i8042's.
    if (id == CXVM_EVENT_NONE) return IRQ_NONE;
    ret = cxvm_hypercall4(CXVM_TOKEN_EVENT_TO_GUEST, CXVM_EVENT_ACK, 0, 0, 0);
    if (ret != 0)
        pr_err_ratelimited("consumes_event: the VMM refused the ACK of event %u: VMM code %d\n",
                           id, (int)ret);
    if (id > CXVM_CROSSVM_MAX_ID) {
        pr_err_ratelimited("consumes_event: the VMM delivered event id %u (ids are 1..%d)\n", id,
                           CXVM_CROSSVM_MAX_ID);
        return IRQ_HANDLED;
    }
    set_bit(id, pending);
    wake_up_interruptible(&waiters[id]);
    return IRQ_HANDLED;
}

static int consumes_event_open(struct inode *inode, struct file *filp) {
    int minor = iminor(inode);
    if (minor < 1 || minor > CXVM_CROSSVM_MAX_ID) {
        pr_err("consumes_event: minor %d is no event id (ids are 1..%d)\n", minor,
               CXVM_CROSSVM_MAX_ID);
        return -ENXIO;
    }
    if (!events_on) {
        pr_err_ratelimited("consumes_event: no VMM-to-guest events on this machine (see the "
                           "module's load message)\n");
        return -ENODEV;
    }
    return 0;
}

// The reference's semantics: reporting the event consumes it (poll(fd, 1, -1) waits for
// one, poll(fd, 1, 0) checks and clears). Note that epoll, which may call this more than
// once per wake-up, can therefore miss events; poll() and select() cannot.
static __poll_t consumes_event_poll(struct file *filp, poll_table *wait) {
    int minor = iminor(file_inode(filp));
    poll_wait(filp, &waiters[minor], wait);
    if (test_and_clear_bit(minor, pending)) return EPOLLIN | EPOLLRDNORM;
    return 0;
}

static const struct file_operations consumes_event_fops = {
    .owner = THIS_MODULE,
    .open = consumes_event_open,
    .poll = consumes_event_poll,
};

// Hands the event page to the VMM. 0, or an errno with `why` saying what failed.
static int consumes_event_setup(char *why, size_t len) {
    unsigned int ret, magic;
    int err;

    // Without cxvm there is nobody to deliver events (and vmcall may be an invalid
    // opcode, as under QEMU TCG): no hypercall at all.
    if (cxvm_hypercall_gate() == CXVM_GATE_NONE) {
        snprintf(why, len, "not running under cxvm (no hypercall gate)");
        return -ENODEV;
    }
    event_page = (struct cxvm_event_page *)get_zeroed_page(GFP_KERNEL);
    if (!event_page) {
        snprintf(why, len, "cannot allocate the event page");
        return -ENOMEM;
    }
    // Before INIT: once the VMM has the page it may deliver at any time.
    err = request_irq(CXVM_EVENT_IRQ, consumes_event_interrupt, IRQF_SHARED,
                      DEVICE_NAME, &irq_cookie);
    if (err) {
        snprintf(why, len, "cannot get IRQ %u (error %d; held unshared by another driver?)",
                 CXVM_EVENT_IRQ, err);
        goto free_page;
    }
    ret = cxvm_hypercall4(CXVM_TOKEN_EVENT_TO_GUEST, CXVM_EVENT_INIT,
                          (unsigned int)virt_to_phys(event_page), 0, 0);
    if (ret != 0) {
        snprintf(why, len, "the VMM refused the event page (INIT): VMM code %d%s", (int)ret,
                 ret == CXVM_HYPERCALL_ENOSYS ? ", it has no cross-VM event support" : "");
        err = -cxvm_crossvm_errno(ret);
        goto free_irq;
    }
    magic = READ_ONCE(event_page->magic);
    if (magic != CXVM_EVENT_MAGIC) {
        snprintf(why, len, "event page magic is %u after INIT, expected %u", magic,
                 CXVM_EVENT_MAGIC);
        free_irq(CXVM_EVENT_IRQ, &irq_cookie);
        // The VMM accepted INIT and may still write to that address: the page is left
        // allocated rather than handed back to the kernel.
        event_page = NULL;
        return -EIO;
    }
    return 0;

free_irq:
    free_irq(CXVM_EVENT_IRQ, &irq_cookie);
free_page:
    free_page((unsigned long)event_page);
    event_page = NULL;
    return err;
}

// The device always registers, so the boot and consumes_event_init go the same way
// everywhere; where events cannot work (QEMU, a VMM that refuses INIT) the load says why
// in one line and opening a node fails with ENODEV. (Failing the load instead prints
// that line twice: busybox insmod retries with init_module after finit_module.)
static int __init consumes_event_init(void) {
    char why[128];
    int i;

    for (i = 0; i <= CXVM_CROSSVM_MAX_ID; i++) init_waitqueue_head(&waiters[i]);
    major_number = register_chrdev(0, DEVICE_NAME, &consumes_event_fops);
    if (major_number < 0) {
        pr_err("consumes_event: cannot register the character device (%d)\n", major_number);
        return major_number;
    }
    if (consumes_event_setup(why, sizeof(why)) != 0) {
        pr_warn("consumes_event: major number %d, no VMM-to-guest events: %s\n", major_number,
                why);
        return 0;
    }
    events_on = true;
    // There is no hypercall to take the page back from the VMM, so the module stays
    // loaded (rmmod says it is in use) instead of freeing a page the VMM writes to.
    __module_get(THIS_MODULE);
    pr_info("consumes_event: initialized with major number %d, events on IRQ %u\n",
            major_number, CXVM_EVENT_IRQ);
    return 0;
}

// Only reached without events (with them the module pins itself).
static void __exit consumes_event_exit(void) {
    unregister_chrdev(major_number, DEVICE_NAME);
    pr_info("consumes_event: exit\n");
}

module_init(consumes_event_init);
module_exit(consumes_event_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("cxvm cross-VM events from CAmkES components to guest processes");
