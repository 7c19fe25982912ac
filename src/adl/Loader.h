#pragma once
// The load pipeline behind loadSpec, with a text entry point for tests and the fuzzer:
// preprocess (optional) -> lex -> parse, following imports, -> resolve.
#include "adl/Frontend.h"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::adl {

// Files larger than this are refused (a spec is a few KiB).
inline constexpr std::size_t kMaxSpecBytes = std::size_t{4} << 20;
// Imports nest at most this deep.
inline constexpr int kMaxImportDepth = 32;

// cxvm's own include directory (<autoconf.h>, <configurations/vm.h>, <VM/vm.camkes>,
// <std>): $CXVM_INCLUDE_DIR, else the source tree's include/.
std::filesystem::path cxvmIncludeDir();

// Loads `text` as if it were the file `name`. With `preprocess` false the text and the
// files it imports are parsed as they are (no cpp): the fuzzer and unit tests use that.
LoadResult loadSpecText(std::string_view text, const std::string& name, const LoadOptions& options,
                        bool preprocess);

}  // namespace cxvm::adl
