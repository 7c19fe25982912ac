#pragma once
// cpio "newc" archives (the initramfs format: Linux Documentation/driver-api/
// early-userspace/buffer-format.rst). Each entry is a 110-byte ASCII header of 13
// eight-digit hex fields after the magic "070701", the NUL-terminated name padded to 4
// bytes, then the data padded to 4 bytes; the archive ends with an entry named
// "TRAILER!!!".
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::boot {

// The file-type bits of an entry's mode: the same values as st_mode's S_IFMT (POSIX).
enum class CpioFileType : std::uint32_t {
    Fifo = 0010000,
    CharDevice = 0020000,
    Directory = 0040000,
    BlockDevice = 0060000,
    Regular = 0100000,
    Symlink = 0120000,
    Socket = 0140000,
};

struct CpioEntry {
    std::string name;  // as stored, e.g. "bin/busybox" (initramfs names are relative)
    std::uint32_t mode = 0;  // file type | permission bits
    std::uint32_t ino = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint32_t nlink = 1;
    std::uint32_t mtime = 0;
    std::uint32_t devMajor = 0;  // device holding the file (unused by the kernel)
    std::uint32_t devMinor = 0;
    std::uint32_t rdevMajor = 0;  // the device a char/block node refers to
    std::uint32_t rdevMinor = 0;
    std::vector<std::uint8_t> data;  // a regular file's contents or a symlink's target

    [[nodiscard]] CpioFileType type() const { return static_cast<CpioFileType>(mode & 0170000); }
    [[nodiscard]] std::uint32_t permissions() const { return mode & 07777; }
    [[nodiscard]] std::string_view symlinkTarget() const {
        return {reinterpret_cast<const char*>(data.data()), data.size()};
    }

    static CpioEntry directory(std::string name, std::uint32_t perm = 0755);
    static CpioEntry file(std::string name, std::span<const std::uint8_t> contents,
                          std::uint32_t perm = 0644);
    static CpioEntry file(std::string name, std::string_view contents, std::uint32_t perm = 0644);
    static CpioEntry symlink(std::string name, std::string_view target);
    static CpioEntry device(std::string name, CpioFileType type, std::uint32_t major,
                            std::uint32_t minor, std::uint32_t perm = 0600);
};

// Parses a newc ("070701") or newc-with-checksum ("070702") archive. Zero padding after
// the trailer is skipped and a following archive is read too (the kernel accepts
// concatenated archives); anything else (bad magic, bad hex, a name or data running past
// the end, no trailer, trailing garbage) throws cxvm::Error naming the byte offset.
std::vector<CpioEntry> readCpio(std::span<const std::uint8_t> archive);

// Builds a newc archive in memory, entries in the order added.
class CpioWriter {
public:
    // Throws cxvm::Error for an empty name, a name with a NUL byte or data >= 4 GiB.
    void add(const CpioEntry& entry);
    // Appends the trailer and returns the archive; the writer is empty afterwards.
    [[nodiscard]] std::vector<std::uint8_t> finish();

private:
    void header(std::string_view name, const CpioEntry& e, std::size_t dataSize);
    std::vector<std::uint8_t> out_;
};

// "drwxr-xr-x"-style rendering of a mode, for listings.
std::string formatCpioMode(std::uint32_t mode);

}  // namespace cxvm::boot
