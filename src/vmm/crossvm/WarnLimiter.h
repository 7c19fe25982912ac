#pragma once
// The cross-VM connectors' rate-limited warnings: the shared util/WarnLimiter.
#include "util/WarnLimiter.h"

namespace cxvm::vmm::crossvm {
using cxvm::WarnLimiter;
}  // namespace cxvm::vmm::crossvm
