// libFuzzer target for the ADL front end: lexer, parser, resolver, and the dump/graph
// writers on whatever resolves. Inputs are parsed without the preprocessor (no
// subprocess per input); `import <std>` still reads cxvm's include directory.
// Contract under test: any input yields diagnostics or a model, never a crash, a hang,
// or unbounded recursion.
#include "adl/Dump.h"
#include "adl/Frontend.h"
#include "adl/Graph.h"
#include "adl/Loader.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > (std::size_t{1} << 16)) return 0;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = cxvm::adl::loadSpecText(text, "fuzz.camkes", {}, false);
    std::size_t total = 0;
    for (const auto& d : result.diagnostics) total += cxvm::adl::formatDiagnostic(d).size();
    if (result.system) {
        total += cxvm::adl::dumpText(*result.system).size();
        total += cxvm::adl::dumpJson(*result.system).size();
        total += cxvm::adl::toDot(*result.system).size();
    }
    // Errors and a model are exclusive.
    bool anyError = false;
    for (const auto& d : result.diagnostics) anyError |= d.severity == cxvm::adl::Diagnostic::Severity::Error;
    if (anyError == result.ok()) __builtin_trap();
    return total == 0 && result.ok() ? 0 : 0;
}
