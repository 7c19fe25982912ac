// dataport: cross-VM dataports as character devices (crossvm-abi.md "Guest kernel
// modules"). /dev nodes of the "dataport" major, minor = the dataport's id in the spec.
//
// ioctl DATAPORT_ALLOCATE (argument: a decimal string with the size) allocates a
// physically contiguous, page-aligned, zeroed buffer and makes the SHARE hypercall: the
// VMM then makes those guest-physical pages be the dataport's pages, shared with the
// component at the other end. DATAPORT_GET_PADDR / DATAPORT_GET_SIZE write decimal
// strings back; mmap maps the buffer into the caller. Same interface as the reference's
// module (camkes-vm-linux, drivers/vmm dataport.c before 2019), written afresh: it uses
// cxvm's hypercall gate (kvm and interp engines), checks what the VMM answers, allocates
// with the page allocator (kmalloc gives no page alignment) and never frees a shared
// buffer (those pages are the dataport's now).
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <asm/io.h>

#include <cxvm/crossvm.h>
#include <cxvm/hypercall.h>

#define DEVICE_NAME "dataport"

// Larger buffers are not physically contiguous from the page allocator (MAX_ORDER).
#define DATAPORT_MAX_SIZE (PAGE_SIZE << (MAX_ORDER - 1))

struct dataport {
    void *data;    // the buffer (lowmem), NULL until ALLOCATE succeeded
    size_t size;   // bytes, as asked (the spec's size)
    size_t alloc;  // bytes allocated: size rounded up to whole pages
};

static struct dataport dataports[CXVM_CROSSVM_MAX_ID + 1];
static DEFINE_MUTEX(dataports_lock);
static int major_number;
static bool module_pinned;

static int dataport_minor(struct file *filp) {
    return iminor(file_inode(filp));
}

static int dataport_open(struct inode *inode, struct file *filp) {
    int minor = iminor(inode);
    if (minor < 1 || minor > CXVM_CROSSVM_MAX_ID) {
        pr_err("dataport: minor %d is no dataport id (ids are 1..%d)\n", minor,
               CXVM_CROSSVM_MAX_ID);
        return -ENXIO;
    }
    return 0;
}

static long dataport_allocate(int minor, const char __user *arg) {
    char buf[CXVM_DATAPORT_NUMBER_BUF];
    struct dataport *dp = &dataports[minor];
    unsigned long size;
    unsigned int ret;
    phys_addr_t paddr;
    size_t alloc;
    void *data;
    long n;
    int err;

    n = strncpy_from_user(buf, arg, sizeof(buf));
    if (n < 0) return -EFAULT;
    if (n == sizeof(buf) || kstrtoul(buf, 10, &size) != 0 || size == 0) {
        buf[sizeof(buf) - 1] = '\0';
        pr_err("dataport: dataport %d: size '%s' is not a positive decimal number\n", minor,
               buf);
        return -EINVAL;
    }
    if (size > DATAPORT_MAX_SIZE) {
        pr_err("dataport: dataport %d: %lu bytes is more than the %lu contiguous bytes this "
               "module can allocate\n",
               minor, size, (unsigned long)DATAPORT_MAX_SIZE);
        return -ENOMEM;
    }
    alloc = PAGE_ALIGN(size);

    mutex_lock(&dataports_lock);
    if (dp->data) {
        // Shared once per boot: the VMM refuses a second SHARE, and the pages already
        // are the dataport's. Asking again for the same size is harmless.
        err = dp->size == size ? 0 : -EEXIST;
        if (err)
            pr_err("dataport: dataport %d is already allocated with %zu bytes; cannot "
                   "allocate %lu\n",
                   minor, dp->size, size);
        goto out;
    }
    data = alloc_pages_exact(alloc, GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
    if (!data) {
        pr_err("dataport: dataport %d: cannot allocate %zu physically contiguous bytes\n",
               minor, alloc);
        err = -ENOMEM;
        goto out;
    }
    paddr = virt_to_phys(data);
    if (cxvm_hypercall_gate() == CXVM_GATE_NONE) {
        pr_err("dataport: dataport %d: not running under cxvm (no hypercall gate): cannot "
               "share it\n",
               minor);
        free_pages_exact(data, alloc);
        err = -ENODEV;
        goto out;
    }
    ret = cxvm_hypercall4(CXVM_TOKEN_DATAPORT, CXVM_DATAPORT_SHARE, minor,
                          (unsigned int)paddr, (unsigned int)size);
    if (ret != 0) {
        err = -cxvm_crossvm_errno(ret);
        pr_err("dataport: the VMM refused to share dataport %d (%lu bytes at guest-physical "
               "%#llx): VMM code %d%s\n",
               minor, size, (unsigned long long)paddr, (int)ret,
               ret == CXVM_HYPERCALL_ENOSYS ? ", it has no cross-VM dataport support" : "");
        free_pages_exact(data, alloc);
        goto out;
    }
    dp->data = data;
    dp->size = size;
    dp->alloc = alloc;
    // The buffer's pages now back the dataport: unloading would free them into the
    // guest's allocator, so a module with a shared dataport stays loaded.
    if (!module_pinned) {
        __module_get(THIS_MODULE);
        module_pinned = true;
    }
    pr_info("dataport: dataport %d shared: %lu bytes at guest-physical %#llx\n", minor, size,
            (unsigned long long)paddr);
    err = 0;
out:
    mutex_unlock(&dataports_lock);
    return err;
}

// GET_PADDR / GET_SIZE: the number as a NUL-terminated decimal string (the reference's
// convention; libcamkes reads it with strtoull).
static long dataport_get(int minor, unsigned int cmd, char __user *arg) {
    char buf[CXVM_DATAPORT_NUMBER_BUF];
    struct dataport *dp = &dataports[minor];

    mutex_lock(&dataports_lock);
    if (!dp->data) {
        mutex_unlock(&dataports_lock);
        pr_err_ratelimited("dataport: dataport %d is not allocated (dataport_init allocates "
                           "it)\n",
                           minor);
        return -ENXIO;
    }
    if (cmd == DATAPORT_GET_PADDR)
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)virt_to_phys(dp->data));
    else
        snprintf(buf, sizeof(buf), "%zu", dp->size);
    mutex_unlock(&dataports_lock);
    if (copy_to_user(arg, buf, strlen(buf) + 1)) return -EFAULT;
    return 0;
}

static long dataport_ioctl(struct file *filp, unsigned int cmd, unsigned long arg) {
    int minor = dataport_minor(filp);
    switch (cmd) {
    case DATAPORT_ALLOCATE: return dataport_allocate(minor, (const char __user *)arg);
    case DATAPORT_GET_PADDR:
    case DATAPORT_GET_SIZE: return dataport_get(minor, cmd, (char __user *)arg);
    default: return -ENOTTY;
    }
}

// Maps the whole buffer (or its first pages) at the start of the mapping; the offset is
// ignored, as in the reference.
static int dataport_mmap(struct file *filp, struct vm_area_struct *vma) {
    int minor = dataport_minor(filp);
    struct dataport *dp = &dataports[minor];
    unsigned long len = vma->vm_end - vma->vm_start;
    int err;

    // The tutorial shows this line on the console when print_client maps its dataport.
    pr_info("dataport received mmap for minor %d\n", minor);

    mutex_lock(&dataports_lock);
    if (!dp->data) {
        pr_err("dataport: dataport %d is not allocated (dataport_init allocates it)\n", minor);
        err = -ENXIO;
    } else if (len > dp->alloc) {
        pr_err("dataport: mmap of %lu bytes of dataport %d, which has %zu\n", len, minor,
               dp->size);
        err = -EINVAL;
    } else {
        err = remap_pfn_range(vma, vma->vm_start, virt_to_phys(dp->data) >> PAGE_SHIFT, len,
                              vma->vm_page_prot);
        if (err) pr_err("dataport: mmap of dataport %d failed (%d)\n", minor, err);
    }
    mutex_unlock(&dataports_lock);
    return err;
}

static const struct file_operations dataport_fops = {
    .owner = THIS_MODULE,
    .open = dataport_open,
    .unlocked_ioctl = dataport_ioctl,
    .mmap = dataport_mmap,
};

static int __init dataport_init(void) {
    major_number = register_chrdev(0, DEVICE_NAME, &dataport_fops);
    if (major_number < 0) {
        pr_err("dataport: cannot register the character device (%d)\n", major_number);
        return major_number;
    }
    pr_info("dataport: initialized with major number %d\n", major_number);
    return 0;
}

// Only reached with no shared dataport (a shared one pins the module).
static void __exit dataport_exit(void) {
    unregister_chrdev(major_number, DEVICE_NAME);
    pr_info("dataport: exit\n");
}

module_init(dataport_init);
module_exit(dataport_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("cxvm cross-VM dataports (shared memory with CAmkES components)");
