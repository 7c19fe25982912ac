#pragma once
// Running a whole CAmkES system: one process per component instance (issue 7).
#include "adl/Model.h"

#include <filesystem>

namespace cxvm::system {

struct RunAppOptions {
    std::filesystem::path appDir;   // the app folder (sources, built components, files)
    std::filesystem::path buildDir; // where the app's components were built
};

// Starts every instance, supervises them, and returns the exit status for cxvm.
int runApp(const adl::System& system, const RunAppOptions& options);

}  // namespace cxvm::system
