#pragma once
// The base root filesystem cxvm builds from busybox when the user gives no base cpio:
// the counterpart of the seed's rootfs-bare.cpio. Login root/root on a getty on ttyS0,
// with a "Welcome to cxvm" banner (/etc/issue) before the login prompt.
#include "boot/rootfs/RootfsTree.h"

#include <cstdint>
#include <span>

namespace cxvm::boot {

// Adds folders, /bin/busybox and its essential applet links, /init, /etc (passwd, shadow,
// group, inittab, rcS, hostname, issue, profile) and /dev/console + /dev/null to `tree`.
// Applets beyond the essential ones are linked at boot (busybox --install -s in rcS).
void addBusyboxBase(RootfsTree& tree, std::span<const std::uint8_t> busybox);

}  // namespace cxvm::boot
