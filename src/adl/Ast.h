#pragma once
// The parsed, unresolved form of a spec and everything it imports. One Spec collects the
// declarations of every file (CAmkES has one global namespace); the Resolver turns it
// into a Model System.
#include "adl/Model.h"

#include <optional>
#include <string>
#include <vector>

namespace cxvm::adl::ast {

struct AttrField;

// An attribute's declared type: a named type (`int`, `string`, `bool`, a struct name)
// or an inline struct `{ int a; string b; }`, optionally an array (`name[]`).
struct AttrType {
    std::string name;               // empty for an inline struct
    std::vector<AttrField> fields;  // inline struct fields
    bool array = false;
    SourceLoc loc;
};

struct AttrField {
    std::string name;
    AttrType type;
};

struct AttributeDecl {
    std::string name;
    AttrType type;
    std::optional<Value> defaultValue;
    SourceLoc loc;
};

struct InterfaceDecl {
    std::string name;
    InterfaceKind kind = InterfaceKind::Provides;
    std::string type;                // as written: "Hello", "Buf(4096)", "MyStruct"
    bool optional = false;           // `maybe`
    std::uint64_t dataportSize = 0;  // dataports only
    SourceLoc loc;                   // the interface name
    SourceLoc typeLoc;
};

struct InstanceDecl {
    std::string type;
    std::string name;
    std::string group;
    SourceLoc loc;      // the instance name
    SourceLoc typeLoc;
};

struct EndRef {
    std::string instance;
    std::string interface;
    SourceLoc loc;           // the instance name
    SourceLoc interfaceLoc;  // the interface name
};

struct ConnectionDecl {
    std::string connector;
    std::string name;
    std::vector<EndRef> from, to;
    SourceLoc loc;  // the connection name
    SourceLoc connectorLoc;
};

// `export inner.iface -> outer;` inside a compound component's composition.
struct ExportDecl {
    EndRef inner;
    std::string outer;
    SourceLoc loc;  // the outer name
};

// `a.b.attr = value;` or `a.b.attr <- c.attr;` (target is the instance path).
struct SettingDecl {
    std::vector<std::string> target;
    std::string attribute;
    SourceLoc targetLoc, attributeLoc;
    bool isReference = false;
    Value value;                        // when !isReference
    std::vector<std::string> refTarget;  // when isReference
    std::string refAttribute;
    SourceLoc refLoc;
};

struct Composition {
    std::vector<InstanceDecl> instances;
    std::vector<ConnectionDecl> connections;
    std::vector<ExportDecl> exports;
    SourceLoc loc;
};

struct Configuration {
    std::vector<SettingDecl> settings;
};

struct ComponentDecl {
    std::string name;
    bool control = false;
    bool hardware = false;
    std::vector<InterfaceDecl> interfaces;
    std::vector<AttributeDecl> attributes;
    std::vector<std::pair<std::string, SourceLoc>> mutexes, semaphores, binarySemaphores;
    std::optional<Composition> composition;
    Configuration configuration;
    SourceLoc loc;
};

struct ProcedureDecl {
    Procedure procedure;  // methods, includes and loc
};

struct StructDecl {
    std::string name;
    std::vector<AttrField> fields;
    SourceLoc loc;
};

struct AssemblyDecl {
    Composition composition;
    Configuration configuration;
    SourceLoc loc;
};

struct Spec {
    std::vector<ProcedureDecl> procedures;
    std::vector<ComponentDecl> components;
    std::vector<Connector> connectors;
    std::vector<StructDecl> structs;
    std::vector<AssemblyDecl> assemblies;
};

}  // namespace cxvm::adl::ast
