#pragma once
// Parses JSON with Python's json module (an independent parser) and flattens it to
// "path=value" pairs: {"a":{"b":[1,"x"]}} -> a.b#=2, a.b.0=1, a.b.1="x". Scalars keep
// their JSON spelling (strings quoted, null, true/false).
#include "util/Subprocess.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

namespace cxvm::host::pci::test {

inline constexpr const char* kFlattenPy = R"(import json, sys
def walk(path, v):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(path + [k], x)
    elif isinstance(v, list):
        print('.'.join(path) + '#=' + str(len(v)))
        for i, x in enumerate(v):
            walk(path + [str(i)], x)
    else:
        print('.'.join(path) + '=' + json.dumps(v))
walk([], json.loads(sys.stdin.read()))
)";

// Empty map (and a test failure) when the text is not valid JSON.
inline std::map<std::string, std::string> flattenJson(const std::string& json) {
    const auto r = runProcess({"python3", "-c", kFlattenPy}, json);
    EXPECT_EQ(r.exitStatus, 0) << "not valid JSON: " << r.err << "\n" << json;
    std::map<std::string, std::string> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
        const auto eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

inline std::string q(const std::string& s) { return "\"" + s + "\""; }

}  // namespace cxvm::host::pci::test
