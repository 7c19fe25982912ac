#pragma once
// The backend a NicOptions names: SlirpBackend for `user`, TapBackend for `tap`.
#include "net/NetBackend.h"
#include "net/NetOptions.h"

#include <memory>
#include <string>

namespace cxvm::net {

// Throws cxvm::Error prefixed with options.origin (the flag or the spec's place).
std::unique_ptr<NetBackend> createBackend(const NicOptions& options, std::string name);

}  // namespace cxvm::net
