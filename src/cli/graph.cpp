// cxvm graph SPEC -o FILE.svg|FILE.dot: the assembly as a picture (Graphviz `dot`).
#include "adl/Graph.h"
#include "cli/AdlCommon.h"
#include "cli/Command.h"
#include "util/Error.h"
#include "util/Subprocess.h"

#include <filesystem>
#include <fstream>

namespace cxvm::cli {
namespace {

CommandRegistration reg("graph", [](CLI::App& app, int& exitCode) {
    auto* cmd = app.add_subcommand("graph", "Draw a CAmkES system spec's assembly (SVG via Graphviz, or DOT)");
    auto args = std::make_shared<SpecArgs>();
    auto output = std::make_shared<std::string>();
    args->addTo(*cmd);
    cmd->add_option("-o,--output", *output, "Output file: .svg (needs Graphviz dot), .png, .pdf or .dot")->required();
    cmd->callback([args, output, &exitCode] {
        bool warnings = false;
        auto sys = loadAndReport(*args, warnings);
        if (!sys) {
            exitCode = 1;
            return;
        }
        std::string dot = adl::toDot(*sys);
        std::string ext = std::filesystem::path(*output).extension().string();
        std::string data;
        if (ext == ".dot" || ext == ".gv") {
            data = dot;
        } else if (ext == ".svg" || ext == ".png" || ext == ".pdf") {
            auto r = runProcess({"dot", "-T" + ext.substr(1)}, dot);
            if (r.exitStatus != 0) throw Error::format("Graphviz dot failed (status {}): {}", r.exitStatus, r.err);
            data = std::move(r.out);
        } else {
            throw Error::format("{}: unknown output format '{}' (use .svg, .png, .pdf or .dot)", *output, ext);
        }
        std::ofstream out(*output, std::ios::binary);
        if (!out.write(data.data(), static_cast<std::streamsize>(data.size())))
            throw Error::format("{}: cannot write", *output);
        exitCode = 0;
    });
});

}  // namespace
}  // namespace cxvm::cli
