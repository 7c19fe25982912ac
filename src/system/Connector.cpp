#include "system/Connector.h"

#include "util/Error.h"

#include <array>
#include <map>
#include <set>
#include <utility>

namespace cxvm::system {

namespace {

struct ConnectorName {
    std::string_view name;
    ConnectorKind kind;
};

// CAmkES's connector names; the seL4 mechanism differences between the variants
// (badged endpoints, native vs. templated notifications) do not exist on a host.
constexpr std::array kConnectors{
    ConnectorName{"seL4Notification", ConnectorKind::Notification},
    ConnectorName{"seL4NotificationNative", ConnectorKind::Notification},
    ConnectorName{"seL4NotificationBind", ConnectorKind::Notification},
    ConnectorName{"seL4NotificationQueue", ConnectorKind::Notification},
    ConnectorName{"seL4Asynch", ConnectorKind::Notification},
    ConnectorName{"seL4GlobalAsynch", ConnectorKind::Notification},
    ConnectorName{"seL4SharedData", ConnectorKind::SharedData},
    ConnectorName{"seL4SharedDataWithCaps", ConnectorKind::SharedDataWithCaps},
    ConnectorName{"seL4RPCCall", ConnectorKind::RpcCall},
    ConnectorName{"seL4RPC", ConnectorKind::RpcCall},
    ConnectorName{"seL4RPCSimple", ConnectorKind::RpcCall},
    ConnectorName{"seL4RPCCallNoType", ConnectorKind::RpcCall},
};

struct EndRule {
    adl::InterfaceKind from, to;
    std::string_view fromWord, toWord;
};

EndRule rule(ConnectorKind k) {
    using IK = adl::InterfaceKind;
    switch (k) {
    case ConnectorKind::Notification: return {IK::Emits, IK::Consumes, "emits", "consumes"};
    case ConnectorKind::SharedData:
    case ConnectorKind::SharedDataWithCaps:
        return {IK::Dataport, IK::Dataport, "dataport", "dataport"};
    case ConnectorKind::RpcCall: return {IK::Uses, IK::Provides, "uses", "provides"};
    }
    return {IK::Uses, IK::Provides, "uses", "provides"};
}

}  // namespace

std::optional<ConnectorKind> connectorKind(std::string_view connector) {
    for (const auto& c : kConnectors)
        if (c.name == connector) return c.kind;
    return std::nullopt;
}

std::string where(const adl::SourceLoc& loc) {
    if (loc.file.empty()) return "<unknown>";
    return fmt::format("{}:{}:{}", loc.file, loc.line, loc.col);
}

void checkConnections(const adl::System& system) {
    std::map<std::pair<std::string, std::string>, std::string> dataportUse;
    for (const auto& c : system.connections) {
        auto fail = [&](std::string_view msg) {
            throw Error::format("{}: error: connection {}: {}", where(c.loc), c.name, msg);
        };
        auto kind = connectorKind(c.connector);
        if (!kind)
            fail(fmt::format("connector {} is not supported by the native runtime",
                             c.connector));
        if (c.from.empty() || c.to.empty()) fail("needs a from end and a to end");
        EndRule r = rule(*kind);
        std::uint64_t size = 0;
        auto checkEnd = [&](const adl::ConnectionEnd& e, adl::InterfaceKind want,
                            std::string_view word) {
            const adl::Instance* inst = system.findInstance(e.instance);
            if (!inst) fail(fmt::format("no instance named {}", e.instance));
            const adl::ComponentType* type = system.findType(inst->type);
            if (!type) fail(fmt::format("instance {} has unknown type {}", e.instance, inst->type));
            const adl::Interface* iface = type->findInterface(e.interface);
            if (!iface)
                fail(fmt::format("{} ({}) has no interface {}", e.instance, type->name,
                                 e.interface));
            if (iface->kind != want)
                fail(fmt::format("{}.{} is not a `{}` interface, which {} needs here",
                                 e.instance, e.interface, word, c.connector));
            if (want == adl::InterfaceKind::Dataport) {
                if (iface->dataportSize == 0)
                    fail(fmt::format("dataport {}.{} has size 0", e.instance, e.interface));
                if (size != 0 && iface->dataportSize != size)
                    fail(fmt::format("dataport {}.{} has {} bytes, the other end {}", e.instance,
                                     e.interface, iface->dataportSize, size));
                size = iface->dataportSize;
                auto [it, fresh] = dataportUse.emplace(std::pair{e.instance, e.interface}, c.name);
                if (!fresh)
                    fail(fmt::format("dataport {}.{} is already in connection {}", e.instance,
                                     e.interface, it->second));
            }
        };
        for (const auto& e : c.from) checkEnd(e, r.from, r.fromWord);
        for (const auto& e : c.to) checkEnd(e, r.to, r.toWord);
        if (*kind == ConnectorKind::RpcCall) {
            if (c.to.size() != 1) fail("a procedure connection has exactly one server (to) end");
            std::set<std::string> procs;
            for (const auto& e : c.from)
                procs.insert(system.findType(system.findInstance(e.instance)->type)
                                 ->findInterface(e.interface)->type);
            const auto& s = c.to.front();
            std::string serverProc =
                system.findType(system.findInstance(s.instance)->type)->findInterface(s.interface)->type;
            for (const auto& p : procs)
                if (p != serverProc)
                    fail(fmt::format("a client uses procedure {} but the server provides {}", p,
                                     serverProc));
        }
    }
}

}  // namespace cxvm::system
