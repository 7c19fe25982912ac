#include "vmm/TraceSpec.h"

#include "util/Error.h"

#include <charconv>

namespace cxvm::vmm {
namespace {

std::uint64_t number(std::string_view all, std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
    }
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        throw Error::format("--trace={}: '{}' is not a number (decimal or 0x-hex)", all, s);
    return v;
}

}  // namespace

TraceSpec parseTraceSpec(std::string_view text) {
    TraceSpec t;
    t.enabled = true;
    if (text.empty() || text == "all") return t;
    std::string_view range = text;
    if (auto comma = text.find(','); comma != std::string_view::npos) {
        t.count = number(text, text.substr(comma + 1));
        range = text.substr(0, comma);
    }
    if (auto dash = range.find('-'); dash != std::string_view::npos) {
        const std::uint64_t from = number(text, range.substr(0, dash));
        const std::uint64_t to = number(text, range.substr(dash + 1));
        if (from > to || to > 0xFFFFFFFFu)
            throw Error::format("--trace={}: the range must be FROM-TO with FROM <= TO < 4 GiB",
                                text);
        t.fromAddress = static_cast<std::uint32_t>(from);
        t.toAddress = static_cast<std::uint32_t>(to);
    } else if (text.find(',') == std::string_view::npos) {
        t.count = number(text, range);
    } else {
        throw Error::format("--trace={}: expected COUNT, FROM-TO or FROM-TO,COUNT", text);
    }
    return t;
}

TraceRing::TraceRing(std::size_t lines) : max_(lines) {
    cookie_io_functions_t io{};
    io.write = &TraceRing::write;
    file_ = fopencookie(this, "w", io);
    if (!file_) throwErrno("--trace-post: fopencookie");
    setvbuf(file_, nullptr, _IOFBF, 1 << 16);
}

TraceRing::~TraceRing() {
    if (file_) std::fclose(file_);
}

ssize_t TraceRing::write(void* self, const char* buf, std::size_t size) {
    auto* r = static_cast<TraceRing*>(self);
    std::string_view in(buf, size);
    while (!in.empty()) {
        auto nl = in.find('\n');
        if (nl == std::string_view::npos) {
            r->partial_.append(in);
            break;
        }
        r->partial_.append(in.substr(0, nl + 1));
        r->lines_.push_back(std::move(r->partial_));
        r->partial_.clear();
        if (r->lines_.size() > r->max_) r->lines_.pop_front();
        in.remove_prefix(nl + 1);
    }
    return static_cast<ssize_t>(size);
}

std::string TraceRing::text() {
    std::fflush(file_);
    std::string s;
    for (const auto& l : lines_) s += l;
    if (!partial_.empty()) s += partial_ + "\n";
    return s;
}

}  // namespace cxvm::vmm
