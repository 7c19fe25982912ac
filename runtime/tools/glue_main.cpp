// cxvm-glue: run at build time by DeclareCAmkESRootserver (cmake/CAmkES.cmake). Loads
// the app's spec and writes <out>/<Type>/camkes.h and camkes_glue.c for each --type.
#include "adl/Frontend.h"
#include "system/GlueGenerator.h"
#include "util/Error.h"

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"cxvm-glue: generate CAmkES glue for native components"};
    std::filesystem::path spec, out;
    std::vector<std::string> types;
    cxvm::adl::LoadOptions opts;
    app.add_option("--spec", spec, "Top-level .camkes spec")->required();
    app.add_option("--out", out, "Output folder (one subfolder per type)")->required();
    app.add_option("--type", types, "Component type to generate glue for")->required();
    app.add_option("-I", opts.includeDirs, "Include folder for the spec's preprocessor");
    app.add_option("-D", opts.defines, "Preprocessor definition NAME or NAME=VALUE");
    std::string kind;
    app.add_option("--kind", kind,
                   "What the build links the types as: native (the C runtime) or vm (cxvm's "
                   "VMM); a type the spec declares otherwise is an error")
        ->check(CLI::IsMember({"native", "vm"}));
    CLI11_PARSE(app, argc, argv);
    try {
        auto result = cxvm::adl::loadSpec(spec, opts);
        for (const auto& d : result.diagnostics)
            std::fprintf(stderr, "%s\n", cxvm::adl::formatDiagnostic(d).c_str());
        if (!result.ok()) return 1;
        for (const auto& t : types) {
            // CMake decides how to link a type before any spec is parsed (it scans the
            // app's .camkes files for VM_INIT_DEF); the spec has the last word.
            const cxvm::adl::ComponentType* type = result.system->findType(t);
            if (type && !kind.empty() && type->isVm != (kind == "vm"))
                throw cxvm::Error::format(
                    "{}:{}:{}: component type {} is {} in the spec, but the build links it as "
                    "a {} component; declare it with DeclareCAmkESComponent({} {}SOURCES ...) "
                    "in the app's CMakeLists.txt",
                    type->loc.file, type->loc.line, type->loc.col, t,
                    type->isVm ? "a VM (VM_INIT_DEF)" : "native", kind, t,
                    type->isVm ? "VM " : "NATIVE ");
            cxvm::system::writeGlue(cxvm::system::generateGlue(*result.system, t), out / t);
        }
    } catch (const cxvm::Error& e) {
        std::fprintf(stderr, "cxvm-glue: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
