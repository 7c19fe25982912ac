#include "boot/rootfs/RootfsBuilder.h"

#include "boot/Cpio.h"
#include "boot/rootfs/BusyboxBase.h"
#include "boot/rootfs/GuestKit.h"
#include "boot/rootfs/RootfsTree.h"
#include "util/Error.h"
#include "util/File.h"
#include "util/Subprocess.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace cxvm::boot {
namespace fs = std::filesystem;
namespace {

// Where built modules go, as in the seed (init_template insmods them from there).
constexpr std::string_view kModuleSubdir = "kernel/drivers/vmm";

std::string text(const std::vector<std::uint8_t>& bytes) {
    return {bytes.begin(), bytes.end()};
}

// The sub-folders of `dir`, sorted, or none when it does not exist.
std::vector<fs::path> subfolders(const fs::path& dir) {
    std::vector<fs::path> out;
    if (!fs::is_directory(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_directory() && e.path().filename().string()[0] != '.') out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// One folder being built: make runs in a copy under the work folder, so the source tree
// stays clean and the build paths (which end up in debug info) are the same every run.
class FolderBuild {
public:
    FolderBuild(const RootfsOptions& o, const GuestKit& kit, fs::path work)
        : o_(o), kit_(kit), work_(std::move(work)) {}

    // Runs `make [target] VAR=...` in `dir`; `label` names the folder for errors
    // (e.g. "pkg/hello").
    void make(const fs::path& dir, std::string_view label, std::vector<std::string> extra = {}) {
        if (!fs::exists(dir / "Makefile") && !fs::exists(dir / "makefile") &&
            !fs::exists(dir / "GNUmakefile"))
            throw Error::format("{}: no Makefile in '{}'", label, (o_.source / label).string());
        // PWD is passed as a variable: the seed's module Makefiles use M=$(PWD), and make
        // -C does not change the environment's PWD.
        std::vector<std::string> argv = {
            "make", "-s", fmt::format("-j{}", std::max(1u, o_.jobs)), "-C", dir.string(),
            "PWD=" + dir.string(), "KHEAD=" + fs::absolute(kit_.headers()).string(),
            "CXVM_KIT=" + fs::absolute(kit_.dir).string(),
            "CXVM_GUEST_SYSROOT=" + (work_ / "sysroot").string(),
            "DESTDIR=" + (work_ / "stage").string(), "LINUX_VERSION=" + kit_.kernelVersion,
            // Debug info names the build folder: map it to a fixed name so the image does
            // not depend on where it was built (KCFLAGS for kbuild, common.mk for the rest).
            "KCFLAGS=" + kcflags(), "CXVM_PREFIX_MAP=" + prefixMap()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        ProcessResult r = runProcess(argv);
        if (r.exitStatus != 0) {
            std::string out = r.out + r.err;
            // Build paths point into the work copy; show the user's source folder.
            const std::string from = (work_ / "src").string(), to = o_.source.string();
            for (auto p = out.find(from); p != std::string::npos; p = out.find(from, p + to.size()))
                out.replace(p, from.size(), to);
            while (!out.empty() && out.back() == '\n') out.pop_back();
            throw Error::format("{}: build failed in '{}' (make{}{} exited with {}):\n{}", label,
                                (o_.source / label).string(), extra.empty() ? "" : " ",
                                extra.empty() ? "" : extra.front(), r.exitStatus, out);
        }
    }

    // A module Makefile's kbuild run once more with MODULE_LICENSE("unspecified")
    // forced into its objects: what a module without a license declaration meant before
    // Linux 5.x's modpost made that an error (the tutorial's poke.c has none). The kernel
    // then loads it tainted, exactly as the tutorial's kernel did.
    void makeWithUnspecifiedLicense(const fs::path& dir, std::string_view label) {
        const fs::path header = work_ / "cxvm_license_unspecified.h";
        if (!fs::exists(header)) {
            constexpr std::string_view kText =
                "/* cxvm build-rootfs: the module declares no license */\n"
                "#include <linux/module.h>\nMODULE_LICENSE(\"unspecified\");\n";
            writeFileAtomic(header, {reinterpret_cast<const std::uint8_t*>(kText.data()), kText.size()},
                            0644);
        }
        make(dir, label, {"KCFLAGS=" + kcflags() + " -include " + header.string()});
    }

private:
    // kbuild compiles from the kernel tree, so a module's relative -I flags (the seed's
    // `-I../../include`) do not reach guest/include: every module gets it here, so
    // `#include <cxvm/hypercall.h>` works in any of them.
    [[nodiscard]] std::string kcflags() const {
        return prefixMap() + " -I" + (work_ / "src" / "include").string();
    }
    [[nodiscard]] std::string prefixMap() const {
        return "-ffile-prefix-map=" + (work_ / "src").string() + "=guest";
    }
    const RootfsOptions& o_;
    const GuestKit& kit_;
    fs::path work_;
};

// Removes the work folder however the build ends.
struct WorkFolder {
    fs::path path;
    explicit WorkFolder(fs::path p) : path(std::move(p)) {
        std::error_code ec;
        fs::remove_all(path, ec);
        fs::create_directories(path, ec);
        if (ec)
            throw Error::format("cannot create the build folder '{}': {}", path.string(),
                                ec.message());
    }
    ~WorkFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    WorkFolder(const WorkFolder&) = delete;
    WorkFolder& operator=(const WorkFolder&) = delete;
};

void checkOutputWritable(const fs::path& output) {
    if (output.empty()) throw Error("no output path given");
    if (fs::is_directory(output))
        throw Error::format("output '{}' is a folder, not a file path", output.string());
    fs::path parent = fs::absolute(output).parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec || !fs::is_directory(parent))
        throw Error::format("cannot write output '{}': cannot create folder '{}'{}",
                            output.string(), parent.string(), ec ? ": " + ec.message() : "");
    if (::access(parent.c_str(), W_OK) != 0)
        throwErrno(
            fmt::format("cannot write output '{}': folder '{}'", output.string(), parent.string()));
    // The archive replaces `output` by rename, so only the folder needs to be writable.
}

void loadBase(RootfsTree& tree, const RootfsOptions& o, const GuestKit& kit) {
    if (!o.base) {
        addBusyboxBase(tree, readFile(kit.busybox()));
        return;
    }
    if (!fs::exists(*o.base))
        throw Error::format("base cpio '{}' does not exist", o.base->string());
    std::vector<CpioEntry> entries;
    try {
        entries = readCpio(readFile(*o.base));
    } catch (const Error& e) {
        throw e.withContext(fmt::format("base cpio '{}' is not usable", o.base->string()));
    }
    // newc stores a hard-linked file's data once, with its last link (buffer-format.rst):
    // give every link the data, so each is a plain file in the rebuilt archive.
    std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>, const CpioEntry*> linked;
    auto key = [](const CpioEntry& e) { return std::tuple(e.ino, e.devMajor, e.devMinor); };
    for (const auto& e : entries)
        if (e.type() == CpioFileType::Regular && e.nlink > 1 && !e.data.empty())
            linked[key(e)] = &e;
    for (auto& e : entries) {
        if (e.type() == CpioFileType::Regular && e.nlink > 1 && e.data.empty())
            if (auto it = linked.find(key(e)); it != linked.end()) e.data = it->second->data;
    }
    for (auto& e : entries) tree.add(std::move(e));
}

}  // namespace

RootfsSummary buildRootfs(const RootfsOptions& o) {
    auto progress = [&o](std::string_view s) {
        if (o.progress) o.progress(s);
    };
    if (!fs::is_directory(o.source))
        throw Error::format("guest source folder '{}' does not exist", o.source.string());
    checkOutputWritable(o.output);
    const GuestKit kit = GuestKit::open(o.kit);
    RootfsSummary sum;

    // 1-2. The kernel build tree is the kit's; the base is busybox or the user's cpio.
    RootfsTree tree;
    progress(o.base ? fmt::format("base: {}", o.base->string()) : "base: busybox");
    loadBase(tree, o, kit);

    // Work in a copy of the source folder next to the output.
    WorkFolder work(fs::path(fs::absolute(o.output).string() + ".work"));
    const fs::path src = work.path / "src";
    fs::copy(o.source, src, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::create_directories(work.path / "sysroot/lib");
    fs::create_directories(work.path / "sysroot/include");
    fs::create_directories(work.path / "stage");
    FolderBuild build(o, kit, work.path);

    // 3. Kernel modules, built against the kit's headers; vermagic must match exactly.
    const std::string moduleDir =
        fmt::format("lib/modules/{}/{}", kit.kernelVersion, kModuleSubdir);
    for (const auto& dir : subfolders(src / "modules")) {
        const std::string label = "modules/" + dir.filename().string();
        progress(fmt::format("module {}", label));
        try {
            build.make(dir, label);
        } catch (const Error& e) {
            if (std::string_view(e.what()).find("missing MODULE_LICENSE()") == std::string_view::npos)
                throw;
            progress(fmt::format("{}: declares no MODULE_LICENSE, which Linux 6.1's modpost "
                                 "requires; building it as license \"unspecified\" (the kernel "
                                 "loads it tainted, as older kernels did)",
                                 label));
            build.makeWithUnspecifiedLicense(dir, label);
        }
        std::vector<fs::path> kos;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".ko") kos.push_back(e.path());
        std::sort(kos.begin(), kos.end());
        if (kos.empty()) throw Error::format("{}: make succeeded but built no .ko file", label);
        for (const auto& ko : kos) {
            auto bytes = readFile(ko);
            const std::string vm = moduleVermagic(bytes);
            if (vm != kit.vermagic)
                throw Error::format("{}: {} has vermagic '{}' but the kernel needs '{}'", label,
                                    ko.filename().string(), vm, kit.vermagic);
            tree.addFile(moduleDir + "/" + ko.filename().string(), bytes, 0644);
            ++sum.modules;
        }
    }

    // 4-5. /init from the template, the camkes hook into init.d.
    if (fs::exists(src / "init_template")) {
        std::string init = text(readFile(src / "init_template"));
        constexpr std::string_view key = "__LINUX_VERSION__";
        for (auto p = init.find(key); p != std::string::npos; p = init.find(key, p))
            init.replace(p, key.size(), kit.kernelVersion);
        tree.addFile("init", init, 0755);
        progress("init: /init from init_template");
    }
    if (o.camkesInit) {
        tree.addFile("etc/init.d/S90camkes_init", std::string_view(*o.camkesInit), 0755);
        progress("camkes_init (generated from the app's spec): /etc/init.d/S90camkes_init");
    } else if (fs::exists(src / "camkes_init")) {
        tree.addFile("etc/init.d/S90camkes_init", readFile(src / "camkes_init"), 0755);
        progress("camkes_init: /etc/init.d/S90camkes_init");
    }

    // 6. Libraries first, installed into the work sysroot that common.mk points at.
    for (const auto& dir : subfolders(src / "lib_src")) {
        const std::string label = "lib_src/" + dir.filename().string();
        progress(fmt::format("library {}", label));
        build.make(dir, label);
        build.make(dir, label, {"install"});
        ++sum.libraries;
    }

    // 7. Programs, static i686, installed by common_app.mk into the stage's /usr/bin.
    for (const auto& dir : subfolders(src / "pkg")) {
        const std::string label = "pkg/" + dir.filename().string();
        progress(fmt::format("program {}", label));
        build.make(dir, label);
        build.make(dir, label, {"install"});
        ++sum.programs;
    }
    tree.addHostTree(work.path / "stage", "");

    // 8. Text files to /opt.
    if (fs::is_directory(src / "text")) {
        for (const auto& e : fs::recursive_directory_iterator(src / "text"))
            if (e.is_regular_file()) ++sum.textFiles;
        tree.addHostTree(src / "text", "opt");
        progress(fmt::format("text: {} file(s) to /opt", sum.textFiles));
    }

    // 9. Sorted, root-owned, fixed mtime; temp file + rename.
    const auto archive = tree.toCpio(o.mtime);
    writeFileAtomic(o.output, archive, 0644);
    sum.entries = tree.size();
    sum.bytes = archive.size();
    return sum;
}

}  // namespace cxvm::boot
