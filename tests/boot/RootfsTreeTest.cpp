#include "boot/rootfs/BusyboxBase.h"
#include "boot/rootfs/GuestKit.h"
#include "boot/rootfs/RootfsTree.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace cxvm;
using namespace cxvm::boot;

namespace {

std::string str(const std::vector<std::uint8_t>& v) {
    return {v.begin(), v.end()};
}

}  // namespace

TEST(RootfsTree, NormalizesPathsAndRejectsEscapes) {
    EXPECT_EQ(RootfsTree::normalize("/etc/passwd"), "etc/passwd");
    EXPECT_EQ(RootfsTree::normalize("./a//b/./c/"), "a/b/c");
    EXPECT_THROW(RootfsTree::normalize("../etc"), Error);
    EXPECT_THROW(RootfsTree::normalize("a/../../b"), Error);
    EXPECT_THROW(RootfsTree::normalize("/"), Error);
}

TEST(RootfsTree, CreatesParentsAndWritesSortedRootOwnedEntries) {
    RootfsTree t;
    t.addFile("/usr/bin/hello", std::string_view("x"), 0755);
    t.addSymlink("bin/sh", "busybox");
    t.addFile("a-b", std::string_view("y"));
    const auto entries = readCpio(t.toCpio(1234));
    std::vector<std::string> names;
    for (const auto& e : entries) {
        names.push_back(e.name);
        EXPECT_EQ(e.uid, 0u);
        EXPECT_EQ(e.gid, 0u);
        EXPECT_EQ(e.mtime, 1234u);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"a-b", "bin", "bin/sh", "usr", "usr/bin",
                                               "usr/bin/hello"}));
    EXPECT_EQ(entries[1].type(), CpioFileType::Directory);
}

TEST(RootfsTree, SameContentInAnyOrderGivesTheSameBytes) {
    RootfsTree a, b;
    a.addFile("etc/x", std::string_view("1"));
    a.addDirectory("opt");
    a.addDevice("dev/null", CpioFileType::CharDevice, 1, 3, 0666);
    b.addDevice("dev/null", CpioFileType::CharDevice, 1, 3, 0666);
    b.addDirectory("opt");
    b.addFile("/etc/x", std::string_view("1"));
    EXPECT_EQ(a.toCpio(0), b.toCpio(0));
}

TEST(RootfsTree, LaterEntriesReplaceEarlierOnes) {
    RootfsTree t;
    t.addDirectory("init");
    t.addFile("init/inside", std::string_view("gone"));
    t.addFile("init", std::string_view("#!/bin/sh\n"), 0755);
    EXPECT_FALSE(t.contains("init/inside"));
    EXPECT_EQ(t.find("init")->type(), CpioFileType::Regular);
    EXPECT_THROW(t.addFile("init/x", std::string_view("")), Error);  // init is a file now
}

TEST(RootfsTree, HostTreeModesDoNotDependOnUmask) {
    namespace fs = std::filesystem;
    const auto dir = fs::temp_directory_path() / ("cxvm-tree-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "sub");
    std::ofstream(dir / "sub/tool") << "t";
    std::ofstream(dir / "note") << "n";
    fs::permissions(dir / "sub/tool", fs::perms::owner_all);
    fs::permissions(dir / "note", fs::perms::owner_read | fs::perms::owner_write);
    fs::create_symlink("note", dir / "link");
    RootfsTree t;
    t.addHostTree(dir, "opt");
    for (const char* p : {"opt/sub/tool", "opt/note", "opt/link"}) ASSERT_TRUE(t.contains(p)) << p;
    EXPECT_EQ(t.find("opt/sub/tool")->permissions(), 0755u);
    EXPECT_EQ(t.find("opt/note")->permissions(), 0644u);
    EXPECT_EQ(t.find("opt/link")->symlinkTarget(), "note");
    fs::remove_all(dir);
}

TEST(BusyboxBase, HasLoginBannerInitAndDevices) {
    const std::vector<std::uint8_t> fakeBusybox = {0x7F, 'E', 'L', 'F'};
    RootfsTree t;
    addBusyboxBase(t, fakeBusybox);
    EXPECT_EQ(t.find("bin/busybox")->data, fakeBusybox);
    EXPECT_EQ(t.find("bin/busybox")->permissions(), 0755u);
    EXPECT_NE(str(t.find("etc/issue")->data).find("Welcome to cxvm"), std::string::npos);
    EXPECT_NE(str(t.find("etc/inittab")->data).find("ttyS0::respawn:/sbin/getty"),
              std::string::npos);
    EXPECT_EQ(str(t.find("etc/passwd")->data).rfind("root:x:0:0:", 0), 0u);
    EXPECT_EQ(str(t.find("etc/shadow")->data).rfind("root:$1$", 0), 0u);
    EXPECT_EQ(t.find("etc/shadow")->permissions(), 0600u);
    EXPECT_EQ(str(t.find("etc/hostname")->data), "cxvm\n");
    EXPECT_EQ(t.find("init")->symlinkTarget(), "bin/busybox");
    EXPECT_EQ(t.find("sbin/getty")->symlinkTarget(), "../bin/busybox");
    EXPECT_EQ(t.find("dev/console")->rdevMajor, 5u);
    EXPECT_EQ(t.find("tmp")->permissions(), 01777u);
}

TEST(GuestKit, ReadsModuleVermagic) {
    std::string ko = std::string(
        "\x7f"
        "ELF....license=GPL\0vermagic=6.1.0-50-686 SMP preempt \0name=x",
        60);
    EXPECT_EQ(
        moduleVermagic(std::span(reinterpret_cast<const std::uint8_t*>(ko.data()), ko.size())),
        "6.1.0-50-686 SMP preempt ");
    std::string none = "no modinfo here";
    EXPECT_EQ(
        moduleVermagic(std::span(reinterpret_cast<const std::uint8_t*>(none.data()), none.size())),
        "");
}

TEST(GuestKit, MissingKitSaysHowToGetIt) {
    try {
        GuestKit::open("/nonexistent/kit");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("scripts/fetch-guest-kit"), std::string::npos);
    }
}
