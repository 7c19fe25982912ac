#include "adl/Frontend.h"

#include "adl/Lexer.h"
#include "adl/Loader.h"
#include "adl/Parser.h"
#include "adl/Resolver.h"
#include "adl/SourceCache.h"
#include "util/Error.h"
#include "util/Subprocess.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

namespace cxvm::adl {
namespace fs = std::filesystem;

#ifndef CXVM_INCLUDE_DIR
#define CXVM_INCLUDE_DIR "include"
#endif

fs::path cxvmIncludeDir() {
    if (const char* env = std::getenv("CXVM_INCLUDE_DIR"); env && *env) return env;
    return CXVM_INCLUDE_DIR;
}

namespace {

class Loader {
public:
    Loader(const LoadOptions& options, bool preprocess, DiagnosticSink& d)
        : options_(options), preprocess_(preprocess), d_(d) {
        for (const auto& dir : options.includeDirs) includeDirs_.push_back(dir);
        includeDirs_.push_back(cxvmIncludeDir());
    }

    // The spec's own folder comes first so an app's headers and imports are found.
    void addSpecDir(const fs::path& dir) { includeDirs_.insert(includeDirs_.begin(), dir.empty() ? "." : dir); }

    void loadFile(const fs::path& path, const std::string& display, const SourceLoc& from, int depth) {
        std::error_code ec;
        fs::path canon = fs::weakly_canonical(path, ec);
        if (ec) canon = path;
        if (!loaded_.insert(canon.string()).second) return;  // each file once, like CAmkES
        if (depth > kMaxImportDepth) {
            d_.error(from, fmt::format("imports nested deeper than {}", kMaxImportDepth));
            return;
        }
        std::string text;
        if (preprocess_) {
            auto r = preprocess(path, display, from);
            if (!r) return;
            text = std::move(*r);
        } else {
            try {
                text = readFileText(path.string(), kMaxSpecBytes);
            } catch (const Error& e) {
                d_.error(from, e.what());
                return;
            }
        }
        loadText(text, display, depth);
    }

    void loadText(std::string_view text, const std::string& display, int depth) {
        if (text.size() > kMaxSpecBytes) {
            d_.error({display, 1, 1}, fmt::format("spec larger than {} bytes", kMaxSpecBytes));
            return;
        }
        if (!preprocess_) cache_.add(display, text);
        auto tokens = lex(text, display, cache_, d_);
        auto imports = parse(tokens, spec_, d_);
        for (const auto& imp : imports) {
            if (d_.tooMany()) return;
            if (!preprocess_ && (fs::path(imp.path).is_absolute() || imp.path.find("..") != std::string::npos)) {
                // Unpreprocessed input comes from tests and the fuzzer: keep it in its tree.
                d_.error(imp.loc, fmt::format("import path '{}' leaves the include directories", imp.path));
                continue;
            }
            auto found = findImport(imp);
            if (!found) {
                d_.error(imp.loc, fmt::format("cannot find import {}{}{}", imp.angled ? '<' : '"', imp.path,
                                              imp.angled ? '>' : '"'));
                continue;
            }
            loadFile(*found, found->string(), imp.loc, depth + 1);
        }
    }

    ast::Spec& spec() { return spec_; }
    std::vector<std::string> defines;

private:
    std::optional<fs::path> findImport(const ImportRequest& imp) const {
        std::vector<fs::path> dirs;
        if (!imp.angled) dirs.push_back(fs::path(imp.loc.file).parent_path());
        for (const auto& d : includeDirs_) dirs.push_back(d);
        for (const auto& dir : dirs) {
            for (const std::string& name : {imp.path, imp.path + ".camkes"}) {
                fs::path p = dir.empty() ? fs::path(name) : dir / name;
                std::error_code ec;
                if (fs::is_regular_file(p, ec)) return p.lexically_normal();
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> preprocess(const fs::path& path, const std::string& display, const SourceLoc& from) {
        std::error_code ec;
        auto size = fs::file_size(path, ec);
        if (ec) {
            d_.error(from.file.empty() ? SourceLoc{display, 0, 0} : from, fmt::format("{}: cannot read: {}", display, ec.message()));
            return std::nullopt;
        }
        if (size > kMaxSpecBytes) {
            d_.error({display, 0, 0}, fmt::format("file larger than {} bytes", kMaxSpecBytes));
            return std::nullopt;
        }
        // As CAmkES: the C preprocessor over the spec. -std=c11 keeps `linux` & co. from
        // being predefined; -nostdinc keeps host headers out.
        std::vector<std::string> argv = {"cpp", "-x", "c", "-std=c11", "-nostdinc", "-undef"};
        for (const auto& d : includeDirs_) argv.push_back("-I" + d.string());
        for (const auto& d : defines) argv.push_back("-D" + d);
        for (const auto& d : options_.defines) argv.push_back("-D" + d);
        argv.push_back(display);
        ProcessResult r;
        try {
            r = runProcess(argv, {}, kMaxSpecBytes * 4);
        } catch (const Error& e) {
            d_.error({display, 0, 0}, fmt::format("preprocessing failed: {}", e.what()));
            return std::nullopt;
        }
        if (r.exitStatus != 0) {
            reportCppErrors(r.err, display);
            return std::nullopt;
        }
        return std::move(r.out);
    }

    // cpp says "file:line:col: error: message"; turn each into a diagnostic.
    void reportCppErrors(const std::string& err, const std::string& display) {
        bool any = false;
        for (const auto& line : splitLines(err)) {
            auto e = line.find(": error: ");
            auto w = line.find(": warning: ");
            auto at = e != std::string::npos ? e : w;
            if (at == std::string::npos) continue;
            SourceLoc loc;
            std::string where = line.substr(0, at);
            // file:line:col (file may itself hold ':' only in exotic paths)
            auto c2 = where.rfind(':');
            auto c1 = c2 == std::string::npos ? c2 : where.rfind(':', c2 - 1);
            if (c1 != std::string::npos) {
                loc.file = where.substr(0, c1);
                loc.line = std::atoi(where.substr(c1 + 1, c2 - c1 - 1).c_str());
                loc.col = std::atoi(where.substr(c2 + 1).c_str());
            } else {
                loc.file = where;
            }
            std::string msg = line.substr(at + (e != std::string::npos ? 9 : 11));
            if (e != std::string::npos) {
                d_.error(loc, "preprocessor: " + msg);
                any = true;
            } else {
                d_.warning(loc, "preprocessor: " + msg);
            }
        }
        if (!any) d_.error({display, 0, 0}, "preprocessing failed: " + err.substr(0, 500));
    }

    const LoadOptions& options_;
    bool preprocess_;
    DiagnosticSink& d_;
    std::vector<fs::path> includeDirs_;
    std::set<std::string> loaded_;
    SourceCache cache_;
    ast::Spec spec_;
};

LoadResult finish(Loader& loader, DiagnosticSink& d) {
    LoadResult result;
    if (d.errorCount() == 0) {
        auto sys = resolve(loader.spec(), d);
        if (d.errorCount() == 0) result.system = std::move(sys);
    }
    result.diagnostics = d.take();
    return result;
}

}  // namespace

LoadResult loadSpec(const fs::path& spec, const LoadOptions& options) {
    DiagnosticSink d;
    Loader loader(options, true, d);
    fs::path dir = spec.parent_path();
    loader.addSpecDir(dir);
    // The app's configuration header (KERNEL_IMAGE, ROOTFS, VM_GUEST_CMDLINE):
    // <app>/configurations/<app>.h, included by <configurations/vm.h>.
    std::error_code ec;
    fs::path absDir = fs::absolute(dir.empty() ? fs::path(".") : dir, ec).lexically_normal();
    std::string app = absDir.filename().string();
    if (app.empty()) app = absDir.parent_path().filename().string();
    if (!app.empty() && fs::is_regular_file(absDir / "configurations" / (app + ".h"), ec))
        loader.defines.push_back(fmt::format("CXVM_APP_CONFIG_HEADER=<configurations/{}.h>", app));
    if (!fs::is_regular_file(spec, ec)) {
        d.error({spec.string(), 0, 0}, "no such spec file");
    } else {
        loader.loadFile(spec, spec.string(), {}, 0);
    }
    return finish(loader, d);
}

LoadResult loadSpecText(std::string_view text, const std::string& name, const LoadOptions& options, bool preprocess) {
    DiagnosticSink d;
    Loader loader(options, preprocess, d);
    loader.addSpecDir(fs::path(name).parent_path());
    loader.loadText(text, name, 0);
    return finish(loader, d);
}

fs::path findAppSpec(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error::format("{}: not a directory", dir.string());
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() != ".camkes" || !e.is_regular_file()) continue;
        std::string text;
        try {
            text = readFileText(e.path().string(), kMaxSpecBytes);
        } catch (const Error&) {
            continue;
        }
        // A top-level spec has an `assembly` (as a word, outside comments is close enough).
        for (std::size_t p = text.find("assembly"); p != std::string::npos; p = text.find("assembly", p + 1)) {
            bool before = p == 0 || !(std::isalnum(static_cast<unsigned char>(text[p - 1])) || text[p - 1] == '_');
            std::size_t q = p + 8;
            bool after = q >= text.size() || !(std::isalnum(static_cast<unsigned char>(text[q])) || text[q] == '_');
            if (before && after) {
                found.push_back(e.path());
                break;
            }
        }
    }
    if (found.empty()) throw Error::format("{}: no .camkes file with an assembly", dir.string());
    if (found.size() > 1) {
        std::sort(found.begin(), found.end());
        throw Error::format("{}: more than one .camkes file with an assembly ({}, {})", dir.string(),
                            found[0].filename().string(), found[1].filename().string());
    }
    return found.front();
}

std::string formatDiagnostic(const Diagnostic& d) {
    const char* sev = d.severity == Diagnostic::Severity::Error     ? "error"
                      : d.severity == Diagnostic::Severity::Warning ? "warning"
                                                                    : "note";
    std::string out;
    if (d.loc.file.empty()) out = fmt::format("{}: {}\n", sev, d.message);
    else if (d.loc.line <= 0) out = fmt::format("{}: {}: {}\n", d.loc.file, sev, d.message);
    else out = fmt::format("{}:{}:{}: {}: {}\n", d.loc.file, d.loc.line, d.loc.col, sev, d.message);
    if (d.loc.file.empty() || d.loc.line <= 0) return out;
    SourceCache cache;
    const std::string* line = cache.line(d.loc.file, d.loc.line);
    if (!line) return out;
    out += " " + *line + "\n ";
    // Keep tabs so the caret lines up under the source.
    for (int k = 0; k + 1 < d.loc.col && static_cast<std::size_t>(k) < line->size(); ++k)
        out += (*line)[static_cast<std::size_t>(k)] == '\t' ? '\t' : ' ';
    out += "^\n";
    return out;
}

}  // namespace cxvm::adl
