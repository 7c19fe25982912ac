// cxvm-vm: a VM instance with no app code (docs/crossvm.md "Shape"). runApp starts it
// for a VM type the app did not build an executable for.
#include "system/vm/VmInstance.h"

int main(int argc, char** argv) { return cxvm_vm_instance_main(argc, argv); }
