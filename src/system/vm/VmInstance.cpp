#include "system/vm/VmInstance.h"

#include "system/VmInstanceConfig.h"
#include "system/vm/VmmApi.h"
#include "util/Error.h"
#include "util/Log.h"
#include "vmm/GuestBoot.h"
#include "vmm/PtyConsole.h"
#include "vmm/Vm.h"
#include "vmm/crossvm/CrossVm.h"

extern "C" {
#include <camkes/runtime.h>
}
#include <seccomp.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <unistd.h>
#include <vector>

// The app's optional CAmkES hooks (its handler registrations live in pre_init). Weak:
// cxvm-vm itself has no app code.
extern "C" void pre_init(void) __attribute__((weak));
extern "C" void post_init(void) __attribute__((weak));

namespace cxvm::system {

namespace {

void writeAll(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t r = ::write(fd, p, n);
        if (r <= 0) return;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

void writeStr(int fd, const char* s) { writeAll(fd, s, std::strlen(s)); }

// A refused system call: name it (async-signal-safe: write(2) only), then die of the
// SIGSYS as the sandbox intends. SA_RESETHAND already restored the default action:
// the sandbox refuses rt_sigaction(SIGSYS), so that app code cannot hide a violation.
void onSeccompTrap(int sig, siginfo_t* info, void*) {
#ifdef __GLIBC__
    if (stdout->_IO_write_ptr > stdout->_IO_write_base)
        writeAll(STDOUT_FILENO, stdout->_IO_write_base,
                 static_cast<std::size_t>(stdout->_IO_write_ptr - stdout->_IO_write_base));
#endif
    if (info->si_code == 1 /* SYS_SECCOMP */) {
        writeStr(STDERR_FILENO, "cxvm-vm: system call ");
        const char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, info->si_syscall);
        writeStr(STDERR_FILENO, name ? name : "?");
        char num[16];
        int n = std::snprintf(num, sizeof num, " (%d)", info->si_syscall);
        if (n > 0) writeAll(STDERR_FILENO, num, static_cast<std::size_t>(n));
        writeStr(STDERR_FILENO, " is not allowed in a VM instance's sandbox\n");
    }
    std::raise(sig);
}

// The VM instance's seccomp allowlist (runtime/src/sandbox.c cxvm_sandbox_vm_filter),
// entered once the guest is loaded and every file and device is open, before any app
// code runs.
// A VM with passed-through functions also gets the VFIO ioctls on their descriptors
// (CXVM_SANDBOX_VM_PASSTHROUGH; docs/passthrough.md "System runs").
void enterSandbox(bool kvm, bool network, const hw::vfio::VfioFds& vfio) {
    if (std::getenv("CXVM_NO_SANDBOX")) return;  // debugging a VM instance by hand
    struct sigaction sa {};
    sa.sa_sigaction = onSeccompTrap;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGSYS, &sa, nullptr) != 0) throwErrno("sigaction(SIGSYS)");
    const bool passthrough = vfio.container >= 0;
    const cxvm_sandbox_vfio fds{vfio.devices.data(), static_cast<unsigned>(vfio.devices.size()), vfio.container};
    void* ctx = cxvm_sandbox_vm_filter_vfio((kvm ? CXVM_SANDBOX_VM_ANY_IOCTL : 0) | (network ? CXVM_SANDBOX_VM_NET : 0) |
                                                (passthrough ? CXVM_SANDBOX_VM_PASSTHROUGH : 0),
                                            passthrough ? &fds : nullptr);
    if (!ctx) throw Error("cannot build the VM instance's seccomp allowlist");
    const int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) throw Error::format("cannot load the seccomp allowlist ({})", rc);
    if (passthrough)
        log::info("sandbox: seccomp allowlist loaded with the VFIO ioctls on {} device fd(s) and container fd {}",
                  vfio.devices.size(), vfio.container);
}

// The descriptor CXVM_IFACES names for a cross-VM interface: exactly one.
int ifaceFd(const VmCrossVmEntry& e) {
    const int* fds = nullptr;
    const int n = cxvm_iface_fds(e.iface.c_str(), &fds);
    if (n == 0)
        throw Error::format("{}: no descriptor in CXVM_IFACES (start VM instances with `cxvm "
                            "run APP`)",
                            e.label);
    if (n != 1)
        throw Error::format("{}: {} descriptors; a VM's cross-VM interface has one connection "
                            "object",
                            e.label, n);
    return fds[0];
}

vmm::CrossVmConfig crossVmConfig(const VmInstanceConfig& c) {
    vmm::CrossVmConfig x;
    for (const auto& e : c.dataports) x.dataports.push_back({e.id, e.label, e.size, ifaceFd(e)});
    for (const auto& e : c.emits) x.emits.push_back({e.id, e.label, ifaceFd(e)});
    for (const auto& e : c.consumes) x.consumes.push_back({e.id, e.label, ifaceFd(e)});
    return x;
}

int runInstance(const VmInstanceConfig& c) {
    vmm::VmConfig vc;
    vc.ramBytes = c.ramBytes;
    vc.engine = *engine::parseEngineChoice(c.engine);  // checked by parse()
    vc.deterministic = c.deterministic;
    vc.maxInstructions = c.maxInstructions;
    vc.noJit = c.noJit;
    vc.postCodes = c.postCodes;
    vc.disks = c.disks;  // opened and locked here, before the sandbox
    vc.nics = c.nics;    // tap devices attached, slirp's hostfwd listeners bound here too
    vc.passthrough = c.passthrough;  // VFIO opened and guest RAM DMA-mapped here too
    // The console VM reads and writes the terminal (runApp passed it as stdin/stdout);
    // every VM's console also goes to its log, the others' only there.
    // The others get a pseudo-terminal a user (or a script) attaches to, found at
    // <log dir>/<instance>.pty.
    std::optional<vmm::PtyConsole> pty;
    if (!c.consoleOnTerminal) {
        pty.emplace();
        const auto link = c.consoleLog.parent_path() / (c.instance + ".pty");
        pty->linkAs(link);
        std::fprintf(stderr, "console on %s (e.g. `screen %s`; also %s), log %s\n",
                     pty->path().c_str(), pty->path().c_str(), link.c_str(),
                     c.consoleLog.c_str());
    }
    vc.console.inFd = c.consoleOnTerminal ? STDIN_FILENO : pty->masterFd();
    vc.console.outFd = c.consoleOnTerminal ? STDOUT_FILENO : pty->masterFd();
    vc.console.serialLogPath = c.consoleLog.string();
    vc.console.rawTerminal = c.consoleOnTerminal;  // a pty's slave side is raw already
    vmm::Vm vm(vc);

    vmm::GuestBootSpec boot;
    boot.unpackKernel = !c.noUnpackKernel;
    if (!c.firmware.empty()) {
        boot.firmware = c.firmware;
    } else {
        boot.kernel = c.kernel;
        boot.initrd = c.initrd;
        // The guest's S90camkes_init picks this VM's device nodes by instance name.
        boot.cmdline = c.cmdline + " cxvm.instance=" + c.instance;
        // Consumed events arrive on IRQ 12, which Linux otherwise gives the PS/2 mouse.
        if (!c.consumes.empty()) boot.cmdline += " i8042.noaux=1";
    }
    vmm::bootGuest(vm, boot);

    // Always attached: a VM without connections answers the guest modules' INIT too.
    vmm::CrossVm crossVm(vm, crossVmConfig(c));

    HandlerWindow handlers(vm, c.instance);
    enterSandbox(vm.engineKind() == engine::EngineKind::Kvm, !c.nics.empty(), vm.passthroughFds());
    if (pre_init) pre_init();
    handlers.close();
    if (int n = handlers.errors(); n > 0) {
        std::fprintf(stderr,
                     "cxvm-vm: %s: %d hypercall handler registration error%s: the guest is not "
                     "started\n",
                     c.instance.c_str(), n, n == 1 ? "" : "s");
        return 78;  // EX_CONFIG: the app's VMM code is wrong, not the guest
    }
    if (post_init) post_init();

    log::info("{}: {} MiB RAM, engine {}{}", c.instance, c.ramBytes >> 20,
              engine::engineName(vm.engineKind()), c.deterministic ? ", deterministic" : "");
    const vmm::GuestStop stop = vm.run();
    std::fflush(stdout);
    if (stop.exitStatus != 0 && stop.kind != vmm::StopKind::Signal)
        std::fprintf(stderr, "cxvm-vm: %s: guest stopped: %s (exit status %d)\n",
                     c.instance.c_str(), stop.detail.c_str(), stop.exitStatus);
    return stop.exitStatus;
}

}  // namespace

}  // namespace cxvm::system

extern "C" int cxvm_vm_instance_main(int argc, char** argv) {
    using namespace cxvm;
    // Handler output (printf) reaches the terminal or the supervisor line by line.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::vector<std::string_view> args(argv + 1, argv + argc);
    system::VmInstanceConfig config;
    try {
        config = system::VmInstanceConfig::parse(args);
    } catch (const Error& e) {
        std::fprintf(stderr,
                     "cxvm-vm: error: %s\n(a VM instance of a cxvm system: start it with `cxvm "
                     "run APP`)\n",
                     e.what());
        return 2;
    }
    log::setLevel(static_cast<log::Level>(config.logLevel));
    try {
        return system::runInstance(config);
    } catch (const Error& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "cxvm-vm: %s: error: %s\n", config.instance.c_str(), e.what());
        return 1;
    }
}
