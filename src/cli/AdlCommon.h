#pragma once
// What check, dump and graph share: the SPEC argument (a .camkes file or an app folder),
// -I/-D options, loading, and printing diagnostics.
#include "adl/Frontend.h"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace cxvm::cli {

struct SpecArgs {
    std::string spec;
    std::vector<std::string> includeDirs;
    std::vector<std::string> defines;

    void addTo(CLI::App& cmd) {
        cmd.add_option("spec", spec, "Top-level .camkes file, or an app folder")->required();
        cmd.add_option("-I,--include", includeDirs, "Extra include/import directory");
        cmd.add_option("-D,--define", defines, "Preprocessor define NAME or NAME=VALUE");
    }
};

// Loads the spec and prints its diagnostics to stderr. Returns the system, or nullopt
// (after printing) when there were errors.
std::optional<adl::System> loadAndReport(const SpecArgs& args, bool& hadWarnings);

}  // namespace cxvm::cli
