#pragma once
// A JSON string literal (RFC 8259 section 7): quotes, backslash escapes, \u00XX for the
// other control characters. Shared by every --json output (dump, pci-info).
#include <string>
#include <string_view>

namespace cxvm {

std::string jsonString(std::string_view s);

}  // namespace cxvm
