// hello_module: the sample kernel module build-rootfs builds against the guest kit's
// headers; /init loads it (see init_template). Makes no hypercall: it must load under
// any hypervisor, including QEMU TCG where vmcall is an invalid opcode.
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

static int __init hello_module_init(void) {
    pr_info("hello_module: loaded\n");
    return 0;
}

static void __exit hello_module_exit(void) {
    pr_info("hello_module: unloaded\n");
}

module_init(hello_module_init);
module_exit(hello_module_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("cxvm sample guest module");
