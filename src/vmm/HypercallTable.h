#pragma once
// Hypercall handlers keyed by token (docs: architecture.md "Hypercalls",
// crossvm-abi.md): token in EAX, arguments in EBX, ECX, EDX, ESI; the handler's result
// goes back in EAX. Tokens 1..3 belong to the cross-VM connectors; user handlers start
// at kFirstUserToken (the seed's poke example uses 4). An unknown token is logged once
// per token and the guest resumes with kUnknownTokenResult in EAX — a guest can never
// stop the VMM with a bad hypercall.
#include "engine/HypercallGate.h"
#include "engine/Vcpu.h"

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace cxvm::vmm {

class HypercallTable {
public:
    using Handler = std::function<std::uint32_t(const engine::HypercallArgs&)>;

    static constexpr std::uint32_t kFirstConnectorToken = 1;
    static constexpr std::uint32_t kLastConnectorToken = 3;
    static constexpr std::uint32_t kFirstUserToken = 4;
    // -KVM_ENOSYS (-1000), as KVM itself answers an unknown hypercall
    // (guest/include/cxvm/hypercall_abi.h).
    static constexpr std::uint32_t kUnknownTokenResult = engine::kHypercallEnosys;

    // A user handler: token >= kFirstUserToken. Throws cxvm::Error for a reserved or
    // already registered token.
    void registerUser(std::uint32_t token, std::string name, Handler h);
    // The cross-VM connectors' handlers (tokens 1..3 only).
    void registerConnector(std::uint32_t token, std::string name, Handler h);

    // Runs the handler for args.token and returns the guest's EAX.
    std::uint32_t dispatch(const engine::HypercallArgs& args);

    [[nodiscard]] bool has(std::uint32_t token) const { return handlers_.contains(token); }
    [[nodiscard]] std::uint64_t unknownCount() const { return unknownCount_; }

private:
    struct Entry {
        std::string name;
        Handler handler;
    };
    void add(std::uint32_t token, std::string name, Handler h);
    std::unordered_map<std::uint32_t, Entry> handlers_;
    std::unordered_set<std::uint32_t> loggedUnknown_;
    std::uint64_t unknownCount_ = 0;
};

}  // namespace cxvm::vmm
