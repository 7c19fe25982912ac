// <vmm/vmm.h> on cxvm's VMM (docs/crossvm.md "VM instances").
#include "system/vm/VmmApi.h"

#include "engine/Vcpu.h"
#include "util/Error.h"
#include "vmm/Vm.h"

#include <vmm/vmm.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string_view>

extern "C" {
vmm_t vmm;
}

namespace cxvm::system {

namespace {

struct Registration {
    std::string func, place;  // "poke_handler", "poke_handler.c:12"
};

// The process's one VM and its registrations. Plain globals: the C API has no context
// but the `vmm` object, and there is one VM per process.
struct State {
    vmm::Vm* vm = nullptr;
    std::string instance;
    bool open = false;
    int errors = 0;
    std::map<int, Registration> tokens;
};
State gState;

std::string_view baseName(const char* file) {
    std::string_view f = file ? file : "?";
    auto slash = f.rfind('/');
    return slash == std::string_view::npos ? f : f.substr(slash + 1);
}

int refuse(const std::string& place, int token, const char* func, std::string_view why) {
    ++gState.errors;
    std::fflush(stdout);
    std::fprintf(stderr, "%s: hypercall token %d (%s): %.*s\n", place.c_str(), token,
                 func ? func : "?", static_cast<int>(why.size()), why.data());
    return -1;
}

// The handler as the hypercall table calls it: EAX..EBP in, EAX..EBP out.
std::function<int(engine::Regs&)> adapt(vmm::Vm& vm, vmcall_handler func) {
    return [&vm, func](engine::Regs& r) -> int {
        // The guest's console output up to the hypercall comes before the handler's.
        vm.console().flush();
        vmm_vcpu_t v{};
        std::uint64_t* regs[CXVM_USER_CONTEXT_COUNT] = {&r.rax, &r.rbx, &r.rcx, &r.rdx,
                                                        &r.rsi, &r.rdi, &r.rbp};
        for (int i = 0; i < CXVM_USER_CONTEXT_COUNT; ++i)
            v.guest_state.user_context[i] = static_cast<std::uint32_t>(*regs[i]);
        v.guest_state.eip = static_cast<std::uint32_t>(r.rip);
        v.vcpu_id = 0;
        v.vmm = &::vmm;
        const int rc = func(&v);
        // A 32-bit guest's registers: the handler's values, zero-extended.
        for (int i = 0; i < CXVM_USER_CONTEXT_COUNT; ++i) *regs[i] = v.guest_state.user_context[i];
        // Printed output reaches the terminal before the guest's next output.
        std::fflush(stdout);
        return rc;
    };
}

}  // namespace

HandlerWindow::HandlerWindow(vmm::Vm& vm, std::string instance) {
    if (gState.vm) throw Error("a VM's handler registration is already open");
    gState = State{};
    gState.vm = &vm;
    gState.instance = std::move(instance);
    gState.open = true;
    ::vmm.cxvm_private = &vm;
}

HandlerWindow::~HandlerWindow() {
    gState.vm = nullptr;
    gState.open = false;
    ::vmm.cxvm_private = nullptr;
}

void HandlerWindow::close() { gState.open = false; }

int HandlerWindow::errors() const { return gState.errors; }

}  // namespace cxvm::system

using cxvm::system::gState;

extern "C" int cxvm_reg_new_handler(vmm_t* vmm_ptr, vmcall_handler func, int token,
                                    const char* func_name, const char* file, int line) {
    const std::string place = fmt::format("{}:{}", cxvm::system::baseName(file), line);
    using cxvm::system::refuse;
    if (!gState.vm)
        return refuse(place, token, func_name,
                      "reg_new_handler outside a VM component's VMM (no VM in this process)");
    if (vmm_ptr != &::vmm)
        return refuse(place, token, func_name, "the first argument must be &vmm");
    if (!func) return refuse(place, token, func_name, "the handler is NULL");
    if (!gState.open)
        return refuse(place, token, func_name,
                      "handlers are registered from pre_init(), before the guest starts");
    if (token < static_cast<int>(cxvm::vmm::HypercallTable::kFirstUserToken))
        return refuse(place, token, func_name,
                      fmt::format("tokens {}..{} are cxvm's cross-VM connectors (dataports, "
                                  "events); user handlers start at {}",
                                  cxvm::vmm::HypercallTable::kFirstConnectorToken,
                                  cxvm::vmm::HypercallTable::kLastConnectorToken,
                                  cxvm::vmm::HypercallTable::kFirstUserToken));
    if (auto it = gState.tokens.find(token); it != gState.tokens.end())
        return refuse(place, token, func_name,
                      fmt::format("already registered by {} ({})", it->second.func,
                                  it->second.place));
    const std::string name = fmt::format("{} ({})", func_name ? func_name : "?", place);
    try {
        gState.vm->hypercalls().registerUserRegs(static_cast<std::uint32_t>(token), name,
                                                 cxvm::system::adapt(*gState.vm, func));
    } catch (const cxvm::Error& e) {
        return refuse(place, token, func_name, e.what());
    }
    gState.tokens[token] = {func_name ? func_name : "?", place};
    return 0;
}

extern "C" const char* get_instance_name(void) { return gState.instance.c_str(); }
