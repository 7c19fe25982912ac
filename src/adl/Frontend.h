#pragma once
// Entry points of the CAmkES ADL front end (cxvm check / dump / graph and every user of
// a spec). Implemented by the ADL layer.
#include "adl/Model.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cxvm::adl {

struct Diagnostic {
    enum class Severity : std::uint8_t { Error, Warning, Note };
    Severity severity = Severity::Error;
    SourceLoc loc;        // original file and line (line markers honoured)
    std::string message;
};

struct LoadOptions {
    std::vector<std::filesystem::path> includeDirs;  // in addition to cxvm's own
    std::vector<std::string> defines;                // "NAME" or "NAME=VALUE"
};

struct LoadResult {
    std::optional<System> system;  // set when there are no errors
    std::vector<Diagnostic> diagnostics;
    [[nodiscard]] bool ok() const { return system.has_value(); }
};

// Preprocesses, parses, resolves and checks a top-level spec.
LoadResult loadSpec(const std::filesystem::path& spec, const LoadOptions& options = {});

// An app folder's top-level spec: the one .camkes file in `dir` with an `assembly`.
// Throws cxvm::Error when there is none or more than one.
std::filesystem::path findAppSpec(const std::filesystem::path& dir);

// "file:line:col: error: message" followed by the source line and a caret line.
std::string formatDiagnostic(const Diagnostic& d);

}  // namespace cxvm::adl
