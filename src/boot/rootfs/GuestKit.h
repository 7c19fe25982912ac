#pragma once
// The guest kit that scripts/fetch-guest-kit unpacks (layout contract: docs/guest-kit.md):
// the 686 kernel, its headers as a KHEAD for out-of-tree modules, busybox, the 32-bit
// sysroot and env.mk. This finds and checks it; it never downloads.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace cxvm::boot {

struct GuestKit {
    std::filesystem::path dir;       // e.g. <repo>/.cache/kit
    std::string kernelVersion;       // e.g. "6.1.0-50-686"
    std::string vermagic;            // what every module must carry, e.g. "6.1.0-50-686 SMP ..."

    [[nodiscard]] std::filesystem::path bzImage() const { return dir / "bzImage"; }
    [[nodiscard]] std::filesystem::path headers() const { return dir / "headers"; }
    [[nodiscard]] std::filesystem::path busybox() const { return dir / "busybox"; }
    [[nodiscard]] std::filesystem::path envMk() const { return dir / "env.mk"; }

    // Opens the kit at `dir`; throws cxvm::Error naming what is missing and how to get it.
    static GuestKit open(const std::filesystem::path& dir);
};

// The project cache: $CXVM_CACHE, else <sourceDir>/.cache.
std::filesystem::path projectCacheDir(const std::filesystem::path& sourceDir);

// The "vermagic=" string of a kernel module's .modinfo; empty when there is none.
std::string moduleVermagic(std::span<const std::uint8_t> ko);

}  // namespace cxvm::boot
