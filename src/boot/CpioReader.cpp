// newc reader (buffer-format.rst). Every length comes from the archive, so each one is
// checked against the bytes that remain before it is used.
#include "boot/Cpio.h"

#include "util/Error.h"

#include <array>

namespace cxvm::boot {
namespace {

constexpr std::size_t kHeaderSize = 110;
constexpr std::string_view kTrailer = "TRAILER!!!";

// Field names in header order, for error messages.
constexpr std::array<std::string_view, 13> kFields = {
    "ino",    "mode",     "uid",      "gid",       "nlink",     "mtime",   "filesize",
    "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check"};

constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

bool isMagic(std::span<const std::uint8_t> b, std::size_t at) {
    if (b.size() - at < 6) return false;
    std::string_view m(reinterpret_cast<const char*>(b.data() + at), 6);
    return m == "070701" || m == "070702";
}

std::uint32_t hexField(std::span<const std::uint8_t> b, std::size_t entryAt, std::size_t index) {
    std::size_t at = entryAt + 6 + index * 8;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        std::uint8_t c = b[at + i];
        std::uint32_t d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else
            throw Error::format("cpio: entry at offset {}: field {} is not hex (byte {:#04x} at offset {})",
                                entryAt, kFields[index], c, at + i);
        v = v << 4 | d;
    }
    return v;
}

}  // namespace

std::vector<CpioEntry> readCpio(std::span<const std::uint8_t> b) {
    std::vector<CpioEntry> entries;
    std::size_t at = 0;
    bool sawTrailer = false;
    while (at < b.size()) {
        if (sawTrailer) {
            // After a trailer: zero padding, then either the end or another archive.
            while (at < b.size() && b[at] == 0) ++at;
            if (at == b.size()) break;
            if (!isMagic(b, at))
                throw Error::format("cpio: trailing garbage after TRAILER!!! at offset {}", at);
            sawTrailer = false;
        }
        if (!isMagic(b, at)) {
            if (at == 0) throw Error("cpio: not a newc cpio archive (no 070701 magic at offset 0)");
            throw Error::format("cpio: bad magic at offset {} (expected 070701)", at);
        }
        if (b.size() - at < kHeaderSize)
            throw Error::format("cpio: truncated header at offset {}: {} bytes left, a header is {}",
                                at, b.size() - at, kHeaderSize);
        std::array<std::uint32_t, 13> f{};
        for (std::size_t i = 0; i < f.size(); ++i) f[i] = hexField(b, at, i);
        const std::size_t fileSize = f[6], nameSize = f[11];
        if (nameSize == 0)
            throw Error::format("cpio: entry at offset {}: name size is 0", at);
        const std::size_t nameAt = at + kHeaderSize;
        if (nameSize > b.size() - nameAt)
            throw Error::format("cpio: truncated entry at offset {}: name needs {} bytes, {} left",
                                at, nameSize, b.size() - nameAt);
        if (b[nameAt + nameSize - 1] != 0)
            throw Error::format("cpio: entry at offset {}: name is not NUL-terminated", at);
        std::string name(reinterpret_cast<const char*>(b.data() + nameAt), nameSize - 1);
        if (name.find('\0') != std::string::npos)
            throw Error::format("cpio: entry at offset {}: name contains a NUL byte", at);
        // The name is padded so that header + name is a multiple of 4.
        const std::size_t dataAt = align4(nameAt + nameSize);
        if (dataAt > b.size() || fileSize > b.size() - dataAt)
            throw Error::format("cpio: truncated entry '{}' at offset {}: data needs {} bytes, {} left",
                                name, at, fileSize, b.size() - std::min(dataAt, b.size()));
        const std::size_t next = align4(dataAt + fileSize);
        if (name == kTrailer) {
            sawTrailer = true;
            at = std::min(next, b.size());
            continue;
        }
        CpioEntry e;
        e.name = std::move(name);
        e.ino = f[0];
        e.mode = f[1];
        e.uid = f[2];
        e.gid = f[3];
        e.nlink = f[4];
        e.mtime = f[5];
        e.devMajor = f[7];
        e.devMinor = f[8];
        e.rdevMajor = f[9];
        e.rdevMinor = f[10];
        e.data.assign(b.begin() + static_cast<std::ptrdiff_t>(dataAt),
                      b.begin() + static_cast<std::ptrdiff_t>(dataAt + fileSize));
        entries.push_back(std::move(e));
        at = std::min(next, b.size());
    }
    if (!sawTrailer) {
        if (b.empty()) throw Error("cpio: empty file, not a cpio archive");
        throw Error::format("cpio: no TRAILER!!! entry: the archive is truncated ({} bytes)", b.size());
    }
    return entries;
}

}  // namespace cxvm::boot
