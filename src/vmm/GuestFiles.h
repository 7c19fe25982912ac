#pragma once
// Where guest kernels and root filesystems come from: explicit files, an app folder's
// files, or the default guest that ./setup prepares (the guest kit's kernel and the
// default rootfs in the cache: $CXVM_CACHE, else <source tree>/.cache).
#include <filesystem>
#include <string>
#include <string_view>

namespace cxvm::vmm {

class GuestFiles {
public:
    // `sourceDir`: cxvm's source tree (the default cache lives in it).
    explicit GuestFiles(std::filesystem::path sourceDir);

    [[nodiscard]] const std::filesystem::path& cacheDir() const { return cache_; }
    [[nodiscard]] std::filesystem::path defaultKernel() const { return cache_ / "kit/bzImage"; }
    [[nodiscard]] std::filesystem::path defaultRootfs() const {
        return cache_ / "guest/rootfs.cpio";
    }

    // The default guest's kernel and rootfs; throws cxvm::Error telling the user to run
    // ./setup when either is missing.
    [[nodiscard]] std::filesystem::path requireDefaultKernel() const;
    [[nodiscard]] std::filesystem::path requireDefaultRootfs() const;

    // Where `cxvm build-rootfs APP` writes the app's own guest image (its camkes_init is
    // generated from the app's spec): <cache>/apps/<app folder name>/rootfs.cpio.
    [[nodiscard]] std::filesystem::path appRootfs(const std::filesystem::path& appDir) const;

    // Where scripts/build-disk-image puts the disk images it builds (outside the clone,
    // so that clean clones and CI reuse them): $CXVM_IMAGE_CACHE, else /var/cache/cxvm.
    [[nodiscard]] static std::filesystem::path imageCacheDir();

    // A file an app's spec names (the seed's KERNEL_IMAGE / ROOTFS, a disk image): an
    // absolute path as is; else the app folder first, then for the seed's names the
    // default guest ("bzimage" -> the kit kernel; "rootfs.cpio" -> the app's image from
    // `cxvm build-rootfs APP` if there is one, else the default rootfs), then the image
    // cache ("debian-12-i386/vmlinuz" -> imageCacheDir()/debian-12-i386/vmlinuz). Throws
    // naming every place looked at.
    [[nodiscard]] std::filesystem::path resolveAppFile(const std::filesystem::path& appDir,
                                                       std::string_view name,
                                                       std::string_view attribute) const;

private:
    std::filesystem::path cache_;
};

}  // namespace cxvm::vmm
