#pragma once
// `cxvm run --net SPEC` (repeatable): a virtio-net interface. SPEC is QEMU's spelling:
//   user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=XX:XX:XX:XX:XX:XX]
//   tap,ifname=NAME[,mac=...]
#include "net/NetOptions.h"

#include <string_view>

namespace cxvm::vmm {

// Throws cxvm::Error naming the flag ("--net user,hostfwd=...: ...").
net::NicOptions parseNetFlag(std::string_view value);

}  // namespace cxvm::vmm
