/* The disk_boot app's guest (the tutorial's "Booting from hard drive"): Debian's kernel
 * and the initrd its mkinitramfs made, both extracted next to the disk image by
 * scripts/build-disk-image. The names are relative to the app folder, then to the image
 * cache ($CXVM_IMAGE_CACHE, else /var/cache/cxvm): a copy in the app folder wins. */
#pragma once

#define DISK_IMAGE "debian-12-i386/debian-12-i386.img"
#define KERNEL_IMAGE "debian-12-i386/vmlinuz"
#define ROOTFS "debian-12-i386/initrd.img"
/* The tutorial's root=/dev/sda1 becomes /dev/vda1: the disk is virtio-blk, not SATA.
 * reboot=k: a reboot stops cxvm (docs/vmm.md "Stopping"). */
#define VM_GUEST_CMDLINE "console=ttyS0,115200 root=/dev/vda1 rw reboot=k i8042.nokbd=y " \
                         "i8042.nomux=y i8042.noaux=y io_delay=udelay noisapnp pci=nomsi"
