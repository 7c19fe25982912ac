#pragma once
// `cxvm build-rootfs`: the seed's build-rootfs for cxvm. From a guest source folder
//   <source>/modules/<m>/   kernel modules (Makefile using $(KHEAD)), ->
//   /lib/modules/<ver>/kernel/drivers/vmm/ <source>/init_template  /init, with __LINUX_VERSION__
//   replaced (lists the modules to insmod) <source>/camkes_init    -> /etc/init.d/S90camkes_init,
//   run at boot by rcS <source>/lib_src/<l>/   static libraries, built first, for programs to link
//   (-l<l>) <source>/pkg/<p>/       programs (Makefile including ../../common.mk), -> /usr/bin
//   <source>/text/          files copied to /opt
// plus a base (busybox, or a given cpio) it writes one reproducible newc archive,
// atomically. Any bad input is one cxvm::Error and no output file.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cxvm::boot {

struct RootfsOptions {
    std::filesystem::path source;                    // the guest folder (e.g. <repo>/guest)
    std::filesystem::path kit;                       // the guest kit (e.g. <repo>/.cache/kit)
    std::filesystem::path output;                    // the archive to write
    std::optional<std::filesystem::path> base;       // a base cpio instead of the busybox base
    std::uint32_t mtime = 0;                         // every entry's mtime (reproducibility)
    unsigned jobs = 1;                               // make -j for each folder
    std::function<void(std::string_view)> progress;  // one line per step; may be empty
    // The script to install as /etc/init.d/S90camkes_init instead of <source>/camkes_init
    // (`cxvm build-rootfs APP` generates it from the app's spec).
    std::optional<std::string> camkesInit;
};

struct RootfsSummary {
    std::size_t entries = 0;
    std::size_t bytes = 0;
    std::size_t modules = 0;
    std::size_t programs = 0;
    std::size_t libraries = 0;
    std::size_t textFiles = 0;
};

// Builds the archive; throws cxvm::Error (naming the folder or file at fault, with the
// compiler's output for a failed build) and then leaves no output file behind.
RootfsSummary buildRootfs(const RootfsOptions& options);

}  // namespace cxvm::boot
