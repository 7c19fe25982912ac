// `cxvm build-rootfs`: the guest's rootfs.cpio from the guest folder and the guest kit
// (logic in boot/rootfs/RootfsBuilder).
#include "boot/rootfs/GuestKit.h"
#include "boot/rootfs/RootfsBuilder.h"
#include "cli/AdlCommon.h"
#include "cli/Command.h"
#include "system/CrossVmLayout.h"
#include "util/Error.h"
#include "vmm/GuestFiles.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace cxvm::cli {
namespace {

struct BuildRootfsArgs {
    std::string app, source, kit, output, base;
    std::uint32_t mtime = 0;
    unsigned jobs = 1;
};

CommandRegistration reg{
    "build-rootfs", [](CLI::App& app, int& exitCode) {
        auto* cmd = app.add_subcommand(
            "build-rootfs",
            "Build the guest's rootfs.cpio: busybox base (or --base), modules, /init from "
            "init_template, camkes_init, lib_src libraries, pkg programs, text/ -> /opt");
        const auto repo = std::filesystem::path(CXVM_SOURCE_DIR).lexically_normal();
        const auto cache = boot::projectCacheDir(repo);
        auto a = std::make_shared<BuildRootfsArgs>();
        a->source = (repo / "guest").string();
        a->kit = (cache / "kit").string();
        a->output = (cache / "guest" / "rootfs.cpio").string();
        if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e)
            a->mtime = static_cast<std::uint32_t>(std::strtoul(e, nullptr, 10));
        cmd->add_option("-s,--source", a->source,
                        "Guest folder: modules/, pkg/, lib_src/, text/, "
                        "init_template, camkes_init")
            ->capture_default_str();
        cmd->add_option("--kit", a->kit, "Guest kit folder (scripts/fetch-guest-kit)")
            ->capture_default_str();
        cmd->add_option("app", a->app,
                        "An app folder or .camkes spec: /etc/init.d/S90camkes_init is generated "
                        "from its VMs' cross-VM interfaces, and the image goes to "
                        "<cache>/apps/<app>/rootfs.cpio, where `cxvm run APP` finds it");
        auto* output =
            cmd->add_option("-o,--output", a->output, "The archive to write")->capture_default_str();
        cmd->add_option("--base", a->base, "Start from this newc cpio instead of the busybox base");
        cmd->add_option("--mtime", a->mtime,
                        "mtime of every entry (default: $SOURCE_DATE_EPOCH, else 0)")
            ->capture_default_str();
        cmd->add_option("-j,--jobs", a->jobs, "make -j for each folder")->capture_default_str();
        cmd->callback([a, &exitCode, output, repo] {
            const auto start = std::chrono::steady_clock::now();
            boot::RootfsOptions o;
            if (!a->app.empty()) {
                // The guest's cross-VM nodes come from the same spec data the VMM serves
                // (system::crossVmLayout), so their ids and sizes cannot disagree.
                SpecArgs spec;
                spec.spec = a->app;
                bool warnings = false;
                std::optional<adl::System> sys = loadAndReport(spec, warnings);
                if (!sys) {
                    exitCode = 1;
                    return;
                }
                const auto layouts = system::crossVmLayouts(*sys);
                o.camkesInit = system::camkesInitScript(layouts);
                std::filesystem::path appDir = a->app;
                if (!std::filesystem::is_directory(appDir)) appDir = appDir.parent_path();
                if (output->count() == 0) a->output = vmm::GuestFiles(repo).appRootfs(appDir).string();
                std::size_t nodes = 0;
                for (const auto& l : layouts) nodes += l.dataports.size() + l.emits.size() + l.consumes.size();
                std::fprintf(stderr, "build-rootfs: %s: camkes_init for %zu VM(s), %zu cross-VM node(s)\n",
                             a->app.c_str(), layouts.size(), nodes);
            }
            o.source = a->source;
            o.kit = a->kit;
            o.output = a->output;
            if (!a->base.empty()) o.base = a->base;
            o.mtime = a->mtime;
            o.jobs = a->jobs;
            o.progress = [](std::string_view line) {
                std::fprintf(stderr, "build-rootfs: %.*s\n", static_cast<int>(line.size()),
                             line.data());
            };
            const auto s = boot::buildRootfs(o);
            const double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::fprintf(
                stderr,
                "build-rootfs: wrote %s: %zu entries, %zu bytes (%zu modules, %zu programs, "
                "%zu libraries, %zu text files) in %.1f s\n",
                a->output.c_str(), s.entries, s.bytes, s.modules, s.programs, s.libraries,
                s.textFiles, secs);
            exitCode = 0;
        });
    }};

}  // namespace
}  // namespace cxvm::cli
