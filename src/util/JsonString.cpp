#include "util/JsonString.h"

#include <fmt/format.h>

namespace cxvm {

std::string jsonString(std::string_view s) {
    std::string out = "\"";
    out.reserve(s.size() + 2);
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (u < 0x20 || u == 0x7f) out += fmt::format("\\u{:04x}", u);
            else out += c;
        }
    }
    return out + "\"";
}

}  // namespace cxvm
