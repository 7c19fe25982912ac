#pragma once
// Running a whole CAmkES system: one process per component instance (issue 7).
#include "adl/Model.h"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace cxvm::system {

struct RunAppOptions {
    std::filesystem::path appDir;   // the app folder (sources, built components, files)
    // Where the app's components were built. When it does not hold them, an app inside
    // cxvm's source tree is looked for in this build tree (<build>/apps/<name>/).
    std::filesystem::path buildDir;
    // Where the components' output (prefixed "instance: ") and cxvm's reports go.
    int stdoutFd = STDOUT_FILENO;
    int stderrFd = STDERR_FILENO;
    // After SIGTERM, how long components get before SIGKILL when the system stops.
    std::chrono::milliseconds stopGrace{2000};

    // ---- VM instances (docs/crossvm.md "VM instances") ----
    // The terminal: the console VM's stdin (its stdout and stderr are stdoutFd and
    // stderrFd, unprefixed). Its state is saved at start and restored whenever the
    // console VM ends, however it ends.
    int stdinFd = STDIN_FILENO;
    // The VM whose console is the terminal; empty: the first VM instance.
    std::string console;
    // Every VM's console is written to <logDir>/<instance>.console.log; empty:
    // <app build dir>/logs.
    std::filesystem::path logDir;
    std::string engine = "auto";  // auto, interp, kvm
    bool noJit = false;
    bool deterministic = false;
    bool noUnpackKernel = false;  // each VM's bzImage decompresses itself (cxvm run --no-unpack-kernel)
    bool postCodes = false;       // each VM prints its port 0x80 writes (cxvm run --post-codes)
    std::uint64_t maxInstructions = 0;    // per VM; 0: unlimited
    std::uint64_t ramBytes = 0;           // every VM's RAM; 0: its guest_ram_mb
    std::optional<std::string> cmdline;   // replaces every VM's kernel_cmdline
    std::filesystem::path vmFirmware;     // boot every VM from this ROM instead (tests)
    std::filesystem::path vmExecutable;   // the VM instance for VM types without app code;
                                          // empty: cxvm-vm of this build tree
};

// Starts every instance, supervises them, and returns the exit status for cxvm: the
// control component's run() result (a VM's: its guest's exit status), 1 after a
// component crashed, 128+N after signal N (Ctrl-C: 130). Throws cxvm::Error before
// starting anything when the system cannot run (an unknown connector, a component not
// built, a VM's cross-VM ids or files wrong).
int runApp(const adl::System& system, const RunAppOptions& options);

// Whether `cxvm run` must run the system as processes (runApp): it has a native
// component, several VMs, or a VM type the app built an executable for (app code in
// its VMM). A single VM without app code may run inside cxvm itself.
bool runsAsProcesses(const adl::System& system, const RunAppOptions& options);

// The build folder of an app inside cxvm's source tree: <build>/<app path relative to
// the source tree>. Empty when `appDir` is outside `sourceDir`.
std::filesystem::path appBuildDir(const std::filesystem::path& appDir,
                                  const std::filesystem::path& sourceDir,
                                  const std::filesystem::path& binaryDir);

}  // namespace cxvm::system
