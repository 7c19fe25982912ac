#pragma once
// A root filesystem being assembled in memory, keyed by path, written out as a
// reproducible newc archive: entries sorted by name, owner root, one fixed mtime,
// inode numbers assigned in order. Parents are created as needed.
#include "boot/Cpio.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::boot {

class RootfsTree {
public:
    // Paths are guest paths like "/etc/passwd" or "etc/passwd"; "." and ".." components
    // are rejected (cxvm::Error), so nothing lands outside the root.
    void addDirectory(std::string_view path, std::uint32_t perm = 0755);
    void addFile(std::string_view path, std::span<const std::uint8_t> contents,
                 std::uint32_t perm = 0644);
    void addFile(std::string_view path, std::string_view contents, std::uint32_t perm = 0644);
    void addSymlink(std::string_view path, std::string_view target);
    void addDevice(std::string_view path, CpioFileType type, std::uint32_t major,
                   std::uint32_t minor, std::uint32_t perm = 0600);
    // Adds an entry read from an archive (ownership and mtime are normalised on write).
    void add(CpioEntry entry);
    // Copies a host folder's files, folders and symlinks under `guestDir`. Files become
    // 0755 if any execute bit is set, else 0644, so the host's umask does not matter.
    void addHostTree(const std::filesystem::path& hostDir, std::string_view guestDir);

    [[nodiscard]] bool contains(std::string_view path) const;
    [[nodiscard]] const CpioEntry* find(std::string_view path) const;
    [[nodiscard]] std::size_t size() const { return entries_.size(); }

    // The archive: sorted, uid/gid 0, every mtime = `mtime`, inodes 1.. in order.
    [[nodiscard]] std::vector<std::uint8_t> toCpio(std::uint32_t mtime) const;

    // "/a/./b//c" -> "a/b/c"; throws on ".." or an empty result.
    static std::string normalize(std::string_view path);

private:
    void ensureParents(const std::string& path);
    void put(CpioEntry e);
    std::map<std::string, CpioEntry> entries_;
};

}  // namespace cxvm::boot
