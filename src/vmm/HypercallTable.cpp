#include "vmm/HypercallTable.h"

#include "util/Error.h"
#include "util/Log.h"

namespace cxvm::vmm {

void HypercallTable::add(std::uint32_t token, std::string name, Handler h) {
    if (!h) throw Error::format("hypercall {} ('{}'): empty handler", token, name);
    auto [it, inserted] = handlers_.try_emplace(token, Entry{name, std::move(h)});
    if (!inserted)
        throw Error::format("hypercall {} ('{}'): token already taken by '{}'", token, name,
                            it->second.name);
}

void HypercallTable::registerUser(std::uint32_t token, std::string name, Handler h) {
    if (token < kFirstUserToken)
        throw Error::format(
            "hypercall {} ('{}'): tokens {}..{} are reserved for the cross-VM connectors; "
            "user handlers start at {}",
            token, name, kFirstConnectorToken, kLastConnectorToken, kFirstUserToken);
    add(token, std::move(name), std::move(h));
}

void HypercallTable::registerConnector(std::uint32_t token, std::string name, Handler h) {
    if (token < kFirstConnectorToken || token > kLastConnectorToken)
        throw Error::format("hypercall {} ('{}'): connector tokens are {}..{}", token, name,
                            kFirstConnectorToken, kLastConnectorToken);
    add(token, std::move(name), std::move(h));
}

std::uint32_t HypercallTable::dispatch(const engine::HypercallArgs& args) {
    auto it = handlers_.find(args.token);
    if (it != handlers_.end()) return it->second.handler(args);
    ++unknownCount_;
    if (loggedUnknown_.insert(args.token).second)
        log::warn("hypercall: unknown token {} (ebx={:#x} ecx={:#x} edx={:#x} esi={:#x}); "
                  "guest resumes with EAX=-KVM_ENOSYS (logged once per token)",
                  args.token, args.arg0, args.arg1, args.arg2, args.arg3);
    return kUnknownTokenResult;
}

}  // namespace cxvm::vmm
