#include "util/Log.h"

#include <atomic>

namespace cxvm::log {

namespace {
std::atomic<Level> gLevel{Level::Warn};
constexpr const char* kPrefix[] = {"cxvm: error: ", "cxvm: warning: ", "cxvm: ", "cxvm: debug: "};
}  // namespace

Level level() { return gLevel.load(std::memory_order_relaxed); }
void setLevel(Level l) { gLevel.store(l, std::memory_order_relaxed); }

void write(Level l, std::string_view msg) {
    // One fwrite per line so lines from several threads do not interleave.
    std::string line = fmt::format("{}{}\n", kPrefix[static_cast<int>(l)], msg);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace cxvm::log
