/* The print_server_2vm app's guests (both the same kernel and initrd as minimal). */
#pragma once

#define KERNEL_IMAGE "bzimage"
#define ROOTFS "rootfs.cpio"
#define VM_GUEST_CMDLINE "console=ttyS0,115200 earlyprintk=ttyS0,115200 i8042.nokbd=y i8042.nomux=y " \
                         "i8042.noaux=y io_delay=udelay noisapnp pci=nomsi"
