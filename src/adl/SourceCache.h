#pragma once
// The original text of the files a spec came from, by line: used to point columns at the
// source as written (cpp collapses whitespace and expands macros) and to print the
// source line under a diagnostic.
#include <map>
#include <string>
#include <vector>

namespace cxvm::adl {

class SourceCache {
public:
    // Line `line` (1-based) of `file`, or nullptr when the file or line is not there.
    const std::string* line(const std::string& file, int line);
    // Registers text that has no file on disk (tests, the fuzzer).
    void add(const std::string& file, std::string_view text);

private:
    std::map<std::string, std::vector<std::string>> files_;
};

// Splits text into lines without their terminators.
std::vector<std::string> splitLines(std::string_view text);

// Reads a whole file; Error when missing or larger than `maxBytes`.
std::string readFileText(const std::string& path, std::size_t maxBytes);

}  // namespace cxvm::adl
