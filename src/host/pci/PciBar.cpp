#include "host/pci/PciBar.h"

#include "util/Error.h"

#include <charconv>

namespace cxvm::host::pci {
namespace {

constexpr unsigned kBarCount = 6;

// One "0x..." token; advances `s` past it and the blanks that follow.
bool takeHex(std::string_view& s, std::uint64_t& out) {
    if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
    const char* first = s.data() + 2;
    const char* last = s.data() + s.size();
    auto [p, ec] = std::from_chars(first, last, out, 16);
    if (ec != std::errc() || p == first) return false;
    s.remove_prefix(static_cast<std::size_t>(p - s.data()));
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return true;
}

}  // namespace

std::vector<PciBar> parseResourceFile(std::string_view text, std::string_view where) {
    std::vector<PciBar> bars;
    unsigned lineNo = 0;
    while (!text.empty() && lineNo < kBarCount) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        const unsigned index = lineNo++;
        std::uint64_t start = 0, end = 0, flags = 0;
        std::string_view rest = line;
        if (!takeHex(rest, start) || !takeHex(rest, end) || !takeHex(rest, flags) || !rest.empty())
            throw Error::format("{}: line {}: expected '0x<start> 0x<end> 0x<flags>', got '{}'", where,
                                index + 1, line);
        if (start == 0 && end == 0) continue;  // BAR not implemented
        if (end < start)
            throw Error::format("{}: line {}: end {:#x} is below start {:#x}", where, index + 1, end, start);
        if (flags & (kIoresourceDisabled | kIoresourceUnset)) continue;
        PciBar bar;
        bar.index = index;
        bar.start = start;
        bar.size = end - start + 1;
        bar.flags = flags;
        if (flags & kIoresourceIo) {
            bar.kind = PciBar::Kind::Io;
        } else if (flags & kIoresourceMem) {
            bar.kind = PciBar::Kind::Memory;
            bar.is64 = (flags & kIoresourceMem64) != 0;
            bar.prefetchable = (flags & kIoresourcePrefetch) != 0;
        } else {
            continue;  // neither I/O nor memory: nothing to pass through
        }
        bars.push_back(bar);
    }
    return bars;
}

}  // namespace cxvm::host::pci
