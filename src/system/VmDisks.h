#pragma once
// A VM instance's `disks` attribute (VM_INIT_DEF in <configurations/vm.h>):
//
//   vm0.disks = [{"file": "debian-12-i386/debian-12-i386.img", "read_only": 0}];
//
// read the same way by `cxvm run APP` (one VM in this process) and by runApp (passed to
// the VM instance process as --disk FILE[,ro]).
#include "adl/Model.h"
#include "hw/virtio/DiskImage.h"
#include "vmm/GuestFiles.h"

#include <filesystem>
#include <vector>

namespace cxvm::system {

// Each entry's file resolved like kernel_image (vmm::GuestFiles::resolveAppFile: an
// absolute path, the app folder, then the image cache) and made absolute. Throws
// cxvm::Error starting with the spec's file:line:col for a malformed entry or a file
// that is not found. The image itself is opened (and locked) by the VMM.
std::vector<hw::virtio::DiskOptions> vmDisks(const adl::Instance& vm,
                                             const std::filesystem::path& appDir,
                                             const vmm::GuestFiles& files);

}  // namespace cxvm::system
