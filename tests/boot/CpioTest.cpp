#include "boot/Cpio.h"
#include "util/Error.h"
#include "util/Subprocess.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace cxvm;
using namespace cxvm::boot;

namespace {

std::vector<CpioEntry> sampleEntries() {
    std::vector<CpioEntry> v;
    v.push_back(CpioEntry::directory("bin"));
    v.push_back(CpioEntry::file("bin/hello", std::string_view("#!/bin/sh\necho hi\n"), 0755));
    v.push_back(CpioEntry::file("empty", std::string_view(""), 0600));
    v.push_back(CpioEntry::symlink("bin/sh", "busybox"));
    v.push_back(CpioEntry::device("dev/console", CpioFileType::CharDevice, 5, 1));
    v.push_back(CpioEntry::device("dev/sda", CpioFileType::BlockDevice, 8, 0, 0660));
    v.push_back(CpioEntry::file(std::string(300, 'n'), std::string_view("long name"), 0644));
    // Names of every length mod 4 exercise the header+name padding.
    for (int len = 1; len <= 8; ++len)
        v.push_back(CpioEntry::file(std::string(static_cast<std::size_t>(len), 'a' + len),
                                    std::string(static_cast<std::size_t>(len) * 3, 'x')));
    for (std::size_t i = 0; i < v.size(); ++i) {
        v[i].ino = static_cast<std::uint32_t>(i + 1);
        v[i].mtime = 1700000000u + static_cast<std::uint32_t>(i);
        v[i].uid = static_cast<std::uint32_t>(i);
        v[i].gid = static_cast<std::uint32_t>(i * 2);
    }
    return v;
}

std::vector<std::uint8_t> write(const std::vector<CpioEntry>& entries) {
    CpioWriter w;
    for (const auto& e : entries) w.add(e);
    return w.finish();
}

void expectSame(const CpioEntry& a, const CpioEntry& b) {
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.mode, b.mode) << a.name;
    EXPECT_EQ(a.uid, b.uid) << a.name;
    EXPECT_EQ(a.gid, b.gid) << a.name;
    EXPECT_EQ(a.ino, b.ino) << a.name;
    EXPECT_EQ(a.nlink, b.nlink) << a.name;
    EXPECT_EQ(a.mtime, b.mtime) << a.name;
    EXPECT_EQ(a.rdevMajor, b.rdevMajor) << a.name;
    EXPECT_EQ(a.rdevMinor, b.rdevMinor) << a.name;
    EXPECT_EQ(a.data, b.data) << a.name;
}

std::string errorOf(std::span<const std::uint8_t> bytes) {
    try {
        readCpio(bytes);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::filesystem::path tempDir(const char* name) {
    auto d = std::filesystem::temp_directory_path() /
             (std::string("cxvm-cpio-") + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

}  // namespace

TEST(Cpio, RoundTripKeepsEveryField) {
    const auto entries = sampleEntries();
    const auto back = readCpio(write(entries));
    ASSERT_EQ(back.size(), entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) expectSame(entries[i], back[i]);
    EXPECT_EQ(back[3].type(), CpioFileType::Symlink);
    EXPECT_EQ(back[3].symlinkTarget(), "busybox");
    EXPECT_EQ(back[4].type(), CpioFileType::CharDevice);
    EXPECT_EQ(back[5].type(), CpioFileType::BlockDevice);
    EXPECT_TRUE(back[2].data.empty());
}

TEST(Cpio, LayoutIsFourByteAlignedWithTrailer) {
    const auto bytes = write(sampleEntries());
    EXPECT_EQ(bytes.size() % 4, 0u);
    const std::string s(bytes.begin(), bytes.end());
    EXPECT_EQ(s.substr(0, 6), "070701");
    EXPECT_NE(s.find("TRAILER!!!"), std::string::npos);
    // An empty archive is just the trailer.
    CpioWriter w;
    const auto empty = w.finish();
    EXPECT_TRUE(readCpio(empty).empty());
}

TEST(Cpio, GnuCpioListsWhatWeWrite) {
    const auto bytes = write(sampleEntries());
    ProcessResult r = runProcess({"cpio", "-t", "--quiet"},
                                 std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    ASSERT_EQ(r.exitStatus, 0) << r.err;
    EXPECT_NE(r.out.find("bin/hello\n"), std::string::npos);
    EXPECT_NE(r.out.find("dev/console\n"), std::string::npos);
    EXPECT_NE(r.out.find(std::string(300, 'n') + "\n"), std::string::npos);
}

TEST(Cpio, ReadsGnuCpioArchives) {
    const auto dir = tempDir("gnu");
    std::ofstream(dir / "file.txt") << "contents\n";
    std::ofstream(dir / "empty");
    std::filesystem::create_symlink("file.txt", dir / "link");
    std::filesystem::create_directory(dir / "sub");
    ProcessResult r = runProcess(
        {"sh", "-c", "cd '" + dir.string() + "' && printf 'file.txt\\nempty\\nlink\\nsub\\n' | cpio -o -H newc --quiet"});
    ASSERT_EQ(r.exitStatus, 0) << r.err;
    const auto entries = readCpio(std::span(reinterpret_cast<const std::uint8_t*>(r.out.data()), r.out.size()));
    ASSERT_EQ(entries.size(), 4u);
    EXPECT_EQ(entries[0].name, "file.txt");
    EXPECT_EQ(std::string(entries[0].data.begin(), entries[0].data.end()), "contents\n");
    EXPECT_TRUE(entries[1].data.empty());
    EXPECT_EQ(entries[2].type(), CpioFileType::Symlink);
    EXPECT_EQ(entries[2].symlinkTarget(), "file.txt");
    EXPECT_EQ(entries[3].type(), CpioFileType::Directory);
    std::filesystem::remove_all(dir);
}

TEST(Cpio, ZeroPaddingAndConcatenatedArchivesAreAccepted) {
    auto a = write({CpioEntry::file("a", std::string_view("1"))});
    const auto b = write({CpioEntry::file("b", std::string_view("22"))});
    a.insert(a.end(), 512, 0);  // block padding, as cpio -o writes
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), 100, 0);
    const auto entries = readCpio(a);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].name, "a");
    EXPECT_EQ(entries[1].name, "b");
}

TEST(Cpio, TrailingGarbageIsAnError) {
    auto a = write({CpioEntry::file("a", std::string_view("1"))});
    const auto size = a.size();
    a.insert(a.end(), {0, 0, 0, 0, 'j', 'u', 'n', 'k'});
    EXPECT_EQ(errorOf(a), "cpio: trailing garbage after TRAILER!!! at offset " + std::to_string(size + 4));
}

TEST(Cpio, EveryTruncationIsAnErrorNotACrash) {
    const auto bytes = write(sampleEntries());
    for (std::size_t len = 0; len < bytes.size(); ++len) {
        std::span<const std::uint8_t> cut(bytes.data(), len);
        EXPECT_THROW(readCpio(cut), Error) << "prefix of " << len << " bytes";
    }
    EXPECT_NE(errorOf(std::span(bytes.data(), 200)).find("truncated"), std::string::npos);
    EXPECT_NE(errorOf(std::span(bytes.data(), 0)).find("empty"), std::string::npos);
}

TEST(Cpio, MissingTrailerIsReported) {
    auto bytes = write({CpioEntry::file("a", std::string_view("1"))});
    bytes.resize(bytes.size() - 124);  // drop the trailer entry (110 + 11 name + pad)
    EXPECT_NE(errorOf(bytes).find("no TRAILER!!!"), std::string::npos) << errorOf(bytes);
}

TEST(Cpio, BadHeadersNameTheProblem) {
    auto bytes = write({CpioEntry::file("abc", std::string_view("x"))});
    auto badMagic = bytes;
    badMagic[5] = '7';
    EXPECT_NE(errorOf(badMagic).find("not a newc cpio archive"), std::string::npos);

    auto badHex = bytes;
    badHex[6 + 8 + 3] = 'G';  // inside the mode field
    EXPECT_NE(errorOf(badHex).find("field mode is not hex"), std::string::npos) << errorOf(badHex);

    auto noNul = bytes;
    noNul[110 + 3] = 'd';  // the name's NUL
    EXPECT_NE(errorOf(noNul).find("not NUL-terminated"), std::string::npos) << errorOf(noNul);

    auto zeroName = bytes;
    for (int i = 0; i < 8; ++i) zeroName[6 + 11 * 8 + i] = '0';
    EXPECT_NE(errorOf(zeroName).find("name size is 0"), std::string::npos);

    auto hugeFile = bytes;
    for (int i = 0; i < 8; ++i) hugeFile[6 + 6 * 8 + i] = 'F';
    EXPECT_NE(errorOf(hugeFile).find("data needs 4294967295 bytes"), std::string::npos)
        << errorOf(hugeFile);
}

TEST(Cpio, WriterRejectsBadNames) {
    CpioWriter w;
    EXPECT_THROW(w.add(CpioEntry::file("", std::string_view("x"))), Error);
    EXPECT_THROW(w.add(CpioEntry::file(std::string("a\0b", 3), std::string_view("x"))), Error);
    EXPECT_THROW(w.add(CpioEntry::file("TRAILER!!!", std::string_view("x"))), Error);
    EXPECT_THROW(CpioEntry::device("dev/x", CpioFileType::Regular, 1, 1), Error);
}

TEST(Cpio, FormatsModesLikeLs) {
    EXPECT_EQ(formatCpioMode(0040755), "drwxr-xr-x");
    EXPECT_EQ(formatCpioMode(0100644), "-rw-r--r--");
    EXPECT_EQ(formatCpioMode(0120777), "lrwxrwxrwx");
    EXPECT_EQ(formatCpioMode(0020600), "crw-------");
    EXPECT_EQ(formatCpioMode(0041777), "drwxrwxrwt");
    EXPECT_EQ(formatCpioMode(0104755), "-rwsr-xr-x");
}
