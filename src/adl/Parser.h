#pragma once
// Recursive-descent parser for the CAmkES ADL (after preprocessing). Syntax errors are
// reported and the parser resynchronises at the next `;` or `}`, so one run reports
// several. Nesting depth is bounded (kMaxDepth) so hostile input cannot exhaust the stack.
#include "adl/Ast.h"
#include "adl/Diagnostics.h"
#include "adl/Lexer.h"

#include <string>
#include <vector>

namespace cxvm::adl {

struct ImportRequest {
    std::string path;
    bool angled = false;  // `import <std>;` vs `import "file.camkes";`
    SourceLoc loc;
};

inline constexpr int kMaxDepth = 64;

// Adds the declarations in `tokens` to `spec`; returns the file's imports in order.
std::vector<ImportRequest> parse(const std::vector<Token>& tokens, ast::Spec& spec,
                                 DiagnosticSink& diags);

}  // namespace cxvm::adl
