#include "util/Error.h"
#include "vmm/GuestFiles.h"
#include "vmm/MemorySize.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace cxvm::vmm {
namespace {
namespace fs = std::filesystem;

TEST(MemorySize, UnitsAndPlainMiB) {
    EXPECT_EQ(parseMemorySize("128M"), 128ull << 20);
    EXPECT_EQ(parseMemorySize("128MiB"), 128ull << 20);
    EXPECT_EQ(parseMemorySize("128"), 128ull << 20);
    EXPECT_EQ(parseMemorySize("1G"), 1ull << 30);
    EXPECT_EQ(parseMemorySize("65536k"), 64ull << 20);
}

TEST(MemorySize, RejectsJunkAndOutOfRange) {
    for (const char* bad : {"", "M", "12Q", "-5M", "1M", "0", "4G", "99999999999999999999G"})
        EXPECT_THROW(parseMemorySize(bad), Error) << bad;
}

struct TempDir {
    fs::path p = fs::temp_directory_path() / fs::path("cxvm-gf-" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(p); }
    ~TempDir() { fs::remove_all(p); }
};

void touch(const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
}

TEST(GuestFiles, AppFolderFirstThenDefaultGuest) {
    TempDir t;
    const char* old = std::getenv("CXVM_CACHE");
    const std::string saved = old ? old : "";
    setenv("CXVM_CACHE", (t.p / "cache").c_str(), 1);
    GuestFiles f("/unused");
    if (old)
        setenv("CXVM_CACHE", saved.c_str(), 1);
    else
        unsetenv("CXVM_CACHE");
    EXPECT_EQ(f.defaultKernel(), t.p / "cache/kit/bzImage");
    // Missing default: the message says to run ./setup.
    try {
        (void)f.requireDefaultKernel();
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("./setup"), std::string::npos) << e.what();
    }
    touch(t.p / "cache/kit/bzImage");
    touch(t.p / "cache/guest/rootfs.cpio");
    touch(t.p / "app/rootfs.cpio");
    EXPECT_EQ(f.resolveAppFile(t.p / "app", "bzimage", "vm0.kernel_image"), t.p / "cache/kit/bzImage");
    EXPECT_EQ(f.resolveAppFile(t.p / "app", "rootfs.cpio", "vm0.initrd_image"), t.p / "app/rootfs.cpio");
    try {
        (void)f.resolveAppFile(t.p / "app", "other.img", "vm0.initrd_image");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("vm0.initrd_image"), std::string::npos) << e.what();
    }
}

TEST(GuestFiles, ImageCacheAfterTheAppFolder) {
    TempDir t;
    const char* old = std::getenv("CXVM_IMAGE_CACHE");
    const std::string saved = old ? old : "";
    setenv("CXVM_IMAGE_CACHE", (t.p / "images").c_str(), 1);
    GuestFiles f("/unused");
    touch(t.p / "images/debian-12-i386/vmlinuz");
    EXPECT_EQ(GuestFiles::imageCacheDir(), t.p / "images");
    EXPECT_EQ(f.resolveAppFile(t.p / "app", "debian-12-i386/vmlinuz", "vm0.kernel_image"),
              t.p / "images/debian-12-i386/vmlinuz");
    touch(t.p / "app/debian-12-i386/vmlinuz");  // a copy in the app folder wins
    EXPECT_EQ(f.resolveAppFile(t.p / "app", "debian-12-i386/vmlinuz", "vm0.kernel_image"),
              t.p / "app/debian-12-i386/vmlinuz");
    const fs::path abs = t.p / "images/debian-12-i386/vmlinuz";
    EXPECT_EQ(f.resolveAppFile(t.p / "app", abs.string(), "vm0.kernel_image"), abs);
    EXPECT_THROW((void)f.resolveAppFile(t.p / "app", (t.p / "nope").string(), "x"), Error);
    if (old)
        setenv("CXVM_IMAGE_CACHE", saved.c_str(), 1);
    else
        unsetenv("CXVM_IMAGE_CACHE");
}

}  // namespace
}  // namespace cxvm::vmm
