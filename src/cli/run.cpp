// cxvm run: boot a Linux guest (explicit kernel/initrd, the default guest, or a VM-only
// app's spec) on the chosen engine with the serial console on this terminal.
// Systems with native components, several VMs or a VM with app code (a VM component the
// app built) go to the system runner (one process per instance, system::runApp).
#include "cli/Command.h"
#include "util/Error.h"
#include "util/Log.h"
#include "vmm/DiskFlag.h"
#include "vmm/GuestBoot.h"
#include "vmm/GuestFiles.h"
#include "vmm/MemorySize.h"
#include "vmm/NetFlag.h"
#include "vmm/Vm.h"
#include "vmm/crossvm/CrossVm.h"

#include "adl/Frontend.h"
#include "system/RunApp.h"
#include "system/VmDisks.h"
#include "system/VmNics.h"
#include "system/VmPassthrough.h"

#include <filesystem>
#include <optional>

namespace cxvm::cli {
namespace {
namespace fs = std::filesystem;

// The serial console is the guest's console; reboot=k makes a reboot (and the kernel's
// own emergency restart) use the i8042 reset line, which cxvm treats as "guest asked to
// stop" (docs/vmm.md "Stopping").
constexpr const char* kDefaultCmdline = "console=ttyS0 reboot=k";

struct RunOptions {
    std::string app;
    std::string kernel, initrd, append, mem = "128M", engine = "auto", serialLog, firmware;
    std::string trace, profile;
    std::string console, logDir;  // systems of processes: the terminal's VM, console logs
    bool traceGiven = false, tracePost = false, deterministic = false;
    bool appendGiven = false, memGiven = false, initrdGiven = false;
    bool noUnpackKernel = false, noJit = false;
    bool postCodes = false;
    std::uint64_t maxInstructions = 0;
    std::vector<std::string> disks;  // --disk FILE[,ro], repeatable
    std::vector<std::string> nets;   // --net user|tap,..., repeatable
};

engine::EngineChoice parseEngine(const std::string& s) {
    if (auto c = engine::parseEngineChoice(s)) return *c;
    throw Error::format("--engine {}: expected auto, interp or kvm", s);
}

// `specDisks`: the app's `disks` attribute, attached before the --disk flags (vda first);
// `specNics` likewise before the --net flags (eth0 first).
int bootAndRun(const RunOptions& o, vmm::GuestBootSpec boot, std::uint64_t ramBytes,
               std::vector<hw::virtio::DiskOptions> specDisks = {}, std::vector<net::NicOptions> specNics = {},
               std::vector<hw::vfio::PassthroughSpec> specPassthrough = {}) {
    boot.unpackKernel = !o.noUnpackKernel;
    vmm::VmConfig cfg;
    cfg.ramBytes = ramBytes;
    cfg.engine = parseEngine(o.engine);
    cfg.deterministic = o.deterministic;
    cfg.maxInstructions = o.maxInstructions;
    cfg.console.serialLogPath = o.serialLog;
    if (o.traceGiven) cfg.trace = vmm::parseTraceSpec(o.trace);
    cfg.tracePost = o.tracePost;
    cfg.profilePath = o.profile;
    cfg.noJit = o.noJit;
    cfg.postCodes = o.postCodes;
    cfg.disks = std::move(specDisks);
    for (const std::string& d : o.disks) cfg.disks.push_back(vmm::parseDiskFlag(d));
    cfg.nics = std::move(specNics);
    for (const std::string& n : o.nets) cfg.nics.push_back(vmm::parseNetFlag(n));
    cfg.passthrough = std::move(specPassthrough);
    vmm::Vm vm(cfg);
    vmm::bootGuest(vm, boot);
    // A guest without cross-VM connections still gets their hypercalls answered: the
    // default rootfs loads consumes_event.ko, whose INIT then succeeds with no events
    // to deliver instead of being an unknown token.
    vmm::CrossVm crossVm(vm, vmm::CrossVmConfig{});
    log::info("run: {} MiB RAM, engine {}{}", ramBytes >> 20, engine::engineName(vm.engineKind()),
              o.deterministic ? ", deterministic" : "");
    const vmm::GuestStop stop = vm.run();
    if (stop.exitStatus != 0 && stop.kind != vmm::StopKind::Signal)
        std::fprintf(stderr, "cxvm: guest stopped: %s (exit status %d)\n", stop.detail.c_str(),
                     stop.exitStatus);
    return stop.exitStatus;
}

std::string stringAttr(const adl::Instance& inst, const char* name) {
    auto it = inst.attributes.find(name);
    if (it == inst.attributes.end()) return "";
    if (it->second.kind != adl::Value::Kind::String)
        throw Error::format("{}:{}:{}: {}.{} must be a string", it->second.loc.file,
                            it->second.loc.line, it->second.loc.col, inst.name, name);
    return it->second.s;
}

int runApp(const RunOptions& o, const vmm::GuestFiles& files) {
    const fs::path arg(o.app);
    fs::path spec;
    if (fs::is_directory(arg))
        spec = adl::findAppSpec(arg);
    else if (arg.extension() == ".camkes" && fs::is_regular_file(arg))
        spec = arg;
    else
        throw Error::format("{}: not an app folder or a .camkes file", o.app);
    const fs::path appDir = spec.parent_path().empty() ? fs::path(".") : spec.parent_path();
    adl::LoadResult r = adl::loadSpec(spec);
    for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", adl::formatDiagnostic(d).c_str());
    if (!r.ok()) return 1;
    const adl::System& sys = *r.system;

    std::vector<const adl::Instance*> vms;
    for (const auto& inst : sys.instances) {
        const adl::ComponentType* t = sys.findType(inst.type);
        if (t && t->isVm) vms.push_back(&inst);
    }
    system::RunAppOptions ro;
    ro.appDir = appDir;
    ro.buildDir = appDir / "build";
    ro.engine = o.engine;
    ro.noJit = o.noJit;
    ro.deterministic = o.deterministic;
    ro.noUnpackKernel = o.noUnpackKernel;
    ro.postCodes = o.postCodes;
    ro.maxInstructions = o.maxInstructions;
    if (o.memGiven) ro.ramBytes = vmm::parseMemorySize(o.mem);
    if (o.appendGiven) ro.cmdline = o.append;
    ro.console = o.console;
    ro.logDir = o.logDir;
    // Native components, several VMs or a VM with app code: one process per instance.
    if (system::runsAsProcesses(sys, ro)) {
        // Which VM a flag's disk would belong to is ambiguous there; the spec says it.
        if (!o.disks.empty())
            throw Error::format("--disk {}: {} runs as a system of processes; name the disk in "
                                "its VM's `disks` attribute instead",
                                o.disks.front(), o.app);
        if (!o.nets.empty())
            throw Error::format("--net {}: {} runs as a system of processes; name the interface in "
                                "its VM's `nics` attribute instead",
                                o.nets.front(), o.app);
        // Per-VM outputs with one file name: refused rather than silently dropped.
        if (!o.serialLog.empty())
            throw Error::format("--serial-log {}: {} runs as a system of processes; every VM's "
                                "console is logged as <log dir>/<instance>.console.log (--log-dir)",
                                o.serialLog, o.app);
        if (o.traceGiven || o.tracePost || !o.profile.empty())
            throw Error::format("{}: {} runs as a system of processes; tracing and profiling work "
                                "in single-VM runs (`cxvm run --kernel ...` or an app with one VM "
                                "and no native components)",
                                o.traceGiven ? "--trace" : (o.tracePost ? "--trace-post" : "--profile"),
                                o.app);
        return system::runApp(sys, ro);
    }
    const adl::Instance& vm = *vms.front();
    if (!o.console.empty() && o.console != vm.name)
        throw Error::format("--console {}: not a VM instance of this system (its VM: {})",
                            o.console, vm.name);
    vmm::GuestBootSpec boot;
    const std::string kernelName = stringAttr(vm, "kernel_image");
    const std::string initrdName = stringAttr(vm, "initrd_image");
    boot.kernel = kernelName.empty() ? files.requireDefaultKernel()
                                     : files.resolveAppFile(appDir, kernelName, vm.name + ".kernel_image");
    if (!initrdName.empty()) boot.initrd = files.resolveAppFile(appDir, initrdName, vm.name + ".initrd_image");
    boot.cmdline = o.appendGiven ? o.append : stringAttr(vm, "kernel_cmdline");
    if (boot.cmdline.empty()) boot.cmdline = kDefaultCmdline;
    std::uint64_t ram = vmm::parseMemorySize(o.mem);
    if (!o.memGiven) {
        auto it = vm.attributes.find("guest_ram_mb");
        if (it != vm.attributes.end()) {
            if (it->second.kind != adl::Value::Kind::Int || it->second.i <= 0)
                throw Error::format("{}:{}:{}: {}.guest_ram_mb must be a positive integer",
                                    it->second.loc.file, it->second.loc.line, it->second.loc.col,
                                    vm.name);
            ram = vmm::parseMemorySize(std::to_string(it->second.i) + "M");
        }
    }
    std::vector<hw::virtio::DiskOptions> disks = system::vmDisks(vm, appDir, files);
    std::vector<net::NicOptions> nics = system::vmNics(vm);
    std::vector<hw::vfio::PassthroughSpec> passthrough = system::vmPassthrough(vm);
    log::info("run: {} from {}: instance {}", o.app, spec.string(), vm.name);
    if (!o.logDir.empty() && o.serialLog.empty()) {
        // As in a system run: the console is also logged as <log dir>/<instance>.console.log.
        RunOptions logged = o;
        fs::create_directories(o.logDir);
        logged.serialLog = (fs::path(o.logDir) / (vm.name + ".console.log")).string();
        return bootAndRun(logged, boot, ram, std::move(disks), std::move(nics), std::move(passthrough));
    }
    return bootAndRun(o, boot, ram, std::move(disks), std::move(nics), std::move(passthrough));
}

int run(const RunOptions& o) {
    const std::uint64_t ram = vmm::parseMemorySize(o.mem);  // bad flags before missing files
    const vmm::GuestFiles files(CXVM_SOURCE_DIR);
    if (!o.app.empty()) {
        if (!o.kernel.empty() || !o.firmware.empty() || o.initrdGiven)
            throw Error("an APP and --kernel/--initrd/--firmware exclude each other: the app's "
                        "spec names its guest (kernel_image, initrd_image)");
        return runApp(o, files);
    }
    if (!o.console.empty() || !o.logDir.empty())
        throw Error::format("{}: names an APP's VM instances and logs; this run has no APP "
                            "(use --serial-log FILE for the console)",
                            o.console.empty() ? "--log-dir" : "--console");
    vmm::GuestBootSpec boot;
    boot.cmdline = o.appendGiven ? o.append : kDefaultCmdline;
    if (!o.firmware.empty()) {
        boot.firmware = o.firmware;
    } else if (!o.kernel.empty()) {
        boot.kernel = o.kernel;
        boot.initrd = o.initrd;
    } else {
        // No arguments: the default guest (./setup builds it).
        boot.kernel = files.requireDefaultKernel();
        boot.initrd = o.initrdGiven ? fs::path(o.initrd) : files.requireDefaultRootfs();
    }
    return bootAndRun(o, boot, ram);
}

const CommandRegistration kRun{"run", [](CLI::App& app, int& exitCode) {
    auto o = std::make_shared<RunOptions>();
    CLI::App* c = app.add_subcommand(
        "run", "Boot a guest: the default Linux guest, --kernel/--initrd, or an APP's VM");
    c->add_option("app", o->app, "App folder or .camkes spec (its VM is booted)");
    c->add_option("--kernel", o->kernel, "bzImage to boot (Linux boot protocol 2.06+)")
        ->check(CLI::ExistingFile);
    auto* initrd = c->add_option("--initrd", o->initrd, "initrd / initramfs (cpio) for the kernel")
                       ->check(CLI::ExistingFile);
    auto* append = c->add_option("--append", o->append,
                                 std::string("Kernel command line (default: \"") +
                                     kDefaultCmdline + "\")");
    auto* mem = c->add_option("--mem", o->mem, "Guest RAM: 128M, 1G, ... (default 128M)");
    c->add_option("--engine", o->engine, "Execution engine: auto, interp or kvm")
        ->check(CLI::IsMember({"auto", "interp", "kvm"}));
    c->add_option("--serial-log", o->serialLog, "Also write the guest's console output to FILE");
    // One value per occurrence, any number of occurrences (CLI11: expected(1) would cap
    // the total at one).
    c->add_option("--disk", o->disks, "Virtio block disk backed by FILE (FILE,ro: read-only); repeatable")
        ->allow_extra_args(false)
        ->type_name("FILE[,ro]");
    c->add_option("--net", o->nets,
                  "Virtio network interface: user (slirp: DHCP 10.0.2.15, gateway/host 10.0.2.2, DNS "
                  "10.0.2.3) with hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (repeatable) "
                  "and mac=XX:XX:XX:XX:XX:XX, or tap,ifname=NAME (an existing tap device); repeatable")
        ->allow_extra_args(false)
        ->type_name("user[,hostfwd=..][,mac=..]|tap,ifname=NAME");
    c->add_flag("--deterministic", o->deterministic,
                "Guest time from retired instructions: identical runs, identical output");
    c->add_flag("--no-unpack-kernel", o->noUnpackKernel,
                "Load the bzImage as is and let its own decompressor run in the guest (default on "
                "interp: gzip/xz kernels are decompressed on the host and entered directly)");
    c->add_flag("--no-jit", o->noJit,
                "Interp engine: interpret every instruction instead of compiling hot blocks to "
                "host code (slower; for debugging and comparison)");
    c->add_option("--firmware", o->firmware,
                  "Firmware ROM run from the reset vector (no kernel): it ends at 4 GiB and its "
                  "top 128 KiB are also at 0xE0000-0xFFFFF (read-only)")
        ->check(CLI::ExistingFile);
    c->add_flag("--post-codes", o->postCodes,
                "Print each POST code the guest writes to port 0x80 (firmware progress) to stderr "
                "as it is written; the last one is logged at the end of the run (-v)");
    // A flag with an optional "=SPEC" so that `--trace APP` does not take APP as SPEC.
    auto* trace = c->add_flag("--trace{all}", o->trace,
                              "Trace instructions (interp): --trace, --trace=COUNT, "
                              "--trace=FROM-TO[,COUNT] (linear EIP range)");
    c->add_option("--profile", o->profile,
                  "Write a guest EIP histogram to FILE when the guest stops (interp; "
                  "scripts/guest-profile names the kernel functions)");
    c->add_flag("--trace-post",
                o->tracePost, "Keep the last 200 traced instructions and print them when the guest stops");
    c->add_option("--console", o->console,
                  "APP with several VMs: the VM instance whose console is this terminal "
                  "(default: the first); the others' consoles go to their logs only");
    c->add_option("--log-dir", o->logDir,
                  "APP: write every VM's console to DIR/<instance>.console.log (default: "
                  "<app build dir>/logs)");
    c->add_option("--max-instructions", o->maxInstructions,
                  "Stop after this many guest instructions (tests, benchmarks)")
        ->group("");
    c->callback([o, &exitCode, initrd, append, mem, trace] {
        o->initrdGiven = initrd->count() > 0;
        o->appendGiven = append->count() > 0;
        o->memGiven = mem->count() > 0;
        o->traceGiven = trace->count() > 0;
        exitCode = run(*o);
    });
}};

}  // namespace
}  // namespace cxvm::cli
