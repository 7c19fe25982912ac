#pragma once
// Collects diagnostics while a spec is loaded, so that one run reports many problems.
#include "adl/Frontend.h"

#include <string>
#include <vector>

namespace cxvm::adl {

class DiagnosticSink {
public:
    // After this many errors the rest are dropped (with one final note saying so).
    static constexpr std::size_t kMaxErrors = 100;

    void error(const SourceLoc& loc, std::string message) { add(Diagnostic::Severity::Error, loc, std::move(message)); }
    void warning(const SourceLoc& loc, std::string message) { add(Diagnostic::Severity::Warning, loc, std::move(message)); }
    // A note belongs to the diagnostic before it (or stands alone, e.g. "ids assigned").
    void note(const SourceLoc& loc, std::string message) { add(Diagnostic::Severity::Note, loc, std::move(message)); }

    [[nodiscard]] std::size_t errorCount() const { return errors_; }
    [[nodiscard]] bool tooMany() const { return errors_ >= kMaxErrors; }
    [[nodiscard]] const std::vector<Diagnostic>& all() const { return diags_; }
    std::vector<Diagnostic> take() { return std::move(diags_); }

private:
    void add(Diagnostic::Severity sev, const SourceLoc& loc, std::string message) {
        if (tooMany()) {
            droppedLast_ = true;
            return;
        }
        if (sev == Diagnostic::Severity::Note && droppedLast_) return;
        droppedLast_ = false;
        if (sev == Diagnostic::Severity::Error && ++errors_ == kMaxErrors) {
            diags_.push_back({sev, loc, std::move(message)});
            diags_.push_back({Diagnostic::Severity::Note, loc, "too many errors; stopping here"});
            return;
        }
        diags_.push_back({sev, loc, std::move(message)});
    }

    std::vector<Diagnostic> diags_;
    std::size_t errors_ = 0;
    bool droppedLast_ = false;
};

}  // namespace cxvm::adl
