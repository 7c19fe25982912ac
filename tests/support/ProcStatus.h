#pragma once
// /proc/<pid>/status as name -> number (the kB fields: VmRSS, RssShmem, VmHWM, ...), for
// the benchmarks' memory figures.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/types.h>

namespace cxvm::testing {

inline std::map<std::string, long> procStatus(pid_t pid) {
    std::map<std::string, long> m;
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::istringstream v(line.substr(colon + 1));
        long kib = 0;
        if (v >> kib) m[line.substr(0, colon)] = kib;
    }
    return m;
}

}  // namespace cxvm::testing
