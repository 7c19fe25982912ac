#include "vmm/HypercallTable.h"

#include "util/Error.h"
#include "util/Log.h"

namespace cxvm::vmm {
namespace {

engine::Regs regsOf(const engine::HypercallArgs& a) {
    engine::Regs r{};
    r.rax = a.token;
    r.rbx = a.arg0;
    r.rcx = a.arg1;
    r.rdx = a.arg2;
    r.rsi = a.arg3;
    return r;
}

// The registers a register handler may change (USER_CONTEXT_EAX..EBP).
bool sameUserContext(const engine::Regs& a, const engine::Regs& b) {
    return a.rax == b.rax && a.rbx == b.rbx && a.rcx == b.rcx && a.rdx == b.rdx &&
           a.rsi == b.rsi && a.rdi == b.rdi && a.rbp == b.rbp;
}

}  // namespace

void HypercallTable::add(std::uint32_t token, Entry e) {
    if (!e.handler && !e.regsHandler)
        throw Error::format("hypercall {} ('{}'): empty handler", token, e.name);
    auto [it, inserted] = handlers_.try_emplace(token, std::move(e));
    if (!inserted)
        throw Error::format("hypercall {} ('{}'): token already taken by '{}'", token, e.name,
                            it->second.name);
}

void HypercallTable::checkUserToken(std::uint32_t token, const std::string& name) const {
    if (token < kFirstUserToken)
        throw Error::format(
            "hypercall {} ('{}'): tokens {}..{} are reserved for the cross-VM connectors; "
            "user handlers start at {}",
            token, name, kFirstConnectorToken, kLastConnectorToken, kFirstUserToken);
}

void HypercallTable::registerUser(std::uint32_t token, std::string name, Handler h) {
    checkUserToken(token, name);
    add(token, Entry{std::move(name), std::move(h), {}});
}

void HypercallTable::registerUserRegs(std::uint32_t token, std::string name, RegsHandler h) {
    checkUserToken(token, name);
    add(token, Entry{std::move(name), {}, std::move(h)});
}

void HypercallTable::registerConnector(std::uint32_t token, std::string name, Handler h) {
    if (token < kFirstConnectorToken || token > kLastConnectorToken)
        throw Error::format("hypercall {} ('{}'): connector tokens are {}..{}", token, name,
                            kFirstConnectorToken, kLastConnectorToken);
    add(token, Entry{std::move(name), std::move(h), {}});
}

std::uint32_t HypercallTable::unknown(const engine::HypercallArgs& args) {
    ++unknownCount_;
    if (loggedUnknown_.insert(args.token).second)
        log::warn("hypercall: unknown token {} (ebx={:#x} ecx={:#x} edx={:#x} esi={:#x}); "
                  "guest resumes with EAX=-KVM_ENOSYS (logged once per token)",
                  args.token, args.arg0, args.arg1, args.arg2, args.arg3);
    return kUnknownTokenResult;
}

std::optional<GuestStop> HypercallTable::complete(engine::Vcpu& vcpu,
                                                  const engine::HypercallArgs& args) {
    auto it = handlers_.find(args.token);
    if (it == handlers_.end()) {
        vcpu.completeHypercall(unknown(args));
        return std::nullopt;
    }
    const Entry& e = it->second;
    if (e.handler) {
        vcpu.completeHypercall(e.handler(args));
        return std::nullopt;
    }
    const engine::Regs before = vcpu.regs();
    engine::Regs r = before;
    if (const int rc = e.regsHandler(r); rc != 0)
        return GuestStop{StopKind::HandlerFailed, 1,
                         fmt::format("hypercall {} handler '{}' returned {} (guest eip {:#x}, "
                                     "after the hypercall instruction)",
                                     args.token, e.name, rc, before.rip & 0xffffffff)};
    // Only EAX..EBP are the handler's; anything else it touched is put back.
    engine::Regs out = before;  // EAX stays: completeHypercall writes it
    out.rbx = r.rbx;
    out.rcx = r.rcx;
    out.rdx = r.rdx;
    out.rsi = r.rsi;
    out.rdi = r.rdi;
    out.rbp = r.rbp;
    if (!sameUserContext(out, before)) vcpu.setRegs(out);
    vcpu.completeHypercall(static_cast<std::uint32_t>(r.rax));
    return std::nullopt;
}

std::uint32_t HypercallTable::dispatch(const engine::HypercallArgs& args) {
    auto it = handlers_.find(args.token);
    if (it == handlers_.end()) return unknown(args);
    const Entry& e = it->second;
    if (e.handler) return e.handler(args);
    engine::Regs r = regsOf(args);
    if (const int rc = e.regsHandler(r); rc != 0)
        throw Error::format("hypercall {} handler '{}' returned {}", args.token, e.name, rc);
    return static_cast<std::uint32_t>(r.rax);
}

}  // namespace cxvm::vmm
