#include "boot/rootfs/RootfsTree.h"

#include "util/Error.h"
#include "util/File.h"

#include <sys/stat.h>

#include <algorithm>

namespace cxvm::boot {

std::string RootfsTree::normalize(std::string_view path) {
    std::string out;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        std::string_view part = path.substr(i, j - i);
        if (part == "..")
            throw Error::format("guest path '{}' contains '..'", path);
        if (!part.empty() && part != ".") {
            if (!out.empty()) out += '/';
            out += part;
        }
        i = j + 1;
    }
    if (out.empty()) throw Error::format("guest path '{}' names the root itself", path);
    return out;
}

void RootfsTree::ensureParents(const std::string& path) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
        std::string parent = path.substr(0, slash);
        auto it = entries_.find(parent);
        if (it == entries_.end())
            entries_.emplace(parent, CpioEntry::directory(parent));
        else if (it->second.type() != CpioFileType::Directory)
            throw Error::format("guest path '/{}': '/{}' is not a directory", path, parent);
    }
}

void RootfsTree::put(CpioEntry e) {
    e.name = normalize(e.name);
    ensureParents(e.name);
    auto it = entries_.find(e.name);
    if (it != entries_.end() && it->second.type() == CpioFileType::Directory &&
        e.type() == CpioFileType::Directory) {
        it->second.mode = e.mode;  // re-adding a folder only updates its permissions
        return;
    }
    if (it != entries_.end() && it->second.type() == CpioFileType::Directory) {
        // Replacing a folder by a file: drop what was inside it.
        const std::string prefix = e.name + '/';
        for (auto c = entries_.lower_bound(prefix);
             c != entries_.end() && c->first.compare(0, prefix.size(), prefix) == 0;)
            c = entries_.erase(c);
    }
    entries_.insert_or_assign(e.name, std::move(e));
}

void RootfsTree::addDirectory(std::string_view path, std::uint32_t perm) {
    put(CpioEntry::directory(std::string(path), perm));
}

void RootfsTree::addFile(std::string_view path, std::span<const std::uint8_t> contents,
                         std::uint32_t perm) {
    put(CpioEntry::file(std::string(path), contents, perm));
}

void RootfsTree::addFile(std::string_view path, std::string_view contents, std::uint32_t perm) {
    put(CpioEntry::file(std::string(path), contents, perm));
}

void RootfsTree::addSymlink(std::string_view path, std::string_view target) {
    put(CpioEntry::symlink(std::string(path), target));
}

void RootfsTree::addDevice(std::string_view path, CpioFileType type, std::uint32_t major,
                           std::uint32_t minor, std::uint32_t perm) {
    put(CpioEntry::device(std::string(path), type, major, minor, perm));
}

void RootfsTree::add(CpioEntry entry) {
    if (entry.name == "." || entry.name == "./" || entry.name == "/") return;  // the root
    put(std::move(entry));
}

void RootfsTree::addHostTree(const std::filesystem::path& hostDir, std::string_view guestDir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::recursive_directory_iterator it(hostDir, ec), end;
    if (ec) throw Error::format("cannot read folder '{}': {}", hostDir.string(), ec.message());
    const std::string base = std::string(guestDir) + "/";
    for (; it != end; it.increment(ec)) {
        if (ec) throw Error::format("cannot read folder '{}': {}", hostDir.string(), ec.message());
        const fs::path& p = it->path();
        const std::string guest = base + fs::relative(p, hostDir).generic_string();
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) throwErrno(fmt::format("cannot stat '{}'", p.string()));
        if (S_ISDIR(st.st_mode)) {
            addDirectory(guest, 0755);
        } else if (S_ISLNK(st.st_mode)) {
            addSymlink(guest, fs::read_symlink(p).string());
        } else if (S_ISREG(st.st_mode)) {
            addFile(guest, readFile(p), (st.st_mode & 0111) ? 0755 : 0644);
        } else {
            throw Error::format("'{}': only files, folders and symlinks can go into the image",
                                p.string());
        }
    }
}

bool RootfsTree::contains(std::string_view path) const { return find(path) != nullptr; }

const CpioEntry* RootfsTree::find(std::string_view path) const {
    auto it = entries_.find(normalize(path));
    return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::uint8_t> RootfsTree::toCpio(std::uint32_t mtime) const {
    CpioWriter w;
    std::uint32_t ino = 1;
    // std::map iterates in byte order of the names: parents sort before their children.
    for (const auto& [name, entry] : entries_) {
        CpioEntry e = entry;
        e.uid = e.gid = 0;
        e.mtime = mtime;
        e.ino = ino++;
        e.nlink = e.type() == CpioFileType::Directory ? 2 : 1;
        e.devMajor = e.devMinor = 0;
        w.add(e);
    }
    return w.finish();
}

}  // namespace cxvm::boot
