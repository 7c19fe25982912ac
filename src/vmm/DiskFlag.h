#pragma once
// `cxvm run --disk FILE[,ro]`: a virtio-blk disk backed by FILE, read-write unless `,ro`.
#include "hw/virtio/DiskImage.h"

#include <string_view>

namespace cxvm::vmm {

// Throws cxvm::Error naming the flag for an empty file name or an unknown option.
hw::virtio::DiskOptions parseDiskFlag(std::string_view value);

}  // namespace cxvm::vmm
