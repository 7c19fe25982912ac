#include "system/RunApp.h"

#include "hw/vfio/VfioSession.h"
#include "system/ConnectionSet.h"
#include "system/Connector.h"
#include "system/CrossVmLayout.h"
#include "system/SandboxProgram.h"
#include "system/Supervisor.h"
#include "system/VmDisks.h"
#include "system/VmNics.h"
#include "system/VmPassthrough.h"
#include "system/VmInstanceConfig.h"
#include "util/Error.h"
#include "util/Log.h"
#include "util/UniqueFd.h"
#include "vmm/GuestFiles.h"
#include "vmm/MemorySize.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace cxvm::system {

namespace {

namespace fs = std::filesystem;

// As `cxvm run` boots a guest whose spec names no command line: the serial console,
// and reboot=k so that a reboot stops the VM (docs/vmm.md "Stopping").
constexpr const char* kDefaultCmdline = "console=ttyS0 reboot=k";

bool isVmInstance(const adl::System& system, const adl::Instance& inst) {
    const adl::ComponentType* t = system.findType(inst.type);
    return t && t->isVm;
}

bool executable(const fs::path& p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

// Where the app's component executables are: the folder the caller named if it has
// them, else the app's folder in the build tree this cxvm belongs to. A VM type's
// executable is optional (cxvm-vm stands in), so a VM-only app takes the first of the
// two that exists.
fs::path findBuildDir(const adl::System& system, const RunAppOptions& o) {
    auto hasAll = [&](const fs::path& dir) {
        if (dir.empty() || !fs::is_directory(dir)) return false;
        for (const auto& inst : system.instances) {
            const adl::ComponentType* t = system.findType(inst.type);
            if (t && !t->isVm && !t->hardware && !executable(dir / t->name)) return false;
        }
        return true;
    };
    if (hasAll(o.buildDir)) return o.buildDir;
    fs::path inTree;
    if (!o.appDir.empty()) inTree = appBuildDir(o.appDir, CXVM_SOURCE_DIR, CXVM_BINARY_DIR);
    if (hasAll(inTree)) return inTree;
    // Neither has them: name the folder a build of this tree would fill.
    return inTree.empty() ? o.buildDir : inTree;
}

std::string stringAttr(const adl::Instance& inst, const char* name) {
    auto it = inst.attributes.find(name);
    if (it == inst.attributes.end() || it->second.kind == adl::Value::Kind::None) return "";
    if (it->second.kind != adl::Value::Kind::String)
        throw Error::format("{}: error: {}.{} must be a string", where(it->second.loc), inst.name,
                            name);
    return it->second.s;
}

std::uint64_t guestRam(const adl::Instance& inst, const RunAppOptions& o) {
    if (o.ramBytes) return o.ramBytes;
    auto it = inst.attributes.find("guest_ram_mb");
    if (it == inst.attributes.end()) return 128ull << 20;
    if (it->second.kind != adl::Value::Kind::Int || it->second.i <= 0)
        throw Error::format("{}: error: {}.guest_ram_mb must be a positive integer",
                            where(it->second.loc), inst.name);
    try {
        return vmm::parseMemorySize(std::to_string(it->second.i) + "M");
    } catch (const Error& e) {
        throw Error::format("{}: error: {}.guest_ram_mb: {}", where(it->second.loc), inst.name,
                            e.what());
    }
}

std::vector<VmCrossVmEntry> entries(const std::vector<CrossVmEntry>& layout,
                                    const adl::Instance& vm, const ConnectionSet& conns) {
    std::vector<VmCrossVmEntry> out;
    const auto& ends = conns.endsOf(vm.name);
    for (const auto& e : layout) {
        auto it = ends.find(e.iface);
        const std::size_t n = it == ends.end() ? 0 : it->second.size();
        // The VMM writes one eventfd per emitted event (vmm::CrossVmConfig).
        if (n != 1)
            throw Error::format("{}: error: {}.{} is connected to {} consumers ({}); a VM's "
                                "emitted event can have one",
                                where(e.loc), vm.name, e.iface, n, e.connection);
        out.push_back({e.id, e.size, e.iface,
                       fmt::format("{}.{} ({}, {})", vm.name, e.iface, e.connection,
                                   where(e.loc))});
    }
    return out;
}

struct Plan {
    std::vector<ComponentLaunch> launches;
    fs::path logDir;
    std::string console;  // the VM instance on the terminal ("" without VMs)
};

ComponentLaunch vmLaunch(const adl::System& system, const adl::Instance& inst,
                         const adl::ComponentType& type, const ConnectionSet& conns,
                         const RunAppOptions& o, const fs::path& buildDir, const Plan& plan) {
    const CrossVmLayout layout = crossVmLayout(system, inst);
    VmInstanceConfig c;
    c.instance = inst.name;
    if (!o.vmFirmware.empty()) {
        c.firmware = o.vmFirmware;
    } else {
        // The guest's files as `cxvm run` finds them: the app folder, then the default
        // guest for the seed's names.
        const vmm::GuestFiles files(CXVM_SOURCE_DIR);
        const std::string kernel = stringAttr(inst, "kernel_image");
        const std::string initrd = stringAttr(inst, "initrd_image");
        try {
            c.kernel = kernel.empty() ? files.requireDefaultKernel()
                                      : files.resolveAppFile(o.appDir, kernel,
                                                             inst.name + ".kernel_image");
            if (!initrd.empty())
                c.initrd = files.resolveAppFile(o.appDir, initrd, inst.name + ".initrd_image");
        } catch (const Error& e) {
            throw Error::format("{}: error: {}", where(inst.loc), e.what());
        }
        c.kernel = fs::absolute(c.kernel);
        if (!c.initrd.empty()) c.initrd = fs::absolute(c.initrd);
    }
    c.disks = vmDisks(inst, o.appDir, vmm::GuestFiles(CXVM_SOURCE_DIR));
    c.nics = vmNics(inst);
    // Host PCI functions passed through (docs/passthrough.md "System runs"): the VM
    // instance process opens them (VFIO container, group, device, DMA map) before it
    // enters its sandbox, which then admits the VFIO calls on those descriptors only.
    // Checked against sysfs here first, so that a wrong entry stops the system before
    // any component starts, with the error at the entry.
    c.passthrough = vmPassthrough(inst);
    if (!c.passthrough.empty()) {
        if (o.deterministic)
            throw Error::format("{}: error: a passed-through device runs at host times; --deterministic runs "
                                "cannot have one",
                                c.passthrough.front().origin);
        const hw::vfio::VfioSession host;
        for (const auto& spec : c.passthrough) (void)host.preflight(spec);
    }
    c.cmdline = o.cmdline ? *o.cmdline : stringAttr(inst, "kernel_cmdline");
    if (c.cmdline.empty()) c.cmdline = kDefaultCmdline;
    c.ramBytes = guestRam(inst, o);
    c.engine = o.engine;
    c.noJit = o.noJit;
    c.deterministic = o.deterministic;
    c.noUnpackKernel = o.noUnpackKernel;
    c.postCodes = o.postCodes;
    c.maxInstructions = o.maxInstructions;
    c.logLevel = static_cast<int>(log::level());
    c.consoleLog = plan.logDir / (inst.name + ".console.log");
    c.consoleOnTerminal = inst.name == plan.console;
    c.dataports = entries(layout.dataports, inst, conns);
    c.emits = entries(layout.emits, inst, conns);
    c.consumes = entries(layout.consumes, inst, conns);

    ComponentLaunch l;
    l.instance = inst.name;
    l.type = type.name;
    l.control = true;  // VM_INIT_DEF: a VM's guest stopping ends the system
    l.vm = true;
    l.ownsTerminal = c.consoleOnTerminal;
    // The app's VM component (its VMM-side code) if it built one, else cxvm-vm.
    l.executable = buildDir / type.name;
    if (!executable(l.executable)) {
        l.executable = o.vmExecutable.empty() ? fs::path(CXVM_VM_EXECUTABLE) : o.vmExecutable;
        if (!executable(l.executable))
            throw Error::format("VM instance {} needs {}, which is not built: build the target "
                                "cxvm-vm (or the app)",
                                inst.name, l.executable.string());
    }
    l.args = c.args();
    l.ends = conns.endsOf(inst.name);
    return l;
}

Plan plan(const adl::System& system, const ConnectionSet& conns, const RunAppOptions& o,
          const fs::path& buildDir) {
    Plan p;
    std::vector<const adl::Instance*> vms;
    for (const auto& inst : system.instances)
        if (isVmInstance(system, inst)) vms.push_back(&inst);
    if (!vms.empty()) {
        p.logDir = o.logDir.empty() ? buildDir / "logs" : o.logDir;
        if (o.console.empty()) {
            p.console = vms.front()->name;
        } else {
            auto it = std::find_if(vms.begin(), vms.end(),
                                   [&](const adl::Instance* i) { return i->name == o.console; });
            if (it == vms.end()) {
                std::string names;
                for (const auto* v : vms) names += (names.empty() ? "" : ", ") + v->name;
                throw Error::format("--console {}: not a VM instance of this system (its VMs: {})",
                                    o.console, names);
            }
            p.console = o.console;
        }
    }
    for (const auto& inst : system.instances) {
        const adl::ComponentType* type = system.findType(inst.type);
        if (!type)
            throw Error::format("{}: error: instance {} has unknown type {}", where(inst.loc),
                                inst.name, inst.type);
        if (type->isVm) {
            p.launches.push_back(vmLaunch(system, inst, *type, conns, o, buildDir, p));
            continue;
        }
        if (type->hardware)
            throw Error::format("{}: error: instance {} is a hardware component, which has no "
                                "native process",
                                where(inst.loc), inst.name);
        fs::path exe = buildDir / type->name;
        if (!executable(exe))
            throw Error::format("component type {} (instance {}) is not built: no executable "
                                "{}; build the app first",
                                type->name, inst.name, exe.string());
        ComponentLaunch l;
        l.instance = inst.name;
        l.type = type->name;
        l.control = type->control;
        l.executable = exe;
        l.ends = conns.endsOf(inst.name);
        p.launches.push_back(std::move(l));
    }
    if (p.launches.empty()) throw Error("the system has no component instances to run");
    // Passive components (servers) first, so that they are up when the control
    // components start calling; the order does not matter for correctness, as calls
    // and signals wait in their connection objects.
    std::stable_partition(p.launches.begin(), p.launches.end(),
                          [](const ComponentLaunch& l) { return !l.control; });
    return p;
}

void say(int fd, const std::string& msg) {
    std::string line = "cxvm: " + msg + "\n";
    ssize_t r = ::write(fd, line.data(), line.size());
    (void)r;
}

}  // namespace

int runApp(const adl::System& system, const RunAppOptions& options) {
    ConnectionSet conns(system);
    const fs::path buildDir = findBuildDir(system, options);
    Plan p = plan(system, conns, options, buildDir);
    if (!p.logDir.empty()) {
        std::error_code ec;
        fs::create_directories(p.logDir, ec);
        if (ec)
            throw Error::format("cannot create the log folder {}: {}", p.logDir.string(),
                                ec.message());
        // Every VM's log exists (empty, or its output so far) from the start, however soon
        // the system stops: a VM stopped before its first byte still has a complete log,
        // and no log from an earlier run is left to be mistaken for this one's.
        for (const auto& l : p.launches) {
            if (!l.vm) continue;
            const fs::path log = p.logDir / (l.instance + ".console.log");
            UniqueFd fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
            if (!fd) throwErrno("creating the console log " + log.string());
        }
        say(options.stderrFd,
            fmt::format("{}'s console is this terminal (Ctrl-A x quits); every VM's console "
                        "is logged to {}/<instance>.console.log",
                        p.console, p.logDir.string()));
    }
    SandboxProgram sandbox;
    Supervisor sup(options.stdinFd, options.stdoutFd, options.stderrFd, options.stopGrace);
    for (const auto& l : p.launches) {
        try {
            sup.start(l, sandbox);
        } catch (const Error& e) {
            sup.stop("a component could not be started");
            sup.run();
            throw e.withContext("starting " + l.instance);
        }
    }
    return sup.run();
}

bool runsAsProcesses(const adl::System& system, const RunAppOptions& options) {
    std::size_t vms = 0;
    const adl::ComponentType* vmType = nullptr;
    for (const auto& inst : system.instances) {
        if (!isVmInstance(system, inst)) return true;
        ++vms;
        vmType = system.findType(inst.type);
    }
    if (vms != 1) return true;  // several VMs (or none: runApp says so)
    return executable(findBuildDir(system, options) / vmType->name);
}

fs::path appBuildDir(const fs::path& appDir, const fs::path& sourceDir,
                     const fs::path& binaryDir) {
    std::error_code ec;
    auto app = fs::weakly_canonical(appDir, ec);
    auto src = fs::weakly_canonical(sourceDir, ec);
    auto rel = app.lexically_relative(src);
    if (rel.empty() || *rel.begin() == "..") return {};
    return binaryDir / rel;
}

}  // namespace cxvm::system
