#pragma once
// Running a whole CAmkES system: one process per component instance (issue 7).
#include "adl/Model.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace cxvm::system {

struct RunAppOptions {
    std::filesystem::path appDir;   // the app folder (sources, built components, files)
    std::filesystem::path buildDir; // where the app's components were built
    // Where the components' output (prefixed "instance: ") and cxvm's reports go.
    int stdoutFd = STDOUT_FILENO;
    int stderrFd = STDERR_FILENO;
    // After SIGTERM, how long components get before SIGKILL when the system stops.
    std::chrono::milliseconds stopGrace{2000};
};

// Starts every instance, supervises them, and returns the exit status for cxvm: the
// control component's run() result, 1 after a component crashed, 128+N after signal N
// (Ctrl-C: 130). Throws cxvm::Error before starting anything when the system cannot
// run natively (a VM instance, an unknown connector, a component not built).
int runApp(const adl::System& system, const RunAppOptions& options);

// The build folder of an app inside cxvm's source tree: <build>/<app path relative to
// the source tree>. Empty when `appDir` is outside `sourceDir`.
std::filesystem::path appBuildDir(const std::filesystem::path& appDir,
                                  const std::filesystem::path& sourceDir,
                                  const std::filesystem::path& binaryDir);

}  // namespace cxvm::system
