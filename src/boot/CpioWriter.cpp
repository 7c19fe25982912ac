// newc writer: uppercase hex like the kernel's usr/gen_init_cpio.c, no checksums.
#include "boot/Cpio.h"

#include "util/Error.h"

#include <array>
#include <utility>

namespace cxvm::boot {
namespace {

void pad4(std::vector<std::uint8_t>& out) {
    while (out.size() % 4 != 0) out.push_back(0);
}

}  // namespace

CpioEntry CpioEntry::directory(std::string name, std::uint32_t perm) {
    CpioEntry e;
    e.name = std::move(name);
    e.mode = static_cast<std::uint32_t>(CpioFileType::Directory) | (perm & 07777);
    e.nlink = 2;
    return e;
}

CpioEntry CpioEntry::file(std::string name, std::span<const std::uint8_t> contents,
                          std::uint32_t perm) {
    CpioEntry e;
    e.name = std::move(name);
    e.mode = static_cast<std::uint32_t>(CpioFileType::Regular) | (perm & 07777);
    e.data.assign(contents.begin(), contents.end());
    return e;
}

CpioEntry CpioEntry::file(std::string name, std::string_view contents, std::uint32_t perm) {
    return file(std::move(name),
                std::span(reinterpret_cast<const std::uint8_t*>(contents.data()), contents.size()),
                perm);
}

CpioEntry CpioEntry::symlink(std::string name, std::string_view target) {
    CpioEntry e;
    e.name = std::move(name);
    e.mode = static_cast<std::uint32_t>(CpioFileType::Symlink) | 0777;
    e.data.assign(target.begin(), target.end());
    return e;
}

CpioEntry CpioEntry::device(std::string name, CpioFileType type, std::uint32_t major,
                            std::uint32_t minor, std::uint32_t perm) {
    if (type != CpioFileType::CharDevice && type != CpioFileType::BlockDevice)
        throw Error::format("cpio: '{}': a device node must be a char or block device", name);
    CpioEntry e;
    e.name = std::move(name);
    e.mode = static_cast<std::uint32_t>(type) | (perm & 07777);
    e.rdevMajor = major;
    e.rdevMinor = minor;
    return e;
}

void CpioWriter::header(std::string_view name, const CpioEntry& e, std::size_t dataSize) {
    const std::array<std::uint32_t, 13> f = {
        e.ino,      e.mode,      e.uid,       e.gid,
        e.nlink,    e.mtime,     static_cast<std::uint32_t>(dataSize),
        e.devMajor, e.devMinor,  e.rdevMajor, e.rdevMinor,
        static_cast<std::uint32_t>(name.size() + 1), 0};
    std::string h = "070701";
    for (auto v : f) h += fmt::format("{:08X}", v);
    out_.insert(out_.end(), h.begin(), h.end());
    out_.insert(out_.end(), name.begin(), name.end());
    out_.push_back(0);
    pad4(out_);
}

void CpioWriter::add(const CpioEntry& e) {
    if (e.name.empty()) throw Error("cpio: an entry needs a name");
    if (e.name.find('\0') != std::string::npos)
        throw Error::format("cpio: entry name '{}' contains a NUL byte", e.name);
    if (e.name == "TRAILER!!!") throw Error("cpio: 'TRAILER!!!' is reserved for the end marker");
    if (e.data.size() > 0xFFFFFFFFu)
        throw Error::format("cpio: '{}' is {} bytes; newc stores at most 4 GiB - 1", e.name,
                            e.data.size());
    header(e.name, e, e.data.size());
    out_.insert(out_.end(), e.data.begin(), e.data.end());
    pad4(out_);
}

std::vector<std::uint8_t> CpioWriter::finish() {
    CpioEntry trailer;
    trailer.nlink = 1;
    header("TRAILER!!!", trailer, 0);
    return std::exchange(out_, {});
}

std::string formatCpioMode(std::uint32_t mode) {
    static constexpr std::array<std::pair<CpioFileType, char>, 7> kTypeChar = {{
        {CpioFileType::Regular, '-'},
        {CpioFileType::Directory, 'd'},
        {CpioFileType::Symlink, 'l'},
        {CpioFileType::CharDevice, 'c'},
        {CpioFileType::BlockDevice, 'b'},
        {CpioFileType::Fifo, 'p'},
        {CpioFileType::Socket, 's'},
    }};
    std::string s(10, '-');
    s[0] = '?';
    for (auto [t, c] : kTypeChar)
        if (static_cast<std::uint32_t>(t) == (mode & 0170000)) s[0] = c;
    constexpr std::string_view rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; ++i)
        if (mode & (0400u >> i)) s[1 + i] = rwx[i];
    // setuid/setgid/sticky replace the matching x.
    if (mode & 04000) s[3] = (mode & 0100) ? 's' : 'S';
    if (mode & 02000) s[6] = (mode & 0010) ? 's' : 'S';
    if (mode & 01000) s[9] = (mode & 0001) ? 't' : 'T';
    return s;
}

}  // namespace cxvm::boot
