#pragma once
// Helpers for the ADL tests: load spec text or files, find diagnostics.
#include "adl/Frontend.h"
#include "adl/Loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace cxvm::adl::test {

inline std::filesystem::path sourceDir() { return CXVM_SOURCE_DIR; }
inline std::filesystem::path specDir() { return sourceDir() / "tests/adl/specs"; }

// Parses `text` as the file "t.camkes" without the preprocessor (imports still work).
inline LoadResult loadText(std::string_view text) { return loadSpecText(text, "t.camkes", {}, false); }

inline std::string allDiagnostics(const LoadResult& r) {
    std::string s;
    for (const auto& d : r.diagnostics) s += formatDiagnostic(d);
    return s;
}

inline std::size_t count(const LoadResult& r, Diagnostic::Severity sev) {
    std::size_t n = 0;
    for (const auto& d : r.diagnostics) n += d.severity == sev;
    return n;
}

// Asserts that a diagnostic of `sev` whose message contains `text` is at line:col.
inline void expectDiag(const LoadResult& r, Diagnostic::Severity sev, std::string_view text, int line, int col) {
    for (const auto& d : r.diagnostics) {
        if (d.severity == sev && d.message.find(text) != std::string::npos) {
            EXPECT_EQ(d.loc.line, line) << d.message;
            EXPECT_EQ(d.loc.col, col) << d.message;
            return;
        }
    }
    ADD_FAILURE() << "no diagnostic containing '" << text << "' among:\n" << allDiagnostics(r);
}

inline void expectError(const LoadResult& r, std::string_view text, int line, int col) {
    EXPECT_FALSE(r.ok());
    expectDiag(r, Diagnostic::Severity::Error, text, line, col);
}

inline void expectClean(const LoadResult& r) {
    EXPECT_TRUE(r.ok()) << allDiagnostics(r);
    EXPECT_TRUE(r.diagnostics.empty()) << allDiagnostics(r);
}

// A scratch directory removed at the end of the test.
class TempDir {
public:
    TempDir() {
        auto base = std::filesystem::temp_directory_path() /
                    ("cxvm-adl-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::create_directories(base);
        path_ = base;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    std::filesystem::path write(const std::string& name, std::string_view text) const {
        auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p;
    }

private:
    static int& counter() {
        static int c = 0;
        return c;
    }
    std::filesystem::path path_;
};

}  // namespace cxvm::adl::test
