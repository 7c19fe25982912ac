#include "adl/SourceCache.h"

#include "util/Error.h"

#include <filesystem>
#include <fstream>

namespace cxvm::adl {

std::vector<std::string> splitLines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            if (start < text.size()) lines.emplace_back(text.substr(start));
            break;
        }
        std::string_view l = text.substr(start, nl - start);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        lines.emplace_back(l);
        start = nl + 1;
    }
    return lines;
}

std::string readFileText(const std::string& path, std::size_t maxBytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error::format("{}: cannot open file", path);
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<std::size_t>(in.gcount()));
        if (text.size() > maxBytes) throw Error::format("{}: file larger than {} bytes", path, maxBytes);
    }
    return text;
}

const std::string* SourceCache::line(const std::string& file, int line) {
    auto it = files_.find(file);
    if (it == files_.end()) {
        std::vector<std::string> lines;
        std::error_code ec;
        try {
            // Only regular files: a line marker may name anything (a device, a FIFO).
            if (!std::filesystem::is_regular_file(file, ec)) throw Error("not a regular file");
            lines = splitLines(readFileText(file, std::size_t{16} << 20));
        } catch (const Error&) {
            // Unreadable (e.g. "<built-in>"): columns stay as preprocessed.
        }
        it = files_.emplace(file, std::move(lines)).first;
    }
    if (line < 1 || static_cast<std::size_t>(line) > it->second.size()) return nullptr;
    return &it->second[static_cast<std::size_t>(line - 1)];
}

void SourceCache::add(const std::string& file, std::string_view text) {
    files_[file] = splitLines(text);
}

}  // namespace cxvm::adl
