#pragma once
// Systems built in code, so the runtime's tests do not depend on the spec parser.
#include "adl/Model.h"

#include <string>

namespace cxvm::system::test {

inline adl::Interface iface(std::string name, adl::InterfaceKind kind, std::string type,
                            std::uint64_t size = 0) {
    adl::Interface i;
    i.name = std::move(name);
    i.kind = kind;
    i.type = std::move(type);
    i.dataportSize = size;
    return i;
}

inline adl::Connection conn(std::string name, std::string connector, std::string fromInst,
                            std::string fromIface, std::string toInst, std::string toIface) {
    adl::Connection c;
    c.name = std::move(name);
    c.connector = std::move(connector);
    c.from.push_back({std::move(fromInst), std::move(fromIface)});
    c.to.push_back({std::move(toInst), std::move(toIface)});
    c.loc = {"fixture.camkes", 1, 1};
    return c;
}

inline adl::Instance inst(std::string name, std::string type) {
    adl::Instance i;
    i.name = std::move(name);
    i.type = std::move(type);
    return i;
}

inline adl::Parameter param(std::string name, std::string type, adl::Direction d,
                            bool array = false) {
    return {std::move(name), std::move(type), d, array};
}

// client (control) uses Hello; server provides it. Exercises every parameter form.
inline adl::System helloSystem() {
    using D = adl::Direction;
    using K = adl::InterfaceKind;
    adl::System s;
    adl::Procedure p;
    p.name = "Hello";
    p.methods.push_back({"say", "int", {param("s", "string", D::In)}});
    p.methods.push_back({"add", "void",
                         {param("a", "int", D::In), param("b", "int64_t", D::RefIn),
                          param("sum", "int64_t", D::Out), param("count", "unsigned int", D::InOut)}});
    p.methods.push_back({"shout", "string",
                         {param("in", "string", D::In), param("out", "string", D::Out),
                          param("io", "string", D::InOut)}});
    p.methods.push_back({"total", "double",
                         {param("xs", "double", D::In, true), param("ys", "int", D::Out, true),
                          param("zs", "uint8_t", D::InOut, true)}});
    s.procedures.push_back(p);
    adl::ComponentType client;
    client.name = "Client";
    client.control = true;
    client.interfaces.push_back(iface("h", K::Uses, "Hello"));
    adl::AttributeDecl greeting;
    greeting.name = "greeting";
    greeting.type = "string";
    client.attributes.push_back(greeting);
    adl::AttributeDecl times;
    times.name = "times";
    times.type = "int";
    client.attributes.push_back(times);
    adl::ComponentType server;
    server.name = "Server";
    server.interfaces.push_back(iface("hello", K::Provides, "Hello"));
    server.mutexes.push_back("m");
    server.semaphores.push_back("s");
    server.binarySemaphores.push_back("b");
    s.types = {client, server};
    adl::Instance c = inst("client", "Client");
    adl::Value g;
    g.kind = adl::Value::Kind::String;
    g.s = "hi \"there\"\n";
    c.attributes["greeting"] = g;
    adl::Value t;
    t.kind = adl::Value::Kind::Int;
    t.i = 3;
    c.attributes["times"] = t;
    s.instances = {c, inst("server", "Server")};
    s.connections.push_back(conn("c0", "seL4RPCCall", "client", "h", "server", "hello"));
    return s;
}

}  // namespace cxvm::system::test
