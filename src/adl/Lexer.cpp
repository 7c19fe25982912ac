#include "adl/Lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace cxvm::adl {
namespace {

bool isIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Longest first: the lexer takes the first match.
constexpr std::array<std::string_view, 28> kPunct = {
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "<-", "->", "(", ")", "{", "}",
    "[", "]", ";", ",", ".", ":", "=", "<", ">", "+", "-", "*", "/", "%"};
constexpr std::string_view kPunctSingle = "&|^~!?";

// Finds where a token of the preprocessed text sits in the original source line.
class ColumnFinder {
public:
    void startLine(const std::string* original) {
        orig_ = original;
        cursor_ = 0;
    }

    // `raw` is the token's spelling; `word` is true for identifiers and literals, which
    // may be searched for further along the line (after a macro expansion).
    int find(std::string_view raw, bool word, int fallback) {
        if (!orig_) return fallback;
        const std::string& o = *orig_;
        std::size_t pos = skipBlank(cursor_);
        if (o.compare(pos, raw.size(), raw) == 0) {
            cursor_ = pos + raw.size();
            return static_cast<int>(pos) + 1;
        }
        if (word) {
            for (std::size_t p = o.find(raw, pos); p != std::string::npos; p = o.find(raw, p + 1)) {
                bool before = p == 0 || !isIdentChar(o[p - 1]);
                bool after = p + raw.size() >= o.size() || !isIdentChar(o[p + raw.size()]);
                if (before && after) {
                    cursor_ = p + raw.size();
                    return static_cast<int>(p) + 1;
                }
            }
        }
        // Produced by a macro: point at the macro use.
        return static_cast<int>(std::min(pos, o.size())) + 1;
    }

private:
    std::size_t skipBlank(std::size_t p) const {
        const std::string& o = *orig_;
        while (p < o.size()) {
            if (o[p] == ' ' || o[p] == '\t') {
                ++p;
            } else if (o.compare(p, 2, "/*") == 0) {
                std::size_t e = o.find("*/", p + 2);
                p = e == std::string::npos ? o.size() : e + 2;
            } else {
                break;
            }
        }
        return p;
    }

    const std::string* orig_ = nullptr;
    std::size_t cursor_ = 0;
};

class Lexer {
public:
    Lexer(std::string_view text, const std::string& file, SourceCache& originals, DiagnosticSink& diags)
        : t_(text), file_(file), originals_(originals), diags_(diags) {
        cols_.startLine(originals_.line(file_, line_));
    }

    std::vector<Token> run() {
        std::vector<Token> out;
        while (true) {
            skipSpaceAndComments();
            if (p_ >= t_.size()) break;
            if (atLineStart_ && t_[p_] == '#') {
                directive();
                continue;
            }
            atLineStart_ = false;
            Token tok;
            std::size_t start = p_;
            int outCol = static_cast<int>(p_ - lineStart_) + 1;
            bool word = true;
            char c = t_[p_];
            if (isIdentStart(c)) {
                while (p_ < t_.size() && isIdentChar(t_[p_])) ++p_;
                tok.kind = Token::Kind::Ident;
                tok.text = std::string(t_.substr(start, p_ - start));
            } else if (std::isdigit(static_cast<unsigned char>(c))) {
                if (!number(tok)) continue;
            } else if (c == '"') {
                if (!string(tok)) continue;
            } else if (c == '\'') {
                if (!charLiteral(tok)) continue;
            } else {
                word = false;
                if (!punct(tok)) {
                    SourceLoc loc = here(outCol, t_.substr(start, 1), false);
                    diags_.error(loc, fmt::format("unexpected character '{}'", printable(c)));
                    ++p_;
                    continue;
                }
            }
            tok.loc = here(outCol, t_.substr(start, p_ - start), word);
            tok.firstOnLine = firstOnLine_;
            firstOnLine_ = false;
            out.push_back(std::move(tok));
        }
        Token end;
        end.loc = {file_, line_, static_cast<int>(p_ - lineStart_) + 1};
        out.push_back(std::move(end));
        return out;
    }

private:
    static std::string printable(char c) {
        unsigned char u = static_cast<unsigned char>(c);
        if (std::isprint(u)) return std::string(1, c);
        return fmt::format("\\x{:02x}", u);
    }

    SourceLoc here(int outCol, std::string_view raw, bool word) {
        return {file_, line_, cols_.find(raw, word, outCol)};
    }

    void newline() {
        ++p_;
        ++line_;
        lineStart_ = p_;
        atLineStart_ = true;
        firstOnLine_ = true;
        cols_.startLine(originals_.line(file_, line_));
    }

    void skipSpaceAndComments() {
        while (p_ < t_.size()) {
            char c = t_[p_];
            if (c == '\n') {
                newline();
            } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
                ++p_;
            } else if (c == '\\' && p_ + 1 < t_.size() && t_[p_ + 1] == '\n') {
                ++p_;
                newline();
                atLineStart_ = false;
            } else if (t_.compare(p_, 2, "//") == 0) {
                while (p_ < t_.size() && t_[p_] != '\n') ++p_;
            } else if (t_.compare(p_, 2, "/*") == 0) {
                SourceLoc loc{file_, line_, static_cast<int>(p_ - lineStart_) + 1};
                p_ += 2;
                while (p_ < t_.size() && t_.compare(p_, 2, "*/") != 0) {
                    if (t_[p_] == '\n') {
                        bool keep = atLineStart_;
                        newline();
                        atLineStart_ = keep;
                    } else {
                        ++p_;
                    }
                }
                if (p_ >= t_.size()) {
                    diags_.error(loc, "unterminated comment");
                } else {
                    p_ += 2;
                }
            } else {
                break;
            }
        }
    }

    // `# 12 "file" flags` (cpp line marker), `#line 12 "file"`, `#pragma ...`.
    void directive() {
        SourceLoc loc{file_, line_, static_cast<int>(p_ - lineStart_) + 1};
        std::size_t end = t_.find('\n', p_);
        if (end == std::string_view::npos) end = t_.size();
        std::string_view d = t_.substr(p_ + 1, end - p_ - 1);
        p_ = end;
        auto skipWs = [&](std::size_t i) {
            while (i < d.size() && (d[i] == ' ' || d[i] == '\t')) ++i;
            return i;
        };
        std::size_t i = skipWs(0);
        if (d.compare(i, 4, "line") == 0) i = skipWs(i + 4);
        if (i < d.size() && std::isdigit(static_cast<unsigned char>(d[i]))) {
            long n = 0;
            while (i < d.size() && std::isdigit(static_cast<unsigned char>(d[i])) && n < 100000000) n = n * 10 + (d[i++] - '0');
            i = skipWs(i);
            std::string file = file_;
            if (i < d.size() && d[i] == '"') {
                std::size_t close = i + 1;
                file.clear();
                while (close < d.size() && d[close] != '"') {
                    if (d[close] == '\\' && close + 1 < d.size()) ++close;
                    file += d[close++];
                }
            }
            // The line after the marker has number n.
            file_ = std::move(file);
            line_ = static_cast<int>(n) - 1;
            return;
        }
        if (d.compare(i, 6, "pragma") == 0 || d.compare(i, 5, "ident") == 0 || i == d.size()) return;
        diags_.error(loc, "unexpected preprocessor directive (the spec was not preprocessed?)");
    }

    bool number(Token& tok) {
        std::size_t start = p_;
        int outCol = static_cast<int>(p_ - lineStart_) + 1;
        while (p_ < t_.size() && (isIdentChar(t_[p_]) || t_[p_] == '.')) ++p_;
        std::string_view s = t_.substr(start, p_ - start);
        auto fail = [&](std::string msg) {
            diags_.error(here(outCol, s, true), std::move(msg));
            return false;
        };
        // Strip integer suffixes (u, l, ul, ll, ull in any case and order).
        std::size_t digitsEnd = s.size();
        while (digitsEnd > 0) {
            char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[digitsEnd - 1])));
            if (c == 'u' || c == 'l') --digitsEnd; else break;
        }
        std::string_view body = s.substr(0, digitsEnd);
        unsigned base = 10;
        if (body.size() > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
            base = 16;
            body.remove_prefix(2);
        } else if (body.size() > 1 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
            base = 2;
            body.remove_prefix(2);
        } else if (body.size() > 1 && body[0] == '0') {
            base = 8;
            body.remove_prefix(1);
        }
        if (body.empty()) return fail(fmt::format("malformed number '{}'", s));
        std::uint64_t v = 0;
        for (char ch : body) {
            unsigned d;
            if (std::isdigit(static_cast<unsigned char>(ch))) d = static_cast<unsigned>(ch - '0');
            else if (std::isalpha(static_cast<unsigned char>(ch))) d = static_cast<unsigned>(std::tolower(static_cast<unsigned char>(ch)) - 'a' + 10);
            else if (ch == '.') return fail(fmt::format("'{}': floating-point values are not supported", s));
            else d = 99;
            if (d >= base) return fail(fmt::format("malformed number '{}'", s));
            if (v > (UINT64_MAX - d) / base) return fail(fmt::format("number '{}' does not fit in 64 bits", s));
            v = v * base + d;
        }
        tok.kind = Token::Kind::Int;
        tok.value = v;
        tok.text = std::string(s);
        return true;
    }

    // Reads one escape after a backslash; returns false on a bad one.
    bool escape(std::string& into) {
        if (p_ >= t_.size()) return false;
        char c = t_[p_++];
        switch (c) {
        case 'n': into += '\n'; return true;
        case 't': into += '\t'; return true;
        case 'r': into += '\r'; return true;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            unsigned v = static_cast<unsigned>(c - '0');
            for (int k = 0; k < 2 && p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '7'; ++k)
                v = v * 8 + static_cast<unsigned>(t_[p_++] - '0');
            into += static_cast<char>(v & 0xff);
            return true;
        }
        case 'x': {
            unsigned v = 0;
            int n = 0;
            while (p_ < t_.size() && std::isxdigit(static_cast<unsigned char>(t_[p_])) && n < 2) {
                char h = static_cast<char>(std::tolower(static_cast<unsigned char>(t_[p_++])));
                v = v * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : h - 'a' + 10);
                ++n;
            }
            if (n == 0) return false;
            into += static_cast<char>(v);
            return true;
        }
        case 'a': into += '\a'; return true;
        case 'b': into += '\b'; return true;
        case 'f': into += '\f'; return true;
        case 'v': into += '\v'; return true;
        case '\\': case '"': case '\'': case '?': into += c; return true;
        default: return false;
        }
    }

    bool quoted(Token& tok, char quote, const char* what) {
        std::size_t start = p_;
        int outCol = static_cast<int>(p_ - lineStart_) + 1;
        ++p_;
        std::string value;
        bool bad = false;
        while (p_ < t_.size() && t_[p_] != quote && t_[p_] != '\n') {
            if (t_[p_] == '\\') {
                ++p_;
                if (!escape(value)) bad = true;
            } else {
                value += t_[p_++];
            }
        }
        if (p_ >= t_.size() || t_[p_] != quote) {
            diags_.error(here(outCol, t_.substr(start, 1), false), fmt::format("unterminated {}", what));
            return false;
        }
        ++p_;
        if (bad) {
            diags_.error(here(outCol, t_.substr(start, p_ - start), true), fmt::format("bad escape sequence in {}", what));
            return false;
        }
        tok.text = std::move(value);
        return true;
    }

    bool string(Token& tok) {
        if (!quoted(tok, '"', "string")) return false;
        tok.kind = Token::Kind::String;
        return true;
    }

    bool charLiteral(Token& tok) {
        std::size_t start = p_;
        int outCol = static_cast<int>(p_ - lineStart_) + 1;
        if (!quoted(tok, '\'', "character literal")) return false;
        if (tok.text.size() != 1) {
            diags_.error(here(outCol, t_.substr(start, p_ - start), true), "character literal must hold one character");
            return false;
        }
        tok.kind = Token::Kind::Int;
        tok.value = static_cast<unsigned char>(tok.text[0]);
        tok.text = std::string(t_.substr(start, p_ - start));
        return true;
    }

    bool punct(Token& tok) {
        for (auto p : kPunct) {
            if (t_.compare(p_, p.size(), p) == 0) {
                tok.kind = Token::Kind::Punct;
                tok.text = std::string(p);
                p_ += p.size();
                return true;
            }
        }
        if (kPunctSingle.find(t_[p_]) != std::string_view::npos) {
            tok.kind = Token::Kind::Punct;
            tok.text = std::string(1, t_[p_++]);
            return true;
        }
        return false;
    }

    std::string_view t_;
    std::string file_;
    SourceCache& originals_;
    DiagnosticSink& diags_;
    std::size_t p_ = 0;
    std::size_t lineStart_ = 0;
    int line_ = 1;
    bool atLineStart_ = true;
    bool firstOnLine_ = true;
    ColumnFinder cols_;
};

}  // namespace

std::vector<Token> lex(std::string_view text, const std::string& file, SourceCache& originals,
                       DiagnosticSink& diags) {
    return Lexer(text, file, originals, diags).run();
}

}  // namespace cxvm::adl
