#include "system/ConnectionSet.h"

#include "system/Connector.h"
#include "util/Error.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace cxvm::system {

namespace {

UniqueFd makeEventfd() {
    // Non-blocking so that X_poll() can test without waiting; X_wait() polls first.
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd) throwErrno("eventfd");
    return fd;
}

UniqueFd makeMemfd(const std::string& name, std::uint64_t size) {
    UniqueFd fd(::memfd_create(("cxvm:" + name).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) throwErrno("memfd_create for dataport " + name);
    const std::uint64_t page = 4096;
    std::uint64_t bytes = (size + page - 1) / page * page;
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
        throwErrno("ftruncate for dataport " + name);
    // No end may shrink the object under the others' mappings (they would SIGBUS).
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        throwErrno("sealing dataport " + name);
    return fd;
}

}  // namespace

int ConnectionSet::keep(UniqueFd fd) {
    int raw = fd.get();
    owned_.push_back(std::move(fd));
    return raw;
}

void ConnectionSet::add(const std::string& instance, const std::string& iface, int fd) {
    auto& v = ends_[instance][iface];
    if (std::find(v.begin(), v.end(), fd) == v.end()) v.push_back(fd);
}

ConnectionSet::ConnectionSet(const adl::System& system) {
    checkConnections(system);
    // One eventfd per consuming interface, however many connections feed it.
    std::map<std::pair<std::string, std::string>, int> consumers;
    for (const auto& c : system.connections) {
        switch (*connectorKind(c.connector)) {
        case ConnectorKind::Notification:
            for (const auto& to : c.to) {
                auto key = std::pair{to.instance, to.interface};
                auto it = consumers.find(key);
                if (it == consumers.end())
                    it = consumers.emplace(key, keep(makeEventfd())).first;
                add(to.instance, to.interface, it->second);
                for (const auto& from : c.from) add(from.instance, from.interface, it->second);
            }
            break;
        case ConnectorKind::SharedData:
        case ConnectorKind::SharedDataWithCaps: {
            const auto& e = c.from.front();
            std::uint64_t size = system.findType(system.findInstance(e.instance)->type)
                                     ->findInterface(e.interface)->dataportSize;
            int fd = keep(makeMemfd(c.name, size));
            for (const auto& end : c.from) add(end.instance, end.interface, fd);
            for (const auto& end : c.to) add(end.instance, end.interface, fd);
            break;
        }
        case ConnectorKind::RpcCall: {
            const auto& server = c.to.front();
            for (const auto& client : c.from) {
                int sv[2];
                if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
                    throwErrno("socketpair for connection " + c.name);
                UniqueFd a(sv[0]), b(sv[1]);
                add(client.instance, client.interface, keep(std::move(a)));
                add(server.instance, server.interface, keep(std::move(b)));
            }
            break;
        }
        }
    }
}

const ConnectionSet::Ends& ConnectionSet::endsOf(std::string_view instance) const {
    static const Ends kNone;
    auto it = ends_.find(instance);
    return it == ends_.end() ? kNone : it->second;
}

}  // namespace cxvm::system
