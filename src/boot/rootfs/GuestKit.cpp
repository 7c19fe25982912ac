#include "boot/rootfs/GuestKit.h"

#include "util/Error.h"
#include "util/File.h"

#include <algorithm>
#include <cstdlib>

namespace cxvm::boot {
namespace {

std::string firstLine(const std::filesystem::path& p) {
    auto bytes = readFile(p);
    std::string s(bytes.begin(), bytes.end());
    if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
    return s;
}

}  // namespace

GuestKit GuestKit::open(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    const char* hint = "run scripts/fetch-guest-kit (or ./setup)";
    if (!fs::is_directory(dir))
        throw Error::format("guest kit not found at '{}': {}", dir.string(), hint);
    GuestKit kit;
    kit.dir = dir;
    for (const char* f : {"kernel-version", "vermagic", "bzImage", "busybox", "env.mk",
                          "headers/Makefile"}) {
        if (!fs::exists(dir / f))
            throw Error::format("guest kit at '{}' is incomplete (no {}): {}", dir.string(), f, hint);
    }
    kit.kernelVersion = firstLine(dir / "kernel-version");
    kit.vermagic = firstLine(dir / "vermagic");
    if (kit.kernelVersion.empty() || kit.vermagic.rfind(kit.kernelVersion + " ", 0) != 0)
        throw Error::format("guest kit at '{}': kernel-version '{}' and vermagic '{}' disagree: {}",
                            dir.string(), kit.kernelVersion, kit.vermagic, hint);
    return kit;
}

std::filesystem::path projectCacheDir(const std::filesystem::path& sourceDir) {
    if (const char* c = std::getenv("CXVM_CACHE"); c && *c) return c;
    return sourceDir / ".cache";
}

std::string moduleVermagic(std::span<const std::uint8_t> ko) {
    // .modinfo is a run of NUL-terminated "key=value" strings; "vermagic=" occurs nowhere
    // else in a module.
    constexpr std::string_view key = "vermagic=";
    auto it = std::search(ko.begin(), ko.end(), key.begin(), key.end());
    if (it == ko.end()) return {};
    auto end = std::find(it + static_cast<std::ptrdiff_t>(key.size()), ko.end(), std::uint8_t{0});
    return std::string(it + static_cast<std::ptrdiff_t>(key.size()), end);
}

}  // namespace cxvm::boot
