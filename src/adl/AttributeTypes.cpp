#include "adl/AttributeTypes.h"

#include "adl/Resolver.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <limits>

namespace cxvm::adl {
namespace {

struct IntType {
    std::string_view name;
    std::int64_t min;
    std::uint64_t max;
};

constexpr std::int64_t kMin64 = std::numeric_limits<std::int64_t>::min();
constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();

// Integer types an attribute may be declared with, and their ranges (C, LP64).
constexpr std::array<IntType, 22> kIntTypes = {{
    {"int", INT32_MIN, INT32_MAX},          {"signed int", INT32_MIN, INT32_MAX},
    {"unsigned", 0, UINT32_MAX},            {"unsigned int", 0, UINT32_MAX},
    {"long", kMin64, INT64_MAX},            {"unsigned long", 0, kMaxU64},
    {"long long", kMin64, INT64_MAX},       {"unsigned long long", 0, kMaxU64},
    {"short", INT16_MIN, INT16_MAX},        {"unsigned short", 0, UINT16_MAX},
    {"char", INT8_MIN, UINT8_MAX},          {"unsigned char", 0, UINT8_MAX},
    {"int8_t", INT8_MIN, INT8_MAX},         {"uint8_t", 0, UINT8_MAX},
    {"int16_t", INT16_MIN, INT16_MAX},      {"uint16_t", 0, UINT16_MAX},
    {"int32_t", INT32_MIN, INT32_MAX},      {"uint32_t", 0, UINT32_MAX},
    {"int64_t", kMin64, INT64_MAX},         {"uint64_t", 0, kMaxU64},
    {"size_t", 0, kMaxU64},                 {"uintptr_t", 0, kMaxU64},
}};

const IntType* findInt(std::string_view n) {
    for (const auto& t : kIntTypes)
        if (t.name == n) return &t;
    return nullptr;
}

bool isBool(std::string_view n) { return n == "bool" || n == "boolean"; }

const char* kindName(Value::Kind k) {
    switch (k) {
    case Value::Kind::None: return "nothing";
    case Value::Kind::Int: return "an integer";
    case Value::Kind::String: return "a string";
    case Value::Kind::Bool: return "a boolean";
    case Value::Kind::List: return "a list";
    case Value::Kind::Dict: return "a dictionary";
    }
    return "?";
}

struct Builtin {
    std::string_view name;
    std::string_view type;
};

// CAmkES per-instance settings (camkes-tool's "configuration" docs).
constexpr std::array<Builtin, 10> kBuiltins = {{
    {"heap_size", "uint64_t"}, {"stack_size", "uint64_t"}, {"priority", "int"},
    {"max_priority", "int"},   {"affinity", "int"},        {"domain", "int"},
    {"cnode_size_bits", "int"}, {"simple", "bool"},        {"asid_pool", "bool"},
    {"period", "uint64_t"},
}};

}  // namespace

const ast::StructDecl* AttributeTypes::findStruct(std::string_view name) const {
    for (const auto& s : structs_)
        if (s.name == name) return &s;
    return nullptr;
}

std::string AttributeTypes::unknownName(const ast::AttrType& type, int depth) const {
    if (depth > 64) return "(too deep)";
    if (type.name.empty()) {
        for (const auto& f : type.fields) {
            auto u = unknownName(f.type, depth + 1);
            if (!u.empty()) return u;
        }
        return {};
    }
    if (findInt(type.name) || isBool(type.name) || type.name == "string" || findStruct(type.name)) return {};
    return type.name;
}

std::optional<AttributeTypes::Mismatch> AttributeTypes::check(const ast::AttrType& type, const Value& v,
                                                              const std::string& what, int depth) const {
    if (depth > 64) return Mismatch{fmt::format("{}: value nested too deeply", what), v.loc};
    if (type.array) {
        if (v.kind != Value::Kind::List)
            return Mismatch{fmt::format("{} is a list ({}); got {}", what, describeType(type), kindName(v.kind)), v.loc};
        ast::AttrType elem = type;
        elem.array = false;
        for (std::size_t k = 0; k < v.list.size(); ++k) {
            auto m = check(elem, v.list[k], fmt::format("{}[{}]", what, k), depth + 1);
            if (m) return m;
        }
        return std::nullopt;
    }
    const std::vector<ast::AttrField>* fields = nullptr;
    if (type.name.empty()) {
        fields = &type.fields;
    } else if (const auto* s = findStruct(type.name)) {
        fields = &s->fields;
    }
    if (fields) {
        if (v.kind != Value::Kind::Dict)
            return Mismatch{fmt::format("{} is a struct ({}); got {}", what, describeType(type), kindName(v.kind)), v.loc};
        for (const auto& [key, item] : v.dict) {
            const ast::AttrField* field = nullptr;
            for (const auto& f : *fields)
                if (f.name == key) field = &f;
            if (!field) {
                std::string names;
                for (const auto& f : *fields) names += (names.empty() ? "" : ", ") + f.name;
                return Mismatch{fmt::format("{} has no field \"{}\" (fields: {})", what, key, names), item.loc};
            }
            auto m = check(field->type, item, fmt::format("{}.{}", what, key), depth + 1);
            if (m) return m;
        }
        return std::nullopt;
    }
    if (const IntType* it = findInt(type.name)) {
        if (v.kind == Value::Kind::Bool) return std::nullopt;  // C: true == 1
        if (v.kind != Value::Kind::Int)
            return Mismatch{fmt::format("{} is {}; got {}", what, type.name, kindName(v.kind)), v.loc};
        bool ok;
        if (it->min == 0 && it->max == kMaxU64) ok = true;  // 64-bit unsigned: every bit pattern
        else if (v.i < 0) ok = v.i >= it->min;
        else ok = static_cast<std::uint64_t>(v.i) <= it->max;
        if (!ok) return Mismatch{fmt::format("{} = {} is out of range for {}", what, v.i, type.name), v.loc};
        return std::nullopt;
    }
    if (isBool(type.name)) {
        if (v.kind == Value::Kind::Bool || (v.kind == Value::Kind::Int && (v.i == 0 || v.i == 1))) return std::nullopt;
        return Mismatch{fmt::format("{} is a bool; got {}", what, kindName(v.kind)), v.loc};
    }
    if (type.name == "string") {
        if (v.kind == Value::Kind::String) return std::nullopt;
        return Mismatch{fmt::format("{} is a string; got {}", what, kindName(v.kind)), v.loc};
    }
    return Mismatch{fmt::format("{} has unknown type '{}'", what, type.name), v.loc};
}

std::optional<ast::AttrType> AttributeTypes::builtin(std::string_view name) {
    for (const auto& b : kBuiltins)
        if (b.name == name) return named(std::string(b.type));
    // simple_untyped<N>_pool: how many N-bit untypeds an instance gets. Accepted for
    // source compatibility; a Linux host has no untypeds.
    constexpr std::string_view pre = "simple_untyped", post = "_pool";
    if (name.size() > pre.size() + post.size() && name.substr(0, pre.size()) == pre &&
        name.substr(name.size() - post.size()) == post) {
        std::string_view bits = name.substr(pre.size(), name.size() - pre.size() - post.size());
        if (bits.size() <= 2 && bits.find_first_not_of("0123456789") == std::string_view::npos) return named("int");
    }
    return std::nullopt;
}

std::optional<ast::AttrType> AttributeTypes::implicit(const ast::ComponentDecl& c, bool isVm, std::string_view name) {
    if (!isVm && !c.hardware) return std::nullopt;
    for (const auto& i : c.interfaces) {
        if (name.size() <= i.name.size() + 1 || name.substr(0, i.name.size()) != i.name || name[i.name.size()] != '_')
            continue;
        std::string_view suffix = name.substr(i.name.size() + 1);
        if (isVm) {
            if (i.kind == InterfaceKind::Dataport && (suffix == "id" || suffix == "size")) return named("int");
            if ((i.kind == InterfaceKind::Emits || i.kind == InterfaceKind::Consumes) && suffix == "id") return named("int");
        }
        if (c.hardware) {
            if (i.kind == InterfaceKind::Dataport && (suffix == "paddr" || suffix == "size")) return named("uint64_t");
            if (i.kind == InterfaceKind::Dataport && suffix == "cached") return named("bool");
            if (i.kind == InterfaceKind::Emits &&
                (suffix == "irq_number" || suffix == "irq_ioapic" || suffix == "irq_ioapic_pin" ||
                 suffix == "irq_level" || suffix == "irq_polarity" || suffix == "irq_vector"))
                return named("int");
            if (i.kind == InterfaceKind::Emits && suffix == "irq_type") return named("string");
            if (i.kind == InterfaceKind::Provides && suffix == "attributes") return named("string");
        }
    }
    return std::nullopt;
}

std::string describeType(const ast::AttrType& type) {
    std::string s;
    if (type.name.empty()) {
        s = "{ ";
        for (const auto& f : type.fields) s += describeType(f.type) + " " + f.name + "; ";
        s += "}";
    } else {
        s = type.name;
    }
    if (type.array) s += "[]";
    return s;
}

}  // namespace cxvm::adl
