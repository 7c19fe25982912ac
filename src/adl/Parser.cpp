#include "adl/Parser.h"

#include <fmt/format.h>

#include <functional>
#include <limits>

namespace cxvm::adl {
namespace {

struct SyntaxError {};

std::string describe(const Token& t) {
    switch (t.kind) {
    case Token::Kind::End: return "end of input";
    case Token::Kind::Ident: return fmt::format("'{}'", t.text);
    case Token::Kind::Int: return fmt::format("number {}", t.text);
    case Token::Kind::String: return fmt::format("string \"{}\"", t.text.size() > 40 ? t.text.substr(0, 40) + "..." : t.text);
    case Token::Kind::Punct: return fmt::format("'{}'", t.text);
    }
    return "?";
}

// C binary operators by precedence level, loosest first (C11 6.5.5-6.5.14).
struct BinaryLevel {
    std::vector<std::string_view> ops;
};
const std::vector<BinaryLevel>& binaryLevels() {
    static const std::vector<BinaryLevel> levels = {
        {{"||"}}, {{"&&"}}, {{"|"}}, {{"^"}}, {{"&"}}, {{"==", "!="}},
        {{"<", ">", "<=", ">="}}, {{"<<", ">>"}}, {{"+", "-"}}, {{"*", "/", "%"}}};
    return levels;
}

class Parser {
public:
    Parser(const std::vector<Token>& tokens, ast::Spec& spec, DiagnosticSink& diags)
        : t_(tokens), spec_(spec), d_(diags) {}

    std::vector<ImportRequest> run() {
        while (cur().kind != Token::Kind::End) {
            if (d_.tooMany()) break;
            std::size_t before = i_;
            try {
                topItem();
            } catch (const SyntaxError&) {
                sync();
                if (i_ == before) advance();
            }
        }
        return std::move(imports_);
    }

private:
    // --- token helpers -----------------------------------------------------------------
    const Token& cur() const { return t_[i_]; }
    const Token& next() const { return t_[std::min(i_ + 1, t_.size() - 1)]; }
    const Token& advance() {
        const Token& t = t_[i_];
        if (i_ + 1 < t_.size()) ++i_;
        return t;
    }
    bool accept(std::string_view punct) {
        if (cur().is(punct)) {
            advance();
            return true;
        }
        return false;
    }
    bool acceptWord(std::string_view w) {
        if (cur().isWord(w)) {
            advance();
            return true;
        }
        return false;
    }
    [[noreturn]] void fail(const SourceLoc& loc, std::string msg) {
        d_.error(loc, std::move(msg));
        throw SyntaxError{};
    }
    const Token& expect(std::string_view punct, std::string_view context) {
        if (!cur().is(punct)) fail(cur().loc, fmt::format("expected '{}' {}, got {}", punct, context, describe(cur())));
        return advance();
    }
    const Token& expectIdent(std::string_view what) {
        if (cur().kind != Token::Kind::Ident) fail(cur().loc, fmt::format("expected {}, got {}", what, describe(cur())));
        return advance();
    }
    // `;` ending a statement. A missing one is forgiven (with a warning) when the next
    // statement starts on a new line, as in the tutorial's `pci_devices_iospace = 1`.
    // Just after the previous token: where the missing ';' belongs.
    SourceLoc afterPrevious() const {
        const Token& p = t_[i_ > 0 ? i_ - 1 : 0];
        SourceLoc loc = p.loc;
        loc.col += static_cast<int>(p.text.size()) + (p.kind == Token::Kind::String ? 2 : 0);
        return loc;
    }
    void endStatement(std::string_view context) {
        if (accept(";")) return;
        if (cur().firstOnLine && cur().kind != Token::Kind::End && !cur().is("}")) {
            d_.warning(afterPrevious(), fmt::format("missing ';' after {}", context));
            return;
        }
        if (cur().is("}") && cur().firstOnLine) {
            d_.warning(afterPrevious(), fmt::format("missing ';' after {}", context));
            return;
        }
        fail(cur().loc, fmt::format("expected ';' after {}, got {}", context, describe(cur())));
    }

    class DepthGuard {
    public:
        DepthGuard(Parser& p, const SourceLoc& loc) : p_(p) {
            if (++p_.depth_ > kMaxDepth) {
                --p_.depth_;
                p_.fail(loc, fmt::format("nesting deeper than {} levels", kMaxDepth));
            }
        }
        ~DepthGuard() { --p_.depth_; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;

    private:
        Parser& p_;
    };

    // Skips to just after the next `;` or to the next `}` at this nesting level.
    void sync() {
        int depth = 0;
        while (cur().kind != Token::Kind::End) {
            if (cur().is("{") || cur().is("(") || cur().is("[")) {
                ++depth;
            } else if (cur().is("}") || cur().is(")") || cur().is("]")) {
                if (depth == 0) return;
                --depth;
                if (depth == 0 && t_[i_].is("}")) {
                    advance();
                    accept(";");
                    return;
                }
            } else if (cur().is(";") && depth == 0) {
                advance();
                return;
            }
            advance();
        }
    }

    // Runs `stmt` for each statement of a `{ ... }` block, recovering from errors.
    void block(std::string_view what, const std::function<void()>& stmt) {
        DepthGuard g(*this, cur().loc);
        expect("{", fmt::format("to open {}", what));
        while (!cur().is("}")) {
            if (cur().kind == Token::Kind::End) fail(cur().loc, fmt::format("missing '}}' closing {}", what));
            if (d_.tooMany()) throw SyntaxError{};
            std::size_t before = i_;
            try {
                if (!accept(";")) stmt();
            } catch (const SyntaxError&) {
                sync();
                if (i_ == before && !cur().is("}")) advance();
            }
        }
        advance();
    }

    // --- top level ---------------------------------------------------------------------
    void topItem() {
        if (accept(";")) return;
        const Token& t = cur();
        if (t.isWord("import")) return importDecl();
        if (t.isWord("procedure")) return procedureDecl();
        if (t.isWord("component")) return componentDecl();
        if (t.isWord("connector")) return connectorDecl();
        if (t.isWord("struct")) return structDecl();
        if (t.isWord("assembly")) return assemblyDecl();
        fail(t.loc, fmt::format("expected a declaration (import, procedure, component, connector, "
                                "struct or assembly), got {}", describe(t)));
    }

    void importDecl() {
        SourceLoc loc = advance().loc;
        ImportRequest req;
        req.loc = loc;
        if (cur().kind == Token::Kind::String) {
            req.path = advance().text;
        } else if (accept("<")) {
            req.angled = true;
            while (!cur().is(">")) {
                if (cur().kind == Token::Kind::End || cur().is(";"))
                    fail(cur().loc, "expected '>' closing the import path");
                req.path += advance().text;
            }
            advance();
        } else {
            fail(cur().loc, fmt::format("expected \"file\" or <file> after import, got {}", describe(cur())));
        }
        if (req.path.empty()) fail(loc, "empty import path");
        endStatement("import");
        imports_.push_back(std::move(req));
    }

    void procedureDecl() {
        advance();
        ast::ProcedureDecl decl;
        const Token& name = expectIdent("a procedure name");
        decl.procedure.name = name.text;
        decl.procedure.loc = name.loc;
        block("the procedure", [&] {
            if (acceptWord("include")) {
                std::string inc;
                if (cur().kind == Token::Kind::String) {
                    inc = "\"" + advance().text + "\"";
                } else if (accept("<")) {
                    inc = "<";
                    while (!cur().is(">")) {
                        if (cur().kind == Token::Kind::End || cur().is(";")) fail(cur().loc, "expected '>'");
                        inc += advance().text;
                    }
                    advance();
                    inc += ">";
                } else {
                    fail(cur().loc, "expected \"header\" or <header> after include");
                }
                decl.procedure.includes.push_back(std::move(inc));
                endStatement("include");
                return;
            }
            decl.procedure.methods.push_back(method());
        });
        accept(";");
        spec_.procedures.push_back(std::move(decl));
    }

    // Words of a C type followed by a name: `unsigned int x`, `char * s`.
    // Returns {type, name token}.
    std::pair<std::string, Token> typedName(std::string_view what) {
        std::vector<Token> words;
        while (cur().kind == Token::Kind::Ident || cur().is("*")) words.push_back(advance());
        if (words.size() < 2 || words.back().kind != Token::Kind::Ident)
            fail(words.empty() ? cur().loc : words.front().loc,
                 fmt::format("expected a type and a name for {}", what));
        std::string type;
        for (std::size_t k = 0; k + 1 < words.size(); ++k) {
            if (!type.empty() && words[k].kind == Token::Kind::Ident && type.back() != '*') type += ' ';
            type += words[k].text;
        }
        return {type, words.back()};
    }

    Method method() {
        Method m;
        auto [ret, name] = typedName("a method");
        m.returnType = ret;
        m.name = name.text;
        expect("(", fmt::format("after method name '{}'", m.name));
        if (cur().isWord("void") && next().is(")")) advance();
        if (!cur().is(")")) {
            do {
                Parameter p;
                if (acceptWord("in")) p.direction = Direction::In;
                else if (acceptWord("out")) p.direction = Direction::Out;
                else if (acceptWord("inout")) p.direction = Direction::InOut;
                else if (acceptWord("refin")) p.direction = Direction::RefIn;
                auto [ptype, pname] = typedName("a parameter");
                p.type = ptype;
                p.name = pname.text;
                if (accept("[")) {
                    expect("]", "after '[' of an array parameter");
                    p.array = true;
                }
                for (const auto& other : m.params)
                    if (other.name == p.name) fail(pname.loc, fmt::format("duplicate parameter '{}'", p.name));
                m.params.push_back(std::move(p));
            } while (accept(","));
        }
        expect(")", "closing the parameter list");
        endStatement("a method");
        return m;
    }

    void componentDecl() {
        advance();
        ast::ComponentDecl c;
        const Token& name = expectIdent("a component name");
        c.name = name.text;
        c.loc = name.loc;
        block("the component", [&] { componentItem(c); });
        accept(";");
        spec_.components.push_back(std::move(c));
    }

    void componentItem(ast::ComponentDecl& c) {
        const Token& t = cur();
        if (acceptWord("control")) { c.control = true; return endStatement("control"); }
        if (acceptWord("hardware")) { c.hardware = true; return endStatement("hardware"); }
        if (t.isWord("include")) {
            advance();
            while (!cur().is(";") && cur().kind != Token::Kind::End && !cur().firstOnLine) advance();
            return endStatement("include");
        }
        if (acceptWord("has")) {
            const Token& kind = expectIdent("mutex, semaphore or binary_semaphore");
            const Token& n = expectIdent("a name");
            if (kind.text == "mutex") c.mutexes.emplace_back(n.text, n.loc);
            else if (kind.text == "semaphore") c.semaphores.emplace_back(n.text, n.loc);
            else if (kind.text == "binary_semaphore") c.binarySemaphores.emplace_back(n.text, n.loc);
            else fail(kind.loc, fmt::format("expected mutex, semaphore or binary_semaphore after 'has', got {}", describe(kind)));
            return endStatement("a 'has' declaration");
        }
        if (t.isWord("attribute")) {
            advance();
            ast::AttributeDecl a;
            auto [type, nameTok] = attrTypedName();
            a.type = std::move(type);
            a.name = nameTok.text;
            a.loc = nameTok.loc;
            if (accept("=")) a.defaultValue = value();
            endStatement("an attribute");
            c.attributes.push_back(std::move(a));
            return;
        }
        if (t.isWord("composition")) {
            advance();
            if (c.composition) fail(t.loc, "component already has a composition");
            c.composition = composition(t.loc);
            return;
        }
        if (t.isWord("configuration")) {
            advance();
            configuration(c.configuration);
            return;
        }
        bool maybe = acceptWord("maybe");
        ast::InterfaceDecl i;
        i.optional = maybe;
        const Token& kw = cur();
        if (kw.isWord("provides")) i.kind = InterfaceKind::Provides;
        else if (kw.isWord("uses")) i.kind = InterfaceKind::Uses;
        else if (kw.isWord("emits")) i.kind = InterfaceKind::Emits;
        else if (kw.isWord("consumes")) i.kind = InterfaceKind::Consumes;
        else if (kw.isWord("dataport")) i.kind = InterfaceKind::Dataport;
        else
            fail(kw.loc, fmt::format("expected an interface (provides, uses, emits, consumes, dataport){} , got {}",
                                     maybe ? "" : ", control, hardware, has, attribute, composition or configuration",
                                     describe(kw)));
        advance();
        const Token& type = expectIdent("an interface type");
        i.type = type.text;
        i.typeLoc = type.loc;
        if (i.kind == InterfaceKind::Dataport) {
            i.dataportSize = 4096;
            if (accept("(")) {
                Value n = expression();
                expect(")", "closing the dataport size");
                if (n.i <= 0) fail(n.loc, fmt::format("dataport size must be positive, got {}", n.i));
                i.dataportSize = static_cast<std::uint64_t>(n.i);
                i.type = fmt::format("{}({})", type.text, n.i);
            }
        }
        const Token& n = expectIdent("an interface name");
        i.name = n.text;
        i.loc = n.loc;
        endStatement("an interface");
        c.interfaces.push_back(std::move(i));
    }

    // An attribute type then its name: `int x`, `unsigned int x`, `string s[]`,
    // `{ int a; string b; } x[]`, `struct Foo x`, `struct { ... } x`.
    std::pair<ast::AttrType, Token> attrTypedName() {
        ast::AttrType type;
        type.loc = cur().loc;
        Token nameTok;
        if (cur().isWord("struct") && !next().is("{")) {
            advance();
            type.name = expectIdent("a struct name").text;
            nameTok = expectIdent("an attribute name");
        } else if (cur().is("{") || (cur().isWord("struct") && next().is("{"))) {
            acceptWord("struct");
            type.fields = structFields();
            nameTok = expectIdent("an attribute name");
        } else {
            auto [t, n] = typedName("an attribute");
            type.name = t;
            nameTok = n;
        }
        if (accept("[")) {
            expect("]", "after '[' of an array attribute");
            type.array = true;
        }
        return {std::move(type), nameTok};
    }

    std::vector<ast::AttrField> structFields() {
        std::vector<ast::AttrField> fields;
        block("the struct", [&] {
            auto [type, n] = attrTypedName();
            for (const auto& f : fields)
                if (f.name == n.text) fail(n.loc, fmt::format("duplicate field '{}'", n.text));
            fields.push_back({n.text, std::move(type)});
            endStatement("a struct field");
        });
        return fields;
    }

    void structDecl() {
        advance();
        ast::StructDecl s;
        const Token& n = expectIdent("a struct name");
        s.name = n.text;
        s.loc = n.loc;
        s.fields = structFields();
        accept(";");
        spec_.structs.push_back(std::move(s));
    }

    void connectorDecl() {
        advance();
        Connector c;
        const Token& n = expectIdent("a connector name");
        c.name = n.text;
        c.loc = n.loc;
        bool haveFrom = false, haveTo = false;
        block("the connector", [&] {
            const Token& side = cur();
            if (acceptWord("attribute")) {
                while (!cur().is(";") && cur().kind != Token::Kind::End) advance();
                return endStatement("an attribute");
            }
            bool from = side.isWord("from");
            if (!from && !side.isWord("to")) fail(side.loc, fmt::format("expected 'from' or 'to', got {}", describe(side)));
            advance();
            ConnectorEnd end;
            end.hardware = acceptWord("hardware");
            const Token& kind = expectIdent("Procedure, Event or Dataport");
            static const std::vector<std::tuple<std::string_view, ConnectorEndKind, bool>> kinds = {
                {"Procedure", ConnectorEndKind::Procedure, false}, {"Procedures", ConnectorEndKind::Procedure, true},
                {"Event", ConnectorEndKind::Event, false},         {"Events", ConnectorEndKind::Event, true},
                {"Dataport", ConnectorEndKind::Dataport, false},   {"Dataports", ConnectorEndKind::Dataport, true}};
            bool found = false;
            for (auto& [word, k, many] : kinds) {
                if (kind.text == word) {
                    end.kind = k;
                    end.multiple = many;
                    found = true;
                }
            }
            if (!found) fail(kind.loc, fmt::format("expected Procedure(s), Event(s) or Dataport(s), got {}", describe(kind)));
            // `with 0 threads`, `template "x.c"`: CAmkES code-generation details.
            while (!cur().is(";") && !cur().is("}") && cur().kind != Token::Kind::End) advance();
            endStatement("a connector end");
            if (from ? haveFrom : haveTo) fail(side.loc, fmt::format("connector already has a '{}' end", side.text));
            (from ? c.from : c.to) = end;
            (from ? haveFrom : haveTo) = true;
        });
        if (!haveFrom || !haveTo) fail(c.loc, fmt::format("connector '{}' needs a 'from' and a 'to' end", c.name));
        accept(";");
        spec_.connectors.push_back(std::move(c));
    }

    void assemblyDecl() {
        SourceLoc loc = advance().loc;
        if (cur().kind == Token::Kind::Ident) advance();  // optional name
        ast::AssemblyDecl a;
        a.loc = loc;
        bool haveComposition = false;
        block("the assembly", [&] {
            const Token& t = cur();
            if (acceptWord("composition")) {
                ast::Composition c = composition(t.loc);
                if (!haveComposition) a.composition.loc = c.loc;
                haveComposition = true;
                auto move = [](auto& into, auto& from) {
                    for (auto& x : from) into.push_back(std::move(x));
                };
                move(a.composition.instances, c.instances);
                move(a.composition.connections, c.connections);
                move(a.composition.exports, c.exports);
            } else if (acceptWord("configuration")) {
                configuration(a.configuration);
            } else {
                fail(t.loc, fmt::format("expected composition or configuration, got {}", describe(t)));
            }
        });
        accept(";");
        spec_.assemblies.push_back(std::move(a));
    }

    // --- composition -------------------------------------------------------------------
    ast::Composition composition(const SourceLoc& loc) {
        ast::Composition c;
        c.loc = loc;
        block("the composition", [&] { compositionItem(c, ""); });
        return c;
    }

    void compositionItem(ast::Composition& c, const std::string& group) {
        const Token& t = cur();
        if (acceptWord("component")) {
            ast::InstanceDecl inst;
            const Token& type = expectIdent("a component type");
            inst.type = type.text;
            inst.typeLoc = type.loc;
            const Token& n = expectIdent("an instance name");
            inst.name = n.text;
            inst.loc = n.loc;
            inst.group = group;
            endStatement("an instance");
            c.instances.push_back(std::move(inst));
            return;
        }
        if (acceptWord("connection")) {
            ast::ConnectionDecl conn;
            const Token& type = expectIdent("a connector");
            conn.connector = type.text;
            conn.connectorLoc = type.loc;
            const Token& n = expectIdent("a connection name");
            conn.name = n.text;
            conn.loc = n.loc;
            expect("(", "after the connection name");
            do {
                const Token& side = cur();
                bool from = side.isWord("from");
                if (!from && !side.isWord("to"))
                    fail(side.loc, fmt::format("expected 'from' or 'to', got {}", describe(side)));
                advance();
                ast::EndRef end = endRef();
                (from ? conn.from : conn.to).push_back(std::move(end));
            } while (accept(","));
            expect(")", "closing the connection");
            endStatement("a connection");
            c.connections.push_back(std::move(conn));
            return;
        }
        if (acceptWord("export")) {
            ast::ExportDecl e;
            e.inner = endRef();
            expect("->", "in an export");
            const Token& n = expectIdent("the exported interface name");
            e.outer = n.text;
            e.loc = n.loc;
            endStatement("an export");
            c.exports.push_back(std::move(e));
            return;
        }
        if (acceptWord("group")) {
            if (!group.empty()) fail(t.loc, "groups cannot be nested");
            const Token& n = expectIdent("a group name");
            std::string g = n.text;
            block("the group", [&] {
                if (!cur().isWord("component")) fail(cur().loc, fmt::format("expected 'component' in a group, got {}", describe(cur())));
                compositionItem(c, g);
            });
            accept(";");
            return;
        }
        fail(t.loc, fmt::format("expected component, connection, export or group, got {}", describe(t)));
    }

    ast::EndRef endRef() {
        ast::EndRef end;
        const Token& inst = expectIdent("an instance name");
        end.instance = inst.text;
        end.loc = inst.loc;
        expect(".", fmt::format("after instance '{}' (ends are instance.interface)", inst.text));
        const Token& itf = expectIdent("an interface name");
        end.interface = itf.text;
        end.interfaceLoc = itf.loc;
        return end;
    }

    // --- configuration -----------------------------------------------------------------
    void configuration(ast::Configuration& cfg) {
        block("the configuration", [&] {
            ast::SettingDecl s;
            std::vector<Token> path = dottedPath("a setting (instance.attribute)");
            if (path.size() < 2) fail(path.front().loc, "expected instance.attribute");
            s.attribute = path.back().text;
            s.attributeLoc = path.back().loc;
            s.targetLoc = path.front().loc;
            for (std::size_t k = 0; k + 1 < path.size(); ++k) s.target.push_back(path[k].text);
            if (accept("<-")) {
                s.isReference = true;
                std::vector<Token> ref = dottedPath("the attribute to copy");
                s.refLoc = ref.front().loc;
                s.refAttribute = ref.back().text;
                for (std::size_t k = 0; k + 1 < ref.size(); ++k) s.refTarget.push_back(ref[k].text);
            } else {
                expect("=", fmt::format("after '{}'", s.attribute));
                s.value = value();
            }
            endStatement("a setting");
            cfg.settings.push_back(std::move(s));
        });
    }

    std::vector<Token> dottedPath(std::string_view what) {
        std::vector<Token> path;
        path.push_back(expectIdent(what));
        while (accept(".")) path.push_back(expectIdent("a name after '.'"));
        return path;
    }

    // --- values ------------------------------------------------------------------------
    Value value() {
        DepthGuard g(*this, cur().loc);
        const Token& t = cur();
        Value v;
        v.loc = t.loc;
        if (accept("[")) {
            v.kind = Value::Kind::List;
            while (!cur().is("]")) {
                v.list.push_back(value());
                if (!accept(",")) break;
            }
            expect("]", "closing the list (or ',' between items)");
            return v;
        }
        if (accept("{")) {
            v.kind = Value::Kind::Dict;
            while (!cur().is("}")) {
                const Token& key = cur();
                if (key.kind != Token::Kind::String && key.kind != Token::Kind::Ident)
                    fail(key.loc, fmt::format("expected a dictionary key, got {}", describe(key)));
                advance();
                if (v.get(key.text)) fail(key.loc, fmt::format("duplicate key \"{}\"", key.text));
                expect(":", "after a dictionary key");
                Value item = value();
                v.dict.emplace_back(key.text, std::move(item));
                if (!accept(",")) break;
            }
            expect("}", "closing the dictionary (or ',' between entries)");
            return v;
        }
        if (t.kind == Token::Kind::String) {
            v.kind = Value::Kind::String;
            while (cur().kind == Token::Kind::String) {
                v.s += advance().text;  // adjacent strings concatenate, as in C
                if (v.s.size() > (std::size_t{1} << 24)) fail(t.loc, "string too long");
            }
            return v;
        }
        if (t.isWord("true") || t.isWord("True") || t.isWord("false") || t.isWord("False")) {
            advance();
            v.kind = Value::Kind::Bool;
            v.b = t.text[0] == 't' || t.text[0] == 'T';
            return v;
        }
        return expression();
    }

    // C integer constant expressions with two's-complement wrap-around (no UB).
    Value expression() {
        DepthGuard g(*this, cur().loc);
        SourceLoc loc = cur().loc;
        Value cond = binary(0);
        if (accept("?")) {
            Value a = expression();
            expect(":", "in a conditional expression");
            Value b = expression();
            Value r = cond.i != 0 ? a : b;
            r.loc = loc;
            return r;
        }
        return cond;
    }

    Value binary(std::size_t level) {
        const auto& levels = binaryLevels();
        if (level == levels.size()) return unary();
        Value lhs = binary(level + 1);
        while (true) {
            const Token& op = cur();
            bool match = false;
            for (auto o : levels[level].ops) match = match || op.is(o);
            if (!match) return lhs;
            advance();
            Value rhs = binary(level + 1);
            lhs.i = apply(op, lhs.i, rhs.i);
        }
    }

    std::int64_t apply(const Token& op, std::int64_t a, std::int64_t b) {
        auto ua = static_cast<std::uint64_t>(a), ub = static_cast<std::uint64_t>(b);
        const std::string& o = op.text;
        if (o == "||") return (a || b) ? 1 : 0;
        if (o == "&&") return (a && b) ? 1 : 0;
        if (o == "|") return static_cast<std::int64_t>(ua | ub);
        if (o == "^") return static_cast<std::int64_t>(ua ^ ub);
        if (o == "&") return static_cast<std::int64_t>(ua & ub);
        if (o == "==") return a == b;
        if (o == "!=") return a != b;
        if (o == "<") return a < b;
        if (o == ">") return a > b;
        if (o == "<=") return a <= b;
        if (o == ">=") return a >= b;
        if (o == "<<" || o == ">>") {
            if (b < 0 || b >= 64) fail(op.loc, fmt::format("shift count {} is out of range 0..63", b));
            return o == "<<" ? static_cast<std::int64_t>(ua << b) : (a >> b);
        }
        if (o == "+") return static_cast<std::int64_t>(ua + ub);
        if (o == "-") return static_cast<std::int64_t>(ua - ub);
        if (o == "*") return static_cast<std::int64_t>(ua * ub);
        if (b == 0) fail(op.loc, "division by zero");
        if (a == std::numeric_limits<std::int64_t>::min() && b == -1) fail(op.loc, "integer overflow in division");
        return o == "/" ? a / b : a % b;
    }

    Value unary() {
        DepthGuard g(*this, cur().loc);
        const Token& t = cur();
        if (t.is("-") || t.is("+") || t.is("!") || t.is("~")) {
            advance();
            Value v = unary();
            v.loc = t.loc;
            auto u = static_cast<std::uint64_t>(v.i);
            if (t.is("-")) v.i = static_cast<std::int64_t>(0 - u);
            else if (t.is("!")) v.i = v.i == 0;
            else if (t.is("~")) v.i = static_cast<std::int64_t>(~u);
            return v;
        }
        Value v;
        v.loc = t.loc;
        v.kind = Value::Kind::Int;
        if (t.kind == Token::Kind::Int) {
            advance();
            v.i = static_cast<std::int64_t>(t.value);
            return v;
        }
        if (accept("(")) {
            Value inner = expression();
            expect(")", "closing '('");
            inner.loc = t.loc;
            return inner;
        }
        if (t.kind == Token::Kind::String) fail(t.loc, "a string cannot be used in an arithmetic expression");
        if (t.kind == Token::Kind::Ident)
            fail(t.loc, fmt::format("unknown name '{}' in a value (a macro that is not defined?)", t.text));
        fail(t.loc, fmt::format("expected a value, got {}", describe(t)));
    }

    const std::vector<Token>& t_;
    ast::Spec& spec_;
    DiagnosticSink& d_;
    std::size_t i_ = 0;
    int depth_ = 0;
    std::vector<ImportRequest> imports_;
};

}  // namespace

std::vector<ImportRequest> parse(const std::vector<Token>& tokens, ast::Spec& spec, DiagnosticSink& diags) {
    return Parser(tokens, spec, diags).run();
}

}  // namespace cxvm::adl
