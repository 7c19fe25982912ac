#pragma once
// The connectors cxvm's native runtime implements, and the checks a system must pass
// before glue is generated or processes are started.
#include "adl/Model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cxvm::system {

enum class ConnectorKind : std::uint8_t {
    Notification,        // emits -> consumes: an eventfd
    SharedData,          // dataport <-> dataport: one memfd
    SharedDataWithCaps,  // as SharedData; the `to` end also gets the memory object
    RpcCall,             // uses -> provides: a SOCK_SEQPACKET socketpair per client
};

// Maps a connector name from a spec (including the variants CAmkES users meet, such
// as seL4NotificationNative or seL4RPC) to what cxvm does for it; nullopt if unknown.
std::optional<ConnectorKind> connectorKind(std::string_view connector);

// "file:line:col" of a spec location (or "<unknown>" when it has none).
std::string where(const adl::SourceLoc& loc);

// Checks what the runtime relies on: every connection end names an instance and an
// interface of the right kind for its connector, dataport ends agree on their size,
// a procedure connection has one server, a dataport takes part in one connection.
// Throws cxvm::Error naming the connection's place in the spec.
void checkConnections(const adl::System& system);

}  // namespace cxvm::system
