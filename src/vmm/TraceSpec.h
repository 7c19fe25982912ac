#pragma once
// `cxvm run --trace[=SPEC]` and `--trace-post` (interp engine only).
//   SPEC  := "" | "all" | COUNT | FROM "-" TO | FROM "-" TO "," COUNT
//   COUNT: how many instructions to trace; FROM-TO: linear EIP range (inclusive).
//   Numbers are decimal or 0x-hex. Examples: --trace=1000, --trace=0x1000000-0x1000fff.
// --trace-post keeps only the last kTraceRingLines trace lines in memory and prints them
// when the guest stops (a post-mortem without gigabytes of log); without --trace it
// traces everything into that ring.
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <string_view>

namespace cxvm::vmm {

struct TraceSpec {
    bool enabled = false;
    std::uint64_t count = UINT64_MAX;
    std::uint32_t fromAddress = 0;
    std::uint32_t toAddress = 0xFFFFFFFFu;
};

// Throws cxvm::Error naming the text.
TraceSpec parseTraceSpec(std::string_view text);

// A stdio stream whose output keeps only its last `lines` lines (fopencookie), for
// --trace-post.
class TraceRing {
public:
    static constexpr std::size_t kTraceRingLines = 200;
    explicit TraceRing(std::size_t lines = kTraceRingLines);
    ~TraceRing();
    TraceRing(const TraceRing&) = delete;
    TraceRing& operator=(const TraceRing&) = delete;

    [[nodiscard]] std::FILE* stream() const { return file_; }
    // The kept lines, oldest first, each ending in '\n' (a partial last line too).
    [[nodiscard]] std::string text();

private:
    static ssize_t write(void* self, const char* buf, std::size_t size);
    std::size_t max_;
    std::deque<std::string> lines_;
    std::string partial_;
    std::FILE* file_ = nullptr;
};

}  // namespace cxvm::vmm
