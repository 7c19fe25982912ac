#include "host/pci/SysfsFile.h"

#include "util/Error.h"
#include "util/File.h"

#include <charconv>
#include <system_error>

namespace cxvm::host::pci {

std::optional<std::string> readSysfsText(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::nullopt;
    const auto bytes = readFile(path);
    std::string s(bytes.begin(), bytes.end());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string readSysfsTextRequired(const std::filesystem::path& path) {
    auto s = readSysfsText(path);
    if (!s) throw Error::format("'{}' does not exist", path.string());
    return *s;
}

std::uint64_t readSysfsNumber(const std::filesystem::path& path) {
    const std::string s = readSysfsTextRequired(path);
    std::string_view digits = s;
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        digits.remove_prefix(2);
        base = 16;
    }
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
        throw Error::format("'{}': expected a number, got '{}'", path.string(), s);
    return v;
}

std::optional<std::string> readSysfsLinkName(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_symlink(path, ec)) return std::nullopt;
    const auto target = std::filesystem::read_symlink(path, ec);
    if (ec) throw Error::format("cannot read link '{}': {}", path.string(), ec.message());
    auto name = target.filename().string();
    if (name.empty()) name = target.parent_path().filename().string();
    return name;
}

}  // namespace cxvm::host::pci
