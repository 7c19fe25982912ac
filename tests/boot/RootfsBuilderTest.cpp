// build-rootfs end to end through the library: needs the guest kit (skipped without it).
#include "boot/Cpio.h"
#include "boot/rootfs/GuestKit.h"
#include "boot/rootfs/RootfsBuilder.h"
#include "util/Error.h"
#include "util/File.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace cxvm;
using namespace cxvm::boot;
namespace fs = std::filesystem;

namespace {

const fs::path kRepo = fs::path(CXVM_SOURCE_DIR).lexically_normal();

class RootfsBuilderTest : public ::testing::Test {
protected:
    void SetUp() override {
        kit_ = projectCacheDir(kRepo) / "kit";
        if (!fs::exists(kit_ / "env.mk")) GTEST_SKIP() << "no guest kit at " << kit_;
        dir_ = fs::temp_directory_path() /
               ("cxvm-rootfs-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "src");
        // Every test source gets the real common*.mk, as a user's guest folder would.
        for (const char* mk : {"common.mk", "common_app.mk", "common_lib.mk"})
            fs::copy_file(kRepo / "guest" / mk, dir_ / "src" / mk);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    void write(const fs::path& rel, std::string_view text) {
        fs::create_directories((dir_ / "src" / rel).parent_path());
        std::ofstream(dir_ / "src" / rel) << text;
    }
    RootfsOptions options() {
        RootfsOptions o;
        o.source = dir_ / "src";
        o.kit = kit_;
        o.output = dir_ / "out/rootfs.cpio";
        return o;
    }
    // The error buildRootfs throws, after checking it left no output behind.
    std::string failure(const RootfsOptions& o) {
        try {
            buildRootfs(o);
        } catch (const Error& e) {
            EXPECT_FALSE(fs::exists(o.output)) << "partial output left at " << o.output;
            EXPECT_FALSE(fs::exists(o.output.string() + ".work")) << "work folder left behind";
            return e.what();
        }
        ADD_FAILURE() << "no error";
        return {};
    }
    void addHello(std::string_view pkg = "hello") {
        write(fs::path("pkg") / pkg / "hello.c",
              "#include <stdio.h>\nint main(void) { printf(\"Hello, World!\\n\"); return 0; }\n");
        write(fs::path("pkg") / pkg / "Makefile",
              fmt::format("TARGET = {0}\n\ninclude ../../common.mk\ninclude ../../common_app.mk\n\n"
                          "{0}: hello.o\n\t$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@\n",
                          pkg));
    }
    fs::path kit_, dir_;
};

std::map<std::string, CpioEntry> byName(const fs::path& archive) {
    std::map<std::string, CpioEntry> m;
    for (auto& e : readCpio(readFile(archive))) m.emplace(e.name, std::move(e));
    return m;
}

}  // namespace

TEST_F(RootfsBuilderTest, DefaultGuestFolderBuildsReproducibly) {
    auto o = options();
    o.source = kRepo / "guest";
    const auto kit = GuestKit::open(kit_);
    const auto sum = buildRootfs(o);
    EXPECT_GE(sum.modules, 1u);
    EXPECT_GE(sum.programs, 1u);
    EXPECT_GE(sum.libraries, 1u);
    const auto first = readFile(o.output);
    // Same inputs, another output path: byte-identical.
    o.output = dir_ / "again/rootfs.cpio";
    buildRootfs(o);
    EXPECT_TRUE(readFile(o.output) == first) << "two builds of the same inputs differ";

    auto m = byName(o.output);
    ASSERT_TRUE(m.count("usr/bin/hello"));
    EXPECT_EQ(m["usr/bin/hello"].permissions(), 0755u);
    const auto& hello = m["usr/bin/hello"].data;
    ASSERT_GE(hello.size(), 20u);
    EXPECT_EQ(hello[4], 1) << "hello must be a 32-bit ELF";
    EXPECT_EQ(hello[18], 3) << "hello must be for i386 (e_machine 3)";
    const std::string ko =
        "lib/modules/" + kit.kernelVersion + "/kernel/drivers/vmm/hello_module.ko";
    ASSERT_TRUE(m.count(ko));
    EXPECT_EQ(moduleVermagic(m[ko].data), kit.vermagic);
    ASSERT_TRUE(m.count("init"));
    const std::string init(m["init"].data.begin(), m["init"].data.end());
    EXPECT_NE(init.find("insmod /lib/modules/" + kit.kernelVersion +
                        "/kernel/drivers/vmm/hello_module.ko"),
              std::string::npos);
    EXPECT_EQ(init.find("__LINUX_VERSION__"), std::string::npos);
    EXPECT_TRUE(m.count("etc/init.d/S90camkes_init"));
    EXPECT_TRUE(m.count("opt/README"));
    EXPECT_TRUE(m.count("usr/bin/hvinfo"));
    for (const auto& [name, e] : m) {
        EXPECT_EQ(e.uid, 0u) << name;
        EXPECT_EQ(e.mtime, 0u) << name;
    }
}

TEST_F(RootfsBuilderTest, UserBaseCpioIsTheStartingPoint) {
    CpioWriter w;
    w.add(CpioEntry::directory("etc"));
    w.add(CpioEntry::file("etc/motd", std::string_view("from the base\n")));
    // Two hard links to one file: newc carries the data with the last one only.
    auto link1 = CpioEntry::file("bin/tool", std::string_view(""), 0755);
    auto link2 = CpioEntry::file("bin/tool2", std::string_view("#!/bin/sh\n"), 0755);
    link1.ino = link2.ino = 77;
    link1.nlink = link2.nlink = 2;
    w.add(link1);
    w.add(link2);
    const auto base = w.finish();
    writeFileAtomic(dir_ / "base.cpio", base);
    write("text/notes.txt", "hi\n");
    auto o = options();
    o.base = dir_ / "base.cpio";
    buildRootfs(o);
    auto m = byName(o.output);
    EXPECT_TRUE(m.count("etc/motd"));
    EXPECT_EQ(std::string(m["bin/tool"].data.begin(), m["bin/tool"].data.end()), "#!/bin/sh\n");
    EXPECT_EQ(m["bin/tool"].nlink, 1u);
    EXPECT_NE(m["bin/tool"].ino, m["bin/tool2"].ino);
    EXPECT_TRUE(m.count("opt/notes.txt"));
    EXPECT_FALSE(m.count("bin/busybox")) << "the busybox base is only used without --base";
}

TEST_F(RootfsBuilderTest, PkgWithoutMakefile) {
    write("pkg/nomake/main.c", "int main(void) { return 0; }\n");
    const auto err = failure(options());
    EXPECT_NE(err.find("pkg/nomake: no Makefile"), std::string::npos) << err;
}

TEST_F(RootfsBuilderTest, FailingCompileShowsCompilerOutputAndFolder) {
    addHello("broken");
    write("pkg/broken/hello.c", "int main(void) { return undefined_thing; }\n");
    const auto err = failure(options());
    EXPECT_NE(err.find("pkg/broken: build failed in '" + (dir_ / "src/pkg/broken").string() + "'"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("undefined_thing"), std::string::npos) << err;
    EXPECT_EQ(err.find(".work/src"), std::string::npos)
        << "paths should name the user's folder, not the build copy: " << err;
}

TEST_F(RootfsBuilderTest, ModuleWithWrongVermagic) {
    // A "module" whose Makefile produces a .ko claiming another kernel.
    write("modules/alien/Makefile",
          "all:\n\tprintf 'license=GPL\\000vermagic=5.10.0-99-amd64 SMP mod_unload \\000' > "
          "alien.ko\n");
    const auto err = failure(options());
    EXPECT_NE(err.find("modules/alien: alien.ko has vermagic '5.10.0-99-amd64 SMP mod_unload '"),
              std::string::npos)
        << err;
}

TEST_F(RootfsBuilderTest, MissingOrCorruptBase) {
    auto o = options();
    o.base = dir_ / "missing.cpio";
    EXPECT_NE(failure(o).find("does not exist"), std::string::npos);
    std::ofstream(dir_ / "corrupt.cpio") << "070701 this is not a cpio header at all";
    o.base = dir_ / "corrupt.cpio";
    const auto err = failure(o);
    EXPECT_NE(err.find("base cpio '" + (dir_ / "corrupt.cpio").string() + "' is not usable: cpio:"),
              std::string::npos)
        << err;
}

TEST_F(RootfsBuilderTest, UnwritableOutput) {
    std::ofstream(dir_ / "afile") << "x";
    auto o = options();
    o.output = dir_ / "afile/rootfs.cpio";  // a file where a folder must be
    EXPECT_NE(failure(o).find("cannot write output"), std::string::npos);
    o.output = "/proc/cxvm/rootfs.cpio";
    EXPECT_NE(failure(o).find("cannot write output"), std::string::npos);
    o.output = dir_;  // a folder (which exists, so failure()'s no-output check does not apply)
    try {
        buildRootfs(o);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("is a folder"), std::string::npos) << e.what();
    }
}

TEST_F(RootfsBuilderTest, FailedBuildKeepsThePreviousImage) {
    auto o = options();
    write("text/a", "a\n");
    buildRootfs(o);
    const auto before = readFile(o.output);
    write("pkg/nomake/x.c", "");
    EXPECT_THROW(buildRootfs(o), Error);
    EXPECT_TRUE(readFile(o.output) == before) << "a failed build must not touch the old image";
}
