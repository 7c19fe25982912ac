#include "hw/virtio/DiskImage.h"

#include "util/Error.h"
#include "util/Log.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace cxvm::hw::virtio {

namespace {
constexpr std::uint64_t kSector = 512;
}

DiskImage DiskImage::open(const std::filesystem::path& path, bool readOnly) {
    const std::string p = path.string();
    const char* hint = readOnly ? "" : "; attach it read-only with ,ro";
    UniqueFd fd(::open(p.c_str(), (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        if (err == ENOENT) throw Error::format("disk image {}: no such file", p);
        if (!readOnly && (err == EACCES || err == EPERM || err == EROFS))
            throw Error::format("disk image {}: cannot be opened for writing ({}){}", p, std::strerror(err), hint);
        throw Error::format("disk image {}: {}", p, std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throwErrno(fmt::format("disk image {}: fstat", p));
    std::uint64_t bytes = 0;
    if (S_ISREG(st.st_mode)) {
        // Root may open a file without write permission for writing; a file nobody may
        // write is still meant to be read-only, so say so rather than change it.
        if (!readOnly && !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)))
            throw Error::format("disk image {}: the file is read-only (mode {:o}){}", p, st.st_mode & 07777, hint);
        bytes = static_cast<std::uint64_t>(st.st_size);
    } else if (S_ISBLK(st.st_mode)) {
        if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0) throwErrno(fmt::format("disk image {}: BLKGETSIZE64", p));
    } else {
        throw Error::format("disk image {}: not a regular file or block device", p);
    }
    if (bytes < kSector) throw Error::format("disk image {}: {} bytes, smaller than one 512-byte sector", p, bytes);
    if (bytes % kSector)
        log::warn("disk image {}: size {} is not a multiple of 512; the last {} bytes are not visible", p, bytes,
                  bytes % kSector);

    // An OFD lock belongs to this open file description: it conflicts with every other
    // one, in this process or another, and goes away with the descriptor.
    struct flock lock {};
    lock.l_type = readOnly ? F_RDLCK : F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
        if (errno == EAGAIN || errno == EACCES)
            throw Error::format("disk image {}: in use by another cxvm (or another program holds a lock on it){}", p,
                                readOnly ? "" : "; a read-write disk needs exclusive use");
        throwErrno(fmt::format("disk image {}: locking", p));
    }
    return DiskImage(std::move(fd), path, readOnly, bytes / kSector);
}

}  // namespace cxvm::hw::virtio
