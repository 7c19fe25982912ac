#pragma once
// The main of a VM instance process (docs/crossvm.md "VM instances"): `cxvm-vm`, and
// every VM component executable an app builds (its generated glue's main calls
// cxvm_vm_instance_main). runApp starts it with a VmInstanceConfig on the command line
// and the instance's connection descriptors named in CXVM_IFACES.
//
// Start-up: parse the config, build the Vm, load the guest (the kernel command line
// gets " cxvm.instance=<instance>", and " i8042.noaux=1" when the guest consumes events:
// their IRQ is 12, the PS/2 mouse's), attach the cross-VM connectors (vmm::CrossVm),
// enter the seccomp allowlist, run the app's pre_init() (handler registration; an error
// there stops the process before the guest starts) and post_init(), then run the guest.
// The exit status is the guest's (0 after a poweroff or Ctrl-A x).
#ifdef __cplusplus
extern "C" {
#endif

int cxvm_vm_instance_main(int argc, char** argv);

#ifdef __cplusplus
}
#endif
