// The cxvm command: a thin shell over the layers. Subcommands live in their own files.
#include "cli/Command.h"
#include "util/Error.h"
#include "util/Log.h"

#include <algorithm>
#include <cstdio>

namespace cxvm::cli {

std::vector<CommandEntry>& commandRegistry() {
    static std::vector<CommandEntry> entries;
    return entries;
}

}  // namespace cxvm::cli

int main(int argc, char** argv) {
    using namespace cxvm;
    CLI::App app{"cxvm: CAmkES-style component system and x86 virtual machine monitor"};
    app.set_version_flag("--version", std::string("cxvm ") + CXVM_VERSION);
    app.require_subcommand(1);
    int verbosity = 0;
    app.add_flag("-v,--verbose", verbosity, "More log output (-v info, -vv debug)");
    bool quiet = false;
    app.add_flag("-q,--quiet", quiet, "Only errors");
    app.parse_complete_callback([&] {
        log::setLevel(quiet           ? log::Level::Error
                      : verbosity >= 2 ? log::Level::Debug
                      : verbosity == 1 ? log::Level::Info
                                       : log::Level::Warn);
    });

    int exitCode = 0;
    auto& reg = cli::commandRegistry();
    std::sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.name < b.name; });
    for (auto& c : reg) c.setup(app, exitCode);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const Error& e) {
        std::fprintf(stderr, "cxvm: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cxvm: internal error: %s\n", e.what());
        return 70;
    }
    return exitCode;
}
