#include "adl/Dump.h"

#include "util/JsonString.h"

#include <fmt/format.h>

namespace cxvm::adl {
namespace {

const char* endKindWord(ConnectorEndKind k, bool multiple) {
    switch (k) {
    case ConnectorEndKind::Procedure: return multiple ? "Procedures" : "Procedure";
    case ConnectorEndKind::Event: return multiple ? "Events" : "Event";
    case ConnectorEndKind::Dataport: return multiple ? "Dataports" : "Dataport";
    }
    return "?";
}

std::string json(const Value& v) {
    switch (v.kind) {
    case Value::Kind::None: return "null";
    case Value::Kind::Int: return std::to_string(v.i);
    case Value::Kind::Bool: return v.b ? "true" : "false";
    case Value::Kind::String: return jsonString(v.s);
    case Value::Kind::List: {
        std::string s = "[";
        for (std::size_t k = 0; k < v.list.size(); ++k) s += (k ? "," : "") + json(v.list[k]);
        return s + "]";
    }
    case Value::Kind::Dict: {
        std::string s = "{";
        for (std::size_t k = 0; k < v.dict.size(); ++k)
            s += (k ? "," : "") + jsonString(v.dict[k].first) + ":" + json(v.dict[k].second);
        return s + "}";
    }
    }
    return "null";
}

std::string jsonLoc(const SourceLoc& l) {
    return fmt::format("{{\"file\":{},\"line\":{},\"col\":{}}}", jsonString(l.file), l.line, l.col);
}

template <typename T, typename F>
std::string jsonArray(const std::vector<T>& items, F each) {
    std::string s = "[";
    for (std::size_t k = 0; k < items.size(); ++k) s += (k ? "," : "") + each(items[k]);
    return s + "]";
}

}  // namespace

std::string formatValue(const Value& v) {
    switch (v.kind) {
    case Value::Kind::String: return jsonString(v.s);
    case Value::Kind::List: {
        std::string s = "[";
        for (std::size_t k = 0; k < v.list.size(); ++k) s += (k ? ", " : "") + formatValue(v.list[k]);
        return s + "]";
    }
    case Value::Kind::Dict: {
        std::string s = "{";
        for (std::size_t k = 0; k < v.dict.size(); ++k)
            s += (k ? ", " : "") + jsonString(v.dict[k].first) + ": " + formatValue(v.dict[k].second);
        return s + "}";
    }
    default: return json(v);
    }
}

std::string dumpText(const System& sys) {
    std::string out;
    for (const auto& inst : sys.instances) {
        const ComponentType* t = sys.findType(inst.type);
        out += fmt::format("instance {} : {}{}{}\n", inst.name, inst.type, t && t->isVm ? " (VM)" : "",
                           inst.group.empty() ? "" : fmt::format(" [group {}]", inst.group));
        if (t) {
            for (const auto& i : t->interfaces)
                out += fmt::format("  {}{} {} {}\n", i.optional ? "maybe " : "", interfaceKeyword(i.kind), i.type, i.name);
            for (const auto& m : t->mutexes) out += fmt::format("  has mutex {}\n", m);
            for (const auto& m : t->semaphores) out += fmt::format("  has semaphore {}\n", m);
            for (const auto& m : t->binarySemaphores) out += fmt::format("  has binary_semaphore {}\n", m);
        }
        for (const auto& [k, v] : inst.attributes) out += fmt::format("  {}.{} = {}\n", inst.name, k, formatValue(v));
    }
    for (const auto& c : sys.connections) {
        out += fmt::format("connection {} {}(", c.connector, c.name);
        bool first = true;
        for (bool from : {true, false})
            for (const auto& e : from ? c.from : c.to) {
                out += fmt::format("{}{} {}.{}", first ? "" : ", ", from ? "from" : "to", e.instance, e.interface);
                first = false;
            }
        out += ")\n";
    }
    return out;
}

std::string dumpJson(const System& sys) {
    std::string s = "{\n\"connectors\":";
    s += jsonArray(sys.connectors, [](const Connector& c) {
        auto end = [](const ConnectorEnd& e) {
            return fmt::format("{{\"kind\":\"{}\",\"multiple\":{},\"hardware\":{}}}", endKindWord(e.kind, false),
                               e.multiple, e.hardware);
        };
        return fmt::format("{{\"name\":{},\"from\":{},\"to\":{}}}", jsonString(c.name), end(c.from), end(c.to));
    });
    s += ",\n\"procedures\":";
    s += jsonArray(sys.procedures, [](const Procedure& p) {
        return fmt::format(
            "{{\"name\":{},\"methods\":{},\"loc\":{}}}", jsonString(p.name), jsonArray(p.methods, [](const Method& m) {
                return fmt::format("{{\"name\":{},\"returns\":{},\"params\":{}}}", jsonString(m.name), jsonString(m.returnType),
                                   jsonArray(m.params, [](const Parameter& p2) {
                                       return fmt::format("{{\"name\":{},\"type\":{},\"direction\":\"{}\",\"array\":{}}}",
                                                          jsonString(p2.name), jsonString(p2.type), directionKeyword(p2.direction),
                                                          p2.array);
                                   }));
            }),
            jsonLoc(p.loc));
    });
    s += ",\n\"types\":";
    s += jsonArray(sys.types, [](const ComponentType& t) {
        auto names = [](const std::vector<std::string>& v) { return jsonArray(v, [](const std::string& n) { return jsonString(n); }); };
        return fmt::format(
            "{{\"name\":{},\"control\":{},\"hardware\":{},\"vm\":{},\"compound\":{},\"interfaces\":{},"
            "\"attributes\":{},\"mutexes\":{},\"semaphores\":{},\"binary_semaphores\":{},\"loc\":{}}}",
            jsonString(t.name), t.control, t.hardware, t.isVm, t.compound,
            jsonArray(t.interfaces, [](const Interface& i) {
                return fmt::format("{{\"name\":{},\"kind\":\"{}\",\"type\":{},\"optional\":{},\"size\":{}}}",
                                   jsonString(i.name), interfaceKeyword(i.kind), jsonString(i.type), i.optional, i.dataportSize);
            }),
            jsonArray(t.attributes, [](const AttributeDecl& a) {
                return fmt::format("{{\"name\":{},\"type\":{},\"default\":{}}}", jsonString(a.name), jsonString(a.type),
                                   a.defaultValue ? json(*a.defaultValue) : "null");
            }),
            names(t.mutexes), names(t.semaphores), names(t.binarySemaphores), jsonLoc(t.loc));
    });
    s += ",\n\"instances\":";
    s += jsonArray(sys.instances, [](const Instance& i) {
        std::string attrs = "{";
        bool first = true;
        for (const auto& [k, v] : i.attributes) {
            attrs += (first ? "" : ",") + jsonString(k) + ":" + json(v);
            first = false;
        }
        attrs += "}";
        return fmt::format("\n {{\"name\":{},\"type\":{},\"group\":{},\"attributes\":{},\"loc\":{}}}", jsonString(i.name),
                           jsonString(i.type), jsonString(i.group), attrs, jsonLoc(i.loc));
    });
    s += ",\n\"connections\":";
    s += jsonArray(sys.connections, [](const Connection& c) {
        auto ends = [](const std::vector<ConnectionEnd>& v) {
            return jsonArray(v, [](const ConnectionEnd& e) {
                return fmt::format("{{\"instance\":{},\"interface\":{}}}", jsonString(e.instance), jsonString(e.interface));
            });
        };
        return fmt::format("\n {{\"name\":{},\"connector\":{},\"from\":{},\"to\":{},\"loc\":{}}}", jsonString(c.name),
                           jsonString(c.connector), ends(c.from), ends(c.to), jsonLoc(c.loc));
    });
    return s + "\n}\n";
}

}  // namespace cxvm::adl
