#include "vmm/GuestFiles.h"

#include "util/Error.h"

#include <cstdlib>

namespace cxvm::vmm {
namespace fs = std::filesystem;

namespace {

fs::path requireSetupFile(const fs::path& p, std::string_view what) {
    if (fs::is_regular_file(p)) return p;
    throw Error::format("the default guest's {} is missing ({}): run ./setup to fetch the guest "
                        "kit and build the default rootfs, or pass --kernel/--initrd",
                        what, p.string());
}

}  // namespace

GuestFiles::GuestFiles(fs::path sourceDir) {
    const char* env = std::getenv("CXVM_CACHE");
    cache_ = (env && *env ? fs::path(env) : std::move(sourceDir) / ".cache").lexically_normal();
}

fs::path GuestFiles::requireDefaultKernel() const {
    return requireSetupFile(defaultKernel(), "kernel");
}

fs::path GuestFiles::requireDefaultRootfs() const {
    return requireSetupFile(defaultRootfs(), "rootfs");
}

fs::path GuestFiles::appRootfs(const fs::path& appDir) const {
    fs::path dir = fs::weakly_canonical(appDir);
    if (dir.filename().empty()) dir = dir.parent_path();  // "apps/x/"
    return cache_ / "apps" / dir.filename() / "rootfs.cpio";
}

fs::path GuestFiles::imageCacheDir() {
    const char* env = std::getenv("CXVM_IMAGE_CACHE");
    return fs::path(env && *env ? env : "/var/cache/cxvm").lexically_normal();
}

fs::path GuestFiles::resolveAppFile(const fs::path& appDir, std::string_view name,
                                    std::string_view attribute) const {
    if (name.empty()) throw Error::format("{}: empty file name", attribute);
    if (fs::path(name).is_absolute()) {
        if (fs::is_regular_file(name)) return fs::path(name);
        throw Error::format("{} = \"{}\": no such file", attribute, name);
    }
    const fs::path inApp = appDir / name;
    if (fs::is_regular_file(inApp)) return inApp;
    fs::path fallback;
    if (name == "bzimage" || name == "bzImage") fallback = defaultKernel();
    if (name == "rootfs.cpio") {
        if (fs::path own = appRootfs(appDir); fs::is_regular_file(own)) return own;
        fallback = defaultRootfs();
    }
    if (!fallback.empty() && fs::is_regular_file(fallback)) return fallback;
    if (!fallback.empty())
        throw Error::format("{} = \"{}\": not in the app folder ({}) and the default guest's "
                            "file is missing ({}): run ./setup",
                            attribute, name, inApp.string(), fallback.string());
    // Built images (scripts/build-disk-image) are too large for the clone: a spec names
    // them relative to the image cache, and a copy in the app folder takes precedence.
    const fs::path inCache = imageCacheDir() / name;
    if (fs::is_regular_file(inCache)) return inCache;
    throw Error::format("{} = \"{}\": no such file in the app folder ({}) or the image cache "
                        "({}; scripts/build-disk-image builds the Debian image there)",
                        attribute, name, inApp.string(), inCache.string());
}

}  // namespace cxvm::vmm
