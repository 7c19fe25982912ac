#pragma once
// Tokens of preprocessed CAmkES text. Line markers (`# 12 "file.camkes"`) left by cpp
// set the location of what follows; columns are re-found in the original line so that
// diagnostics point at the source as written, not at cpp's output.
#include "adl/Diagnostics.h"
#include "adl/Model.h"
#include "adl/SourceCache.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::adl {

struct Token {
    enum class Kind : std::uint8_t { End, Ident, Int, String, Punct };
    Kind kind = Kind::End;
    std::string text;        // identifier / punctuation spelling; unescaped string contents
    std::uint64_t value = 0; // Int
    SourceLoc loc;
    bool firstOnLine = false;  // first token of its (original) line

    [[nodiscard]] bool is(std::string_view punct) const { return kind == Kind::Punct && text == punct; }
    [[nodiscard]] bool isWord(std::string_view w) const { return kind == Kind::Ident && text == w; }
};

// Tokenizes `text`, whose first line is line 1 of `file` until a line marker says
// otherwise. Bad characters and literals are reported and skipped. The result always
// ends with an End token.
std::vector<Token> lex(std::string_view text, const std::string& file, SourceCache& originals,
                       DiagnosticSink& diags);

}  // namespace cxvm::adl
