#pragma once
// The descriptors a running VM still makes VFIO ioctls on: the VM instance's sandbox
// admits those ioctls on these only (runtime/src/sandbox.c CXVM_SANDBOX_VM_PASSTHROUGH;
// docs/passthrough.md "System runs"). Owned by VfioSession and its backends; valid
// while they live.
#include <vector>

namespace cxvm::hw::vfio {

struct VfioFds {
    int container = -1;  // -1: no passthrough
    std::vector<int> devices;
};

}  // namespace cxvm::hw::vfio
