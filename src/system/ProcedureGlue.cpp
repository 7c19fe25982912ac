#include "system/ProcedureGlue.h"

#include "system/Connector.h"
#include "util/Error.h"

#include <array>
#include <optional>

namespace cxvm::system {

namespace {

// Procedure parameter types the marshaller knows: ADL spelling -> C spelling.
struct ScalarType {
    std::string_view adl, c;
};
constexpr std::array kScalars{
    ScalarType{"int", "int"},
    ScalarType{"integer", "int"},
    ScalarType{"unsigned", "unsigned int"},
    ScalarType{"unsigned int", "unsigned int"},
    ScalarType{"signed int", "int"},
    ScalarType{"short", "short"},
    ScalarType{"unsigned short", "unsigned short"},
    ScalarType{"long", "long"},
    ScalarType{"unsigned long", "unsigned long"},
    ScalarType{"long long", "long long"},
    ScalarType{"unsigned long long", "unsigned long long"},
    ScalarType{"char", "char"},
    ScalarType{"character", "char"},
    ScalarType{"unsigned char", "unsigned char"},
    ScalarType{"signed char", "signed char"},
    ScalarType{"int8_t", "int8_t"},
    ScalarType{"int16_t", "int16_t"},
    ScalarType{"int32_t", "int32_t"},
    ScalarType{"int64_t", "int64_t"},
    ScalarType{"uint8_t", "uint8_t"},
    ScalarType{"uint16_t", "uint16_t"},
    ScalarType{"uint32_t", "uint32_t"},
    ScalarType{"uint64_t", "uint64_t"},
    ScalarType{"uintptr_t", "uintptr_t"},
    ScalarType{"intptr_t", "intptr_t"},
    ScalarType{"size_t", "size_t"},
    ScalarType{"bool", "bool"},
    ScalarType{"boolean", "bool"},
    ScalarType{"float", "float"},
    ScalarType{"double", "double"},
};

std::string normalise(std::string_view t) {
    std::string out;
    bool space = false;
    for (char ch : t) {
        if (ch == ' ' || ch == '\t' || ch == '\n') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += ch;
    }
    return out;
}

bool isString(std::string_view t) { return normalise(t) == "string"; }

std::optional<std::string_view> scalar(std::string_view t) {
    std::string n = normalise(t);
    for (const auto& s : kScalars)
        if (s.adl == n) return s.c;
    return std::nullopt;
}

using adl::Direction;

// The C type of a value of ADL type `t`, or an error naming the procedure.
std::string cType(const adl::Procedure& proc, const adl::Method& m, std::string_view t,
                  std::string_view what) {
    if (auto s = scalar(t)) return std::string(*s);
    throw Error::format("{}: error: procedure {}: method {}: {} has type {}, which the native "
                        "runtime cannot marshal (scalars and string only)",
                        where(proc.loc), proc.name, m.name, what, t);
}

void checkParam(const adl::Procedure& proc, const adl::Method& m, const adl::Parameter& p) {
    if (isString(p.type)) {
        if (p.array)
            throw Error::format("{}: error: procedure {}: method {}: parameter {}: arrays of "
                                "strings are not supported by the native runtime",
                                where(proc.loc), proc.name, m.name, p.name);
        if (p.direction == Direction::RefIn)
            throw Error::format("{}: error: procedure {}: method {}: parameter {}: refin "
                                "string is not supported; use in string",
                                where(proc.loc), proc.name, m.name, p.name);
        return;
    }
    (void)cType(proc, m, p.type, fmt::format("parameter {}", p.name));
}

std::string paramDecl(const adl::Procedure& proc, const adl::Method& m, const adl::Parameter& p) {
    checkParam(proc, m, p);
    bool in = p.direction == Direction::In;
    if (isString(p.type)) return in ? fmt::format("const char *{}", p.name) : fmt::format("char **{}", p.name);
    std::string t = cType(proc, m, p.type, p.name);
    if (p.array)
        return in ? fmt::format("size_t {0}_sz, const {1} *{0}", p.name, t)
                  : fmt::format("size_t *{0}_sz, {1} **{0}", p.name, t);
    switch (p.direction) {
    case Direction::In: return fmt::format("{} {}", t, p.name);
    case Direction::RefIn: return fmt::format("const {} *{}", t, p.name);
    case Direction::Out:
    case Direction::InOut: return fmt::format("{} *{}", t, p.name);
    }
    return {};
}

bool sendsIn(const adl::Parameter& p) { return p.direction != Direction::Out; }
bool returnsOut(const adl::Parameter& p) {
    return p.direction == Direction::Out || p.direction == Direction::InOut;
}
bool isVoid(std::string_view t) { return t.empty() || normalise(t) == "void"; }

std::string returnDecl(const adl::Procedure& proc, const adl::Method& m) {
    if (isVoid(m.returnType)) return "void";
    if (isString(m.returnType)) return "char *";
    return cType(proc, m, m.returnType, "the return value") + " ";
}

}  // namespace

std::string procedurePrototype(const adl::Procedure& proc, const adl::Method& method,
                               std::string_view interface) {
    std::string params;
    for (const auto& p : method.params) {
        if (!params.empty()) params += ", ";
        params += paramDecl(proc, method, p);
    }
    std::string ret = returnDecl(proc, method);
    if (ret.back() != '*' && ret.back() != ' ') ret += ' ';
    return fmt::format("{}{}_{}({})", ret, interface, method.name,
                       params.empty() ? "void" : params);
}

std::string procedureClientStubs(const adl::Procedure& proc, std::string_view interface,
                                 std::string_view client) {
    std::string out;
    for (std::size_t idx = 0; idx < proc.methods.size(); ++idx) {
        const auto& m = proc.methods[idx];
        out += procedurePrototype(proc, m, interface) + " {\n";
        out += fmt::format("    struct cxvm_msg *m = cxvm_rpc_begin(&{}, {}u);\n", client, idx);
        for (const auto& p : m.params) {
            if (!sendsIn(p)) continue;
            bool in = p.direction == Direction::In || p.direction == Direction::RefIn;
            if (isString(p.type))
                out += fmt::format("    cxvm_msg_put_str(m, {}{});\n", in ? "" : "*", p.name);
            else if (p.array)
                out += in ? fmt::format("    cxvm_msg_put_array(m, {0}, {0}_sz, sizeof *{0});\n", p.name)
                          : fmt::format("    cxvm_msg_put_array(m, *{0}, *{0}_sz, sizeof **{0});\n", p.name);
            else if (p.direction == Direction::In)
                out += fmt::format("    cxvm_msg_put(m, &{0}, sizeof {0});\n", p.name);
            else
                out += fmt::format("    cxvm_msg_put(m, {0}, sizeof *{0});\n", p.name);
        }
        out += fmt::format("    m = cxvm_rpc_call(&{});\n", client);
        if (isString(m.returnType))
            out += "    char *ret = cxvm_msg_get_strdup(m);\n";
        else if (!isVoid(m.returnType))
            out += fmt::format("    {} ret;\n    cxvm_msg_get(m, &ret, sizeof ret);\n",
                               cType(proc, m, m.returnType, "the return value"));
        for (const auto& p : m.params) {
            if (!returnsOut(p)) continue;
            bool inout = p.direction == Direction::InOut;
            if (isString(p.type))
                out += fmt::format("    {1}*{0} = cxvm_msg_get_strdup(m);\n", p.name,
                                   inout ? fmt::format("free(*{});\n    ", p.name) : "");
            else if (p.array)
                out += fmt::format("    {1}*{0} = cxvm_msg_get_array(m, {0}_sz, sizeof **{0});\n",
                                   p.name, inout ? fmt::format("free(*{});\n    ", p.name) : "");
            else
                out += fmt::format("    cxvm_msg_get(m, {0}, sizeof *{0});\n", p.name);
        }
        out += fmt::format("    cxvm_rpc_end(&{});\n", client);
        if (!isVoid(m.returnType)) out += "    return ret;\n";
        out += "}\n\n";
    }
    return out;
}

std::string procedureDispatcher(const adl::Procedure& proc, std::string_view interface,
                                std::string_view dispatcher) {
    std::string out = fmt::format(
        "static int {}(uint32_t method, struct cxvm_msg *req, struct cxvm_msg *rep) {{\n"
        "    (void)req;\n    (void)rep;\n    switch (method) {{\n",
        dispatcher);
    for (std::size_t idx = 0; idx < proc.methods.size(); ++idx) {
        const auto& m = proc.methods[idx];
        out += fmt::format("    case {}u: {{ /* {} */\n", idx, m.name);
        std::string args, cleanup;
        for (const auto& p : m.params) {
            if (!args.empty()) args += ", ";
            const std::string& n = p.name;
            std::string v = "p_" + n;
            if (isString(p.type)) {
                switch (p.direction) {
                case Direction::In:
                case Direction::RefIn:
                    out += fmt::format("        const char *{} = cxvm_msg_get_str(req);\n", v);
                    args += v;
                    break;
                case Direction::Out:
                    out += fmt::format("        char *{} = NULL;\n", v);
                    args += "&" + v;
                    cleanup += fmt::format("free({});\n", v);
                    break;
                case Direction::InOut:
                    out += fmt::format("        char *{} = cxvm_msg_get_strdup(req);\n", v);
                    args += "&" + v;
                    cleanup += fmt::format("free({});\n", v);
                    break;
                }
                continue;
            }
            std::string t = cType(proc, m, p.type, n);
            if (p.array) {
                out += fmt::format("        size_t {0}_sz = 0;\n", v);
                if (p.direction == Direction::Out)
                    out += fmt::format("        {} *{} = NULL;\n", t, v);
                else
                    out += fmt::format("        {0} *{1} = cxvm_msg_get_array(req, &{1}_sz, sizeof *{1});\n",
                                       t, v);
                args += p.direction == Direction::In || p.direction == Direction::RefIn
                            ? fmt::format("{0}_sz, {0}", v)
                            : fmt::format("&{0}_sz, &{0}", v);
                cleanup += fmt::format("free({});\n", v);
                continue;
            }
            out += fmt::format("        {} {};\n        memset(&{}, 0, sizeof {});\n", t, v, v, v);
            if (p.direction != Direction::Out)
                out += fmt::format("        cxvm_msg_get(req, &{0}, sizeof {0});\n", v);
            args += p.direction == Direction::In ? v : "&" + v;
        }
        auto indented = [&](std::string_view pad) {
            std::string r;
            for (std::size_t b = 0, e; (e = cleanup.find('\n', b)) != std::string::npos; b = e + 1)
                r += std::string(pad) + cleanup.substr(b, e - b + 1);
            return r;
        };
        out += "        if (req->failed) {\n" + indented("            ") + "            return -1;\n        }\n";
        std::string call = fmt::format("{}_{}({})", interface, m.name, args);
        if (isVoid(m.returnType)) {
            out += fmt::format("        {};\n", call);
        } else if (isString(m.returnType)) {
            out += fmt::format("        char *ret = {};\n", call);
            out += "        cxvm_msg_put_str(rep, ret);\n        free(ret);\n";
        } else {
            out += fmt::format("        {} ret = {};\n", cType(proc, m, m.returnType, "return"), call);
            out += "        cxvm_msg_put(rep, &ret, sizeof ret);\n";
        }
        for (const auto& p : m.params) {
            if (!returnsOut(p)) continue;
            std::string v = "p_" + p.name;
            if (isString(p.type))
                out += fmt::format("        cxvm_msg_put_str(rep, {});\n", v);
            else if (p.array)
                out += fmt::format("        cxvm_msg_put_array(rep, {0}, {0}_sz, sizeof *{0});\n", v);
            else
                out += fmt::format("        cxvm_msg_put(rep, &{0}, sizeof {0});\n", v);
        }
        out += indented("        ");
        out += "        return 0;\n    }\n";
    }
    out += "    default:\n        return -1;\n    }\n}\n\n";
    return out;
}

}  // namespace cxvm::system

namespace cxvm::system {

std::string_view cScalarType(std::string_view adlType) {
    auto s = scalar(adlType);
    return s ? *s : std::string_view{};
}

}  // namespace cxvm::system
