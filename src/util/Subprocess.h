#pragma once
// Running a helper program (the host C preprocessor, Graphviz `dot`) to completion with
// its standard streams captured. No shell is involved: argv is passed to execvp as is.
#include <string>
#include <string_view>
#include <vector>

namespace cxvm {

struct ProcessResult {
    int exitStatus = -1;  // exit code, or 128 + signal number when killed by a signal
    std::string out;      // everything written to stdout
    std::string err;      // everything written to stderr
};

// Runs argv[0] (searched in PATH) with `input` on stdin and waits for it. Output beyond
// `maxOutput` bytes per stream is an Error (guards against runaway output).
// Throws cxvm::Error when the program cannot be started.
ProcessResult runProcess(const std::vector<std::string>& argv, std::string_view input = {},
                         std::size_t maxOutput = std::size_t{256} << 20);

}  // namespace cxvm
