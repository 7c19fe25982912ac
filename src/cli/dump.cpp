// cxvm dump SPEC [--json]: the resolved model (instances, interfaces, connections, final
// attribute values).
#include "adl/Dump.h"
#include "cli/AdlCommon.h"
#include "cli/Command.h"

#include <cstdio>

namespace cxvm::cli {
namespace {

CommandRegistration reg("dump", [](CLI::App& app, int& exitCode) {
    auto* cmd = app.add_subcommand("dump", "Print the resolved model of a CAmkES system spec");
    auto args = std::make_shared<SpecArgs>();
    auto json = std::make_shared<bool>(false);
    args->addTo(*cmd);
    cmd->add_flag("--json", *json, "JSON instead of text");
    cmd->callback([args, json, &exitCode] {
        bool warnings = false;
        auto sys = loadAndReport(*args, warnings);
        if (!sys) {
            exitCode = 1;
            return;
        }
        std::string out = *json ? adl::dumpJson(*sys) : adl::dumpText(*sys);
        std::fwrite(out.data(), 1, out.size(), stdout);
        exitCode = 0;
    });
});

}  // namespace
}  // namespace cxvm::cli
