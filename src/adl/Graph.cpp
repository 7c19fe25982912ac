#include "adl/Graph.h"

#include <fmt/format.h>

#include <cctype>
#include <map>

namespace cxvm::adl {
namespace {

// Escapes text for a Graphviz HTML-like label.
std::string html(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string escaped(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::string quoted(std::string_view s) { return "\"" + escaped(s) + "\""; }

// Graphviz node ids must not contain '.', which flattened names have.
std::string nodeId(std::string_view instance) {
    std::string id = "i_";
    for (char c : instance) id += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    return id;
}

const char* arrowFor(InterfaceKind k) {
    switch (k) {
    case InterfaceKind::Provides: return "provides";
    case InterfaceKind::Uses: return "uses";
    case InterfaceKind::Emits: return "emits";
    case InterfaceKind::Consumes: return "consumes";
    case InterfaceKind::Dataport: return "dataport";
    }
    return "";
}

std::string nodeFor(const Instance& inst, const ComponentType* t) {
    bool vm = t && t->isVm;
    std::string label = fmt::format(
        "<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"4\">"
        "<TR><TD BGCOLOR=\"{}\"><B>{}</B><BR/>{}{}</TD></TR>",
        vm ? "#9ecae1" : "#e0e0e0", html(inst.name), html(inst.type), vm ? "<BR/><I>VM (Linux guest)</I>" : "");
    if (t) {
        for (const auto& i : t->interfaces)
            label += fmt::format("<TR><TD PORT=\"{}\" ALIGN=\"LEFT\">{} {} {}</TD></TR>", html(i.name),
                                 arrowFor(i.kind), html(i.type), html(i.name));
    }
    label += "</TABLE>";
    return fmt::format("  {} [label=<{}>, shape={}, style=\"{}\", fillcolor=\"{}\", penwidth={}];\n",
                       nodeId(inst.name), label, vm ? "box3d" : "box", vm ? "filled,bold" : "filled",
                       vm ? "#deebf7" : "white", vm ? 2 : 1);
}

}  // namespace

std::string toDot(const System& sys) {
    std::string out =
        "digraph cxvm {\n"
        "  rankdir=LR;\n"
        "  node [fontname=\"Helvetica\", fontsize=10, margin=0];\n"
        "  edge [fontname=\"Helvetica\", fontsize=9];\n";
    // Instances grouped by the compound instance they were flattened from.
    std::map<std::string, std::vector<const Instance*>> byParent;
    for (const auto& inst : sys.instances) {
        auto dot = inst.name.rfind('.');
        byParent[dot == std::string::npos ? "" : inst.name.substr(0, dot)].push_back(&inst);
    }
    int cluster = 0;
    for (const auto& [parent, insts] : byParent) {
        if (!parent.empty()) {
            out += fmt::format("  subgraph cluster_{} {{\n    label={};\n    style=dashed;\n", cluster++,
                               quoted(parent));
        }
        for (const auto* inst : insts) out += nodeFor(*inst, sys.findType(inst->type));
        if (!parent.empty()) out += "  }\n";
    }
    for (const auto& c : sys.connections) {
        for (const auto& f : c.from) {
            for (const auto& t : c.to) {
                out += fmt::format("  {}:{} -> {}:{} [label={}];\n", nodeId(f.instance), quoted(f.interface),
                                   nodeId(t.instance), quoted(t.interface),
                                   "\"" + escaped(c.name) + "\\n" + escaped(c.connector) + "\"");
            }
        }
    }
    return out + "}\n";
}

}  // namespace cxvm::adl
