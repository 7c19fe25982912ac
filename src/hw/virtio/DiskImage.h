#pragma once
// A disk image file (or block device) opened for a virtio-blk device: the descriptor,
// its size in 512-byte sectors, and an open-file-description lock that keeps a second
// cxvm from using the same image at once (as QEMU locks its images): a shared lock for a
// read-only disk, an exclusive one for a read-write disk, so several VMs may share a
// read-only image but nobody may write one that another VM reads or writes.
#include "util/UniqueFd.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace cxvm::hw::virtio {

// A disk as the user names it: `cxvm run --disk FILE[,ro]`, VmConfig::disks.
struct DiskOptions {
    std::filesystem::path path;
    bool readOnly = false;
    // Where the user named the disk ("spec.camkes:30:31: vm.vm0.disks[0]"), put in
    // front of the image's open errors so that they point at the spec; empty: none.
    std::string origin;
};

class DiskImage {
public:
    // Throws cxvm::Error naming the file: missing, not a file or block device,
    // unreadable, not writable when `readOnly` is false (the message suggests ",ro"),
    // smaller than one sector, or locked by another process.
    static DiskImage open(const std::filesystem::path& path, bool readOnly);

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] bool readOnly() const { return readOnly_; }
    [[nodiscard]] std::uint64_t sectors() const { return sectors_; }

private:
    DiskImage(UniqueFd fd, std::filesystem::path path, bool readOnly, std::uint64_t sectors)
        : fd_(std::move(fd)), path_(std::move(path)), readOnly_(readOnly), sectors_(sectors) {}

    UniqueFd fd_;  // the lock lives as long as this open file description
    std::filesystem::path path_;
    bool readOnly_ = false;
    std::uint64_t sectors_ = 0;
};

}  // namespace cxvm::hw::virtio
