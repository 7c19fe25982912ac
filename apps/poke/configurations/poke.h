/* The poke app's guest: the same kernel, rootfs and command line as the minimal app
 * (the tutorial's configurations/cma34cr_minimal.h). */
#pragma once

#define KERNEL_IMAGE "bzimage"
#define ROOTFS "rootfs.cpio"
#define VM_GUEST_CMDLINE "console=ttyS0,115200 earlyprintk=ttyS0,115200 i8042.nokbd=y i8042.nomux=y " \
                         "i8042.noaux=y io_delay=udelay noisapnp pci=nomsi"
