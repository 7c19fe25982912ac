#pragma once
// Hypercall handlers keyed by token (docs: architecture.md "Hypercalls",
// crossvm-abi.md): token in EAX, arguments in EBX, ECX, EDX, ESI; the handler's result
// goes back in EAX. Tokens 1..3 belong to the cross-VM connectors; user handlers start
// at kFirstUserToken (the seed's poke example uses 4). An unknown token is logged once
// per token and the guest resumes with kUnknownTokenResult in EAX — a guest can never
// stop the VMM with a bad hypercall.
//
// Two kinds of user handler:
//  - registerUser: sees the arguments, returns EAX (cheap: no register file read);
//  - registerUserRegs: the reference VMM's `vmcall_handler` (crossvm-abi.md, "Reference
//    VMM handler API"): sees EAX..EBP and may change them; 0 resumes the guest after
//    the instruction, non-zero stops the VM (StopKind::HandlerFailed, exit status 1).
#include "engine/HypercallGate.h"
#include "engine/Vcpu.h"
#include "vmm/GuestStop.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace cxvm::vmm {

class HypercallTable {
public:
    using Handler = std::function<std::uint32_t(const engine::HypercallArgs&)>;
    // Reads and may change the registers (EAX..EBP; EAX holds the token on entry).
    // Returns 0 to resume the guest, non-zero to stop the VM.
    using RegsHandler = std::function<int(engine::Regs&)>;

    static constexpr std::uint32_t kFirstConnectorToken = 1;
    static constexpr std::uint32_t kLastConnectorToken = 3;
    static constexpr std::uint32_t kFirstUserToken = 4;
    // -KVM_ENOSYS (-1000), as KVM itself answers an unknown hypercall
    // (guest/include/cxvm/hypercall_abi.h).
    static constexpr std::uint32_t kUnknownTokenResult = engine::kHypercallEnosys;

    // A user handler: token >= kFirstUserToken. Throws cxvm::Error for a reserved or
    // already registered token.
    void registerUser(std::uint32_t token, std::string name, Handler h);
    // A register-level user handler, same token rules.
    void registerUserRegs(std::uint32_t token, std::string name, RegsHandler h);
    // The cross-VM connectors' handlers (tokens 1..3 only).
    void registerConnector(std::uint32_t token, std::string name, Handler h);
    // Forgets `token` (a CrossVm going away). No-op when not registered.
    void unregister(std::uint32_t token) { handlers_.erase(token); }

    // The VM loop's hypercall exit: runs the handler for args.token on `vcpu` and
    // completes the hypercall (EAX, and the registers a register handler changed).
    // Returns the stop when a register handler failed (the hypercall is then left
    // incomplete: EIP is the guest's, after the instruction).
    std::optional<GuestStop> complete(engine::Vcpu& vcpu, const engine::HypercallArgs& args);

    // Runs the handler for args.token and returns the guest's EAX (no vCPU: a register
    // handler sees EAX..ESI from args and zero EDI/EBP; its failure throws cxvm::Error).
    std::uint32_t dispatch(const engine::HypercallArgs& args);

    [[nodiscard]] bool has(std::uint32_t token) const { return handlers_.contains(token); }
    [[nodiscard]] std::uint64_t unknownCount() const { return unknownCount_; }

private:
    struct Entry {
        std::string name;
        Handler handler;          // set for EAX handlers...
        RegsHandler regsHandler;  // ...or this one
    };
    void add(std::uint32_t token, Entry e);
    void checkUserToken(std::uint32_t token, const std::string& name) const;
    std::uint32_t unknown(const engine::HypercallArgs& args);
    std::unordered_map<std::uint32_t, Entry> handlers_;
    std::unordered_set<std::uint32_t> loggedUnknown_;
    std::uint64_t unknownCount_ = 0;
};

}  // namespace cxvm::vmm
