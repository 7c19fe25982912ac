// cxvm check SPEC: parse, resolve and validate a system spec. Silent with status 0 when
// clean; diagnostics and status 1 when there is any error or warning. (Notes alone, such
// as "cxvm assigned the cross-VM dataport ids", are printed but do not fail the check.)
#include "cli/AdlCommon.h"
#include "cli/Command.h"

namespace cxvm::cli {
namespace {

CommandRegistration reg("check", [](CLI::App& app, int& exitCode) {
    auto* cmd = app.add_subcommand("check", "Validate a CAmkES system spec (errors with file:line:col)");
    auto args = std::make_shared<SpecArgs>();
    args->addTo(*cmd);
    cmd->callback([args, &exitCode] {
        bool warnings = false;
        auto sys = loadAndReport(*args, warnings);
        exitCode = (!sys || warnings) ? 1 : 0;
    });
});

}  // namespace
}  // namespace cxvm::cli
