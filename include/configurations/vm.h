/* <configurations/vm.h>: the camkes-vm macros that declare and configure guests.
 *
 *   component Init0 { VM_INIT_DEF() ... }        the 0th guest's VMM component
 *   component VM {
 *       composition   { VM_COMPOSITION_DEF() VM_PER_VM_COMP_DEF(0) ... }
 *       configuration { VM_CONFIGURATION_DEF() VM_PER_VM_CONFIG_DEF(0, 2) ... }
 *   }
 *
 * The Ith guest is component InitI with instance vmI. Passthrough settings go on
 * "vmI_config" (vm0_config.pci_devices = [...]); cxvm applies them to instance vmI.
 */
#pragma once

#include <autoconf.h>

/* The app's own configuration header (KERNEL_IMAGE, ROOTFS, VM_GUEST_CMDLINE):
 * <app>/configurations/<app>.h, passed in by cxvm when the app has one. */
#ifdef CXVM_APP_CONFIG_HEADER
#include CXVM_APP_CONFIG_HEADER
#endif

/* Inside `component InitI { ... }`. `cxvm_is_vm` marks the component as a VM (a Linux
 * guest run by cxvm's VMM): the ADL model's ComponentType::isVm. */
#define VM_INIT_DEF()                                                              \
    control;                                                                       \
    attribute int cxvm_is_vm = 1;                                                  \
    attribute string kernel_cmdline = "";                                          \
    attribute string kernel_image = "";                                            \
    attribute string kernel_relocs = "";                                           \
    attribute string initrd_image = "";                                            \
    attribute int guest_ram_mb = 128;                                              \
    attribute int num_vcpus = 1;                                                   \
    /* cxvm: virtio-blk disks (vda, vdb, ...), as `cxvm run --disk FILE[,ro]`. file: \
     * an absolute path, or relative to the app folder, then to the image cache    \
     * ($CXVM_IMAGE_CACHE, else /var/cache/cxvm; scripts/build-disk-image). */     \
    attribute { string file; int read_only; } disks[] = [];                        \
    /* cxvm: virtio-net interfaces (eth0, eth1, ...), as `cxvm run --net`; type   \
     * "user" (slirp; hostfwd: one rule or a list, "tcp:127.0.0.1:2222-:22") or  \
     * "tap" (ifname: an existing tap device); mac optional. docs/network.md. */ \
    attribute { string type; string hostfwd[]; string mac; string ifname; } nics[] = []; \
    attribute int iospace_domain = 0x0f;                                           \
    attribute int pci_devices_iospace = 0;                                         \
    attribute { int start; int end; int pci_device; string name; } ioports[] = []; \
    attribute {                                                                    \
        /* cxvm: "bdf":"0000:00:01.0" names the host function with its domain, \
         * instead of bus, dev and fun. */                                        \
        string name; string bdf; int bus; int dev; int fun; string irq;            \
        { uint64_t paddr; uint64_t size; int page_bits; } memory[];                \
    } pci_devices[] = [];                                                          \
    attribute {                                                                    \
        string name; int source; int level_trig; int active_low; int dest;         \
    } irqs[] = [];

/* Helper instances every VM system shares. camkes-vm instantiates serial, timer, PCI
 * config and RTC servers here; cxvm's VMM emulates those devices itself. */
#define VM_COMPOSITION_DEF()

/* The Ith guest: component InitI, instance vmI. */
#define VM_PER_VM_COMP_DEF(num) component Init##num vm##num;

#define VM_CONFIGURATION_DEF()

/* Per-guest defaults. `untyped` sized the guest's seL4 untyped pool; a Linux host has
 * no untypeds, so it is accepted and unused. */
#define VM_PER_VM_CONFIG_DEF(num, untyped) \
    vm##num.cnode_size_bits = 21;          \
    vm##num.simple = true;
