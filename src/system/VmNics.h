#pragma once
// A VM instance's `nics` attribute (VM_INIT_DEF in <configurations/vm.h>), the spec's
// form of `cxvm run --net` (docs/network.md):
//
//   vm0.nics = [{"type": "user", "hostfwd": ["tcp:127.0.0.1:2222-:22"], "mac": "52:54:00:12:34:56"},
//               {"type": "tap", "ifname": "tap0"}];
//
// "type" is required; "hostfwd" (user only) is one rule or a list of them; "mac" and
// "ifname" (tap only, required there) are strings. Read the same way by `cxvm run APP`
// (one VM in this process) and by runApp (passed to the VM instance as --net).
#include "adl/Model.h"
#include "net/NetOptions.h"

#include <vector>

namespace cxvm::system {

// Throws cxvm::Error starting with the spec's file:line:col for a malformed entry.
// Each NicOptions::origin names the entry ("spec.camkes:9:20: vm0.nics[0]").
std::vector<net::NicOptions> vmNics(const adl::Instance& vm);

}  // namespace cxvm::system
