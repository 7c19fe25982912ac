#include "cli/AdlCommon.h"

#include <cstdio>
#include <filesystem>

namespace cxvm::cli {

std::optional<adl::System> loadAndReport(const SpecArgs& args, bool& hadWarnings) {
    namespace fs = std::filesystem;
    fs::path spec = args.spec;
    std::error_code ec;
    if (fs::is_directory(spec, ec)) spec = adl::findAppSpec(spec);
    adl::LoadOptions opts;
    for (const auto& d : args.includeDirs) opts.includeDirs.emplace_back(d);
    opts.defines = args.defines;
    auto result = adl::loadSpec(spec, opts);
    hadWarnings = false;
    for (const auto& d : result.diagnostics) {
        if (d.severity == adl::Diagnostic::Severity::Warning) hadWarnings = true;
        std::fputs(adl::formatDiagnostic(d).c_str(), stderr);
    }
    return std::move(result.system);
}

}  // namespace cxvm::cli
