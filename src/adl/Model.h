#pragma once
// The resolved system model: what `cxvm check` validated and what the runtime, the
// glue generator and the VMM consume. Compound components are flattened: an instance
// `vm0` inside instance `vm` of a compound type is named "vm.vm0" here; only leaf
// (non-compound) instances appear in `instances`, and connection ends always name
// leaf instances (exports are followed). See docs/adl.md.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cxvm::adl {

struct SourceLoc {
    std::string file;
    int line = 0;
    int col = 0;
};

// Attribute value: integer, string, boolean, list or dict (dict keeps source order).
struct Value {
    enum class Kind : std::uint8_t { None, Int, String, Bool, List, Dict };
    Kind kind = Kind::None;
    std::int64_t i = 0;
    bool b = false;
    std::string s;
    std::vector<Value> list;
    std::vector<std::pair<std::string, Value>> dict;
    SourceLoc loc;

    [[nodiscard]] const Value* get(std::string_view key) const {
        for (const auto& [k, v] : dict)
            if (k == key) return &v;
        return nullptr;
    }
};

enum class Direction : std::uint8_t { In, Out, InOut, RefIn };

struct Parameter {
    std::string name;
    std::string type;
    Direction direction = Direction::In;
    bool array = false;  // `sequence`/array parameter if supported
};

struct Method {
    std::string name;
    std::string returnType;  // "void" when none
    std::vector<Parameter> params;
};

struct Procedure {
    std::string name;
    std::vector<Method> methods;
    std::vector<std::string> includes;  // `include "x.h";` / `include <x.h>;` as written
    SourceLoc loc;
};

enum class InterfaceKind : std::uint8_t { Provides, Uses, Emits, Consumes, Dataport };

struct Interface {
    std::string name;
    InterfaceKind kind = InterfaceKind::Provides;
    std::string type;  // procedure name, event type name, or dataport type ("Buf(4096)")
    bool optional = false;         // `maybe`
    std::uint64_t dataportSize = 0;  // bytes, for Dataport (Buf(N) -> N; Buf -> 4096)
    SourceLoc loc;
};

struct AttributeDecl {
    std::string name;
    std::string type;  // "int", "string", "bool", "list", "dict", ...
    std::optional<Value> defaultValue;
    SourceLoc loc;
};

struct ComponentType {
    std::string name;
    bool control = false;
    bool hardware = false;
    bool isVm = false;  // declared through VM_INIT_DEF (a Linux guest)
    bool compound = false;  // has a composition; never instantiated itself (flattened)
    std::vector<Interface> interfaces;
    std::vector<AttributeDecl> attributes;
    std::vector<std::string> mutexes, semaphores, binarySemaphores;
    SourceLoc loc;

    [[nodiscard]] const Interface* findInterface(std::string_view n) const {
        for (const auto& i : interfaces)
            if (i.name == n) return &i;
        return nullptr;
    }
};

struct Instance {
    std::string name;  // flattened path, e.g. "vm.vm0"
    std::string type;  // ComponentType name
    std::map<std::string, Value> attributes;  // final values, defaults applied
    std::string group;  // `group g { ... }` the instance was declared in, else empty
    SourceLoc loc;
};

struct ConnectionEnd {
    std::string instance;  // flattened instance name
    std::string interface;
};

struct Connection {
    std::string name;
    std::string connector;  // e.g. "seL4Notification"
    std::vector<ConnectionEnd> from, to;
    SourceLoc loc;
};

// What a connector's end accepts (`connector X { from Events; to Event; }`).
enum class ConnectorEndKind : std::uint8_t { Procedure, Event, Dataport };

struct ConnectorEnd {
    ConnectorEndKind kind = ConnectorEndKind::Procedure;
    bool multiple = false;  // plural form: `Procedures`, `Events`, `Dataports`
    bool hardware = false;  // `hardware Dataport`: the end must be a hardware component
};

struct Connector {
    std::string name;
    ConnectorEnd from, to;
    SourceLoc loc;
};

struct System {
    std::vector<Connector> connectors;
    std::vector<Procedure> procedures;
    std::vector<ComponentType> types;
    std::vector<Instance> instances;
    std::vector<Connection> connections;

    [[nodiscard]] const ComponentType* findType(std::string_view n) const {
        for (const auto& t : types)
            if (t.name == n) return &t;
        return nullptr;
    }
    [[nodiscard]] const Instance* findInstance(std::string_view n) const {
        for (const auto& i : instances)
            if (i.name == n) return &i;
        return nullptr;
    }
    [[nodiscard]] const Connector* findConnector(std::string_view n) const {
        for (const auto& c : connectors)
            if (c.name == n) return &c;
        return nullptr;
    }
    [[nodiscard]] const Procedure* findProcedure(std::string_view n) const {
        for (const auto& p : procedures)
            if (p.name == n) return &p;
        return nullptr;
    }
};

}  // namespace cxvm::adl
