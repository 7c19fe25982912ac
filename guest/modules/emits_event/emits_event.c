// emits_event: guest-to-VMM events (a guest process emits, a CAmkES component waits) as
// character devices (crossvm-abi.md "Guest kernel modules"). /dev nodes of the
// "emits_event" major, minor = the event's id in the spec. ioctl EMITS_EVENT_EMIT makes
// the EMIT hypercall with that id; the VMM signals the connection and resumes the guest
// at once (events are notifications: emitting never blocks).
//
// Same interface as the reference's module (camkes-vm-linux, drivers/vmm emits_event.c
// before 2019), written afresh on cxvm's hypercall gate, passing the VMM's answer back to
// the caller as an errno.
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include <cxvm/crossvm.h>
#include <cxvm/hypercall.h>

#define DEVICE_NAME "emits_event"

static int major_number;

static int emits_event_open(struct inode *inode, struct file *filp) {
    int minor = iminor(inode);
    if (minor < 1 || minor > CXVM_CROSSVM_MAX_ID) {
        pr_err("emits_event: minor %d is no event id (ids are 1..%d)\n", minor,
               CXVM_CROSSVM_MAX_ID);
        return -ENXIO;
    }
    return 0;
}

static long emits_event_ioctl(struct file *filp, unsigned int cmd, unsigned long arg) {
    int minor = iminor(file_inode(filp));
    unsigned int ret;

    if (cmd != EMITS_EVENT_EMIT) return -ENOTTY;
    if (cxvm_hypercall_gate() == CXVM_GATE_NONE) {
        pr_err_ratelimited("emits_event: not running under cxvm (no hypercall gate): cannot "
                           "emit event %d\n",
                           minor);
        return -ENODEV;
    }
    ret = cxvm_hypercall4(CXVM_TOKEN_EVENT_FROM_GUEST, CXVM_EVENT_EMIT, minor, 0, 0);
    if (ret != 0) {
        pr_err_ratelimited("emits_event: the VMM refused to emit event %d: VMM code %d\n",
                           minor, (int)ret);
        return -cxvm_crossvm_errno(ret);
    }
    return 0;
}

static const struct file_operations emits_event_fops = {
    .owner = THIS_MODULE,
    .open = emits_event_open,
    .unlocked_ioctl = emits_event_ioctl,
};

static int __init emits_event_init(void) {
    major_number = register_chrdev(0, DEVICE_NAME, &emits_event_fops);
    if (major_number < 0) {
        pr_err("emits_event: cannot register the character device (%d)\n", major_number);
        return major_number;
    }
    pr_info("emits_event: initialized with major number %d\n", major_number);
    return 0;
}

static void __exit emits_event_exit(void) {
    unregister_chrdev(major_number, DEVICE_NAME);
    pr_info("emits_event: exit\n");
}

module_init(emits_event_init);
module_exit(emits_event_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("cxvm cross-VM events from guest processes to CAmkES components");
