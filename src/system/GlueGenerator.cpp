#include "system/GlueGenerator.h"

#include "system/Connector.h"
#include "system/ProcedureGlue.h"
#include "util/Error.h"

#include <climits>
#include <fstream>
#include <set>
#include <sstream>

namespace cxvm::system {

namespace {

using adl::InterfaceKind;

bool isIdentifier(std::string_view s) {
    if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
    for (char c : s)
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    return true;
}

void requireIdentifier(std::string_view name, std::string_view what, const adl::SourceLoc& loc) {
    if (!isIdentifier(name))
        throw Error::format("{}: error: {} \"{}\" is not a C identifier", where(loc), what, name);
}

std::string cString(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            out += fmt::format("\\{:03o}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// An attribute as component code sees it.
struct CAttribute {
    std::string name;
    std::string cType;   // for a string: "const char *"
    bool isString = false;
    bool isInt = false;  // plain `int`: range-checked
    adl::SourceLoc loc;
};

std::string attributeValue(const CAttribute& a, const adl::Instance& inst) {
    auto it = inst.attributes.find(a.name);
    const adl::Value* v = it == inst.attributes.end() ? nullptr : &it->second;
    auto fail = [&](std::string_view why) -> Error {
        return Error::format("{}: error: {}.{}: {}", where(v && v->loc.line ? v->loc : inst.loc),
                             inst.name, a.name, why);
    };
    if (a.isString) {
        if (!v || v->kind == adl::Value::Kind::None) return "\"\"";
        if (v->kind != adl::Value::Kind::String) throw fail("expected a string");
        return cString(v->s);
    }
    if (!v || v->kind == adl::Value::Kind::None) return "0";
    std::int64_t n = 0;
    if (v->kind == adl::Value::Kind::Int) n = v->i;
    else if (v->kind == adl::Value::Kind::Bool) n = v->b ? 1 : 0;
    else throw fail(fmt::format("expected a number for an attribute of type {}", a.cType));
    if (a.isInt && (n < INT_MIN || n > INT_MAX))
        throw fail(fmt::format("{} does not fit an int", n));
    if (n == INT64_MIN) return "INT64_MIN";
    return fmt::format("({}){}LL", a.cType, n);
}

struct TypeGlue {
    const adl::System& sys;
    const adl::ComponentType& type;
    std::vector<const adl::Instance*> instances;
    std::set<std::string> withCapsTo;  // dataports that are the `to` end of WithCaps
    std::vector<CAttribute> attrs;
    std::string header, source;

    TypeGlue(const adl::System& s, const adl::ComponentType& t) : sys(s), type(t) {}

    void collect() {
        for (const auto& inst : sys.instances)
            if (inst.type == type.name) instances.push_back(&inst);
        for (const auto& c : sys.connections) {
            if (connectorKind(c.connector) != ConnectorKind::SharedDataWithCaps) continue;
            for (const auto& e : c.to) {
                const adl::Instance* inst = sys.findInstance(e.instance);
                if (inst && inst->type == type.name) withCapsTo.insert(e.interface);
            }
        }
        std::set<std::string> seen;
        for (const auto& a : type.attributes) {
            requireIdentifier(a.name, "attribute", a.loc);
            seen.insert(a.name);
            CAttribute c{a.name, "", false, false, a.loc};
            std::string_view t = a.type;
            if (t == "string") {
                c.isString = true;
                c.cType = "const char *";
            } else if (auto s = cScalarType(t); !s.empty()) {
                c.cType = std::string(s);
                c.isInt = c.cType == "int";
            } else {
                continue;  // lists, dicts, structs: not exposed to C yet (docs/runtime.md)
            }
            attrs.push_back(std::move(c));
        }
        // seL4SharedDataWithCaps: the `to` end is configured with <dataport>_id/_size.
        for (const auto& d : withCapsTo) {
            for (const char* suffix : {"_id", "_size"}) {
                std::string n = d + suffix;
                if (seen.insert(n).second) attrs.push_back({n, "int", false, true, type.loc});
            }
        }
    }

    void checkWithCapsAttributes() {
        for (const auto& d : withCapsTo) {
            const adl::Interface* iface = type.findInterface(d);
            for (const adl::Instance* inst : instances) {
                auto id = inst->attributes.find(d + "_id");
                auto size = inst->attributes.find(d + "_size");
                if (id == inst->attributes.end() || size == inst->attributes.end())
                    continue;  // only the instances that are WithCaps `to` ends need them
                if (id->second.kind != adl::Value::Kind::Int || id->second.i < 1)
                    throw Error::format("{}: error: {}.{}_id must be an integer >= 1 (dataport ids "
                                        "start at 1)",
                                        where(id->second.loc.line ? id->second.loc : inst->loc),
                                        inst->name, d);
                if (size->second.kind != adl::Value::Kind::Int ||
                    static_cast<std::uint64_t>(size->second.i) != iface->dataportSize)
                    throw Error::format("{}: error: {}.{}_size must equal the dataport's size ({})",
                                        where(size->second.loc.line ? size->second.loc : inst->loc),
                                        inst->name, d, iface->dataportSize);
            }
        }
    }

    const adl::Procedure& procedureOf(const adl::Interface& i) {
        const adl::Procedure* p = sys.findProcedure(i.type);
        if (!p)
            throw Error::format("{}: error: {}.{}: unknown procedure {}", where(i.loc), type.name,
                                i.name, i.type);
        for (const auto& m : p->methods) {
            requireIdentifier(m.name, "method", p->loc);
            for (const auto& prm : m.params) requireIdentifier(prm.name, "parameter", p->loc);
        }
        return *p;
    }

    void generate() {
        collect();
        checkWithCapsAttributes();
        std::string h, decl, defs, init, start;
        h += fmt::format(
            "/* Generated by cxvm from the system spec: the glue of component type {0}.\n"
            " * Do not edit; it is rewritten on every build. */\n"
            "#ifndef CXVM_GENERATED_CAMKES_H\n#define CXVM_GENERATED_CAMKES_H\n\n"
            "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n"
            "#include <camkes/dataport.h>\n\n"
            "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
            "const char *get_instance_name(void);\n"
            "/* The component's own entry points (pre_init and post_init are optional). */\n"
            "int run(void);\nvoid pre_init(void);\nvoid post_init(void);\n\n",
            type.name);

        if (!attrs.empty()) {
            h += "/* Attributes (per instance, from the spec's configuration). */\n"
                 "#ifndef CXVM_GLUE_SOURCE\n";
            for (const auto& a : attrs)
                h += a.isString ? fmt::format("extern const char *const {};\n", a.name)
                                : fmt::format("extern const {} {};\n", a.cType, a.name);
            h += "#endif\n\n";
            // Defined writable here and declared const to component code: the values
            // of the running instance are copied in before any component code runs.
            defs += "/* Attributes: see camkes.h. */\n";
            for (const auto& a : attrs)
                defs += a.isString ? fmt::format("const char *{};\n", a.name)
                                   : fmt::format("{} {};\n", a.cType, a.name);
            defs += "\n";
        }

        for (const auto& i : type.interfaces) {
            requireIdentifier(i.name, "interface", i.loc);
            switch (i.kind) {
            case InterfaceKind::Emits:
                h += fmt::format("void {}_emit(void);\n", i.name);
                defs += fmt::format("static struct cxvm_event ev_{0} = {{.name = \"{0}\"}};\n"
                                    "void {0}_emit(void) {{ cxvm_event_emit(&ev_{0}); }}\n\n",
                                    i.name);
                init += fmt::format("    cxvm_event_bind(&ev_{});\n", i.name);
                break;
            case InterfaceKind::Consumes:
                h += fmt::format("void {0}_wait(void);\nint {0}_poll(void);\n"
                                 "int {0}_reg_callback(void (*callback)(void *), void *arg);\n",
                                 i.name);
                defs += fmt::format(
                    "static struct cxvm_event ev_{0} = {{.name = \"{0}\"}};\n"
                    "void {0}_wait(void) {{ cxvm_event_wait(&ev_{0}); }}\n"
                    "int {0}_poll(void) {{ return cxvm_event_poll(&ev_{0}); }}\n"
                    "int {0}_reg_callback(void (*callback)(void *), void *arg) {{\n"
                    "    return cxvm_event_reg_callback(&ev_{0}, callback, arg);\n}}\n\n",
                    i.name);
                init += fmt::format("    cxvm_event_bind(&ev_{});\n", i.name);
                break;
            case InterfaceKind::Dataport:
                h += fmt::format(
                    "extern volatile void *{0};\nsize_t {0}_get_size(void);\n"
                    "void {0}_acquire(void);\nvoid {0}_release(void);\n", i.name);
                defs += fmt::format(
                    "static struct cxvm_dataport dp_{0} = {{.name = \"{0}\", .size = {1}u}};\n"
                    "volatile void *{0};\n"
                    "size_t {0}_get_size(void) {{ return {1}u; }}\n"
                    "void {0}_acquire(void) {{ __atomic_thread_fence(__ATOMIC_ACQUIRE); }}\n"
                    "void {0}_release(void) {{ __atomic_thread_fence(__ATOMIC_RELEASE); }}\n\n",
                    i.name, i.dataportSize);
                init += fmt::format("    cxvm_dataport_bind(&dp_{0});\n    {0} = dp_{0}.base;\n",
                                    i.name);
                if (withCapsTo.count(i.name)) {
                    h += fmt::format("extern dataport_caps_handle_t {}_handle;\n", i.name);
                    defs += fmt::format("dataport_caps_handle_t {}_handle;\n\n", i.name);
                    init += fmt::format(
                        "    {0}_handle.fd = dp_{0}.fd;\n    {0}_handle.size = dp_{0}.size;\n"
                        "    {0}_handle.id = {0}_id;\n    {0}_handle.vaddr = {0};\n",
                        i.name);
                }
                break;
            case InterfaceKind::Uses: {
                const adl::Procedure& p = procedureOf(i);
                for (const auto& m : p.methods) h += procedurePrototype(p, m, i.name) + ";\n";
                std::string client = "rpc_" + i.name;
                defs += fmt::format("static struct cxvm_rpc_client {} = {{.name = \"{}\"}};\n",
                                    client, i.name);
                defs += procedureClientStubs(p, i.name, client);
                init += fmt::format("    cxvm_rpc_client_bind(&{});\n", client);
                break;
            }
            case InterfaceKind::Provides: {
                const adl::Procedure& p = procedureOf(i);
                h += fmt::format("/* {} ({}): implemented by the component */\n", i.name, p.name);
                for (const auto& m : p.methods) h += procedurePrototype(p, m, i.name) + ";\n";
                std::string dispatcher = "dispatch_" + i.name;
                defs += procedureDispatcher(p, i.name, dispatcher);
                defs += fmt::format(
                    "static struct cxvm_rpc_server srv_{0} = {{.name = \"{0}\", .dispatch = {1}}};\n\n",
                    i.name, dispatcher);
                init += fmt::format("    cxvm_rpc_server_bind(&srv_{});\n", i.name);
                start += fmt::format("    cxvm_rpc_server_start(&srv_{});\n", i.name);
                break;
            }
            }
        }

        std::vector<std::pair<std::string, unsigned>> sems;  // name, limit
        for (const auto& m : type.mutexes) {
            requireIdentifier(m, "mutex", type.loc);
            h += fmt::format("int {0}_lock(void);\nint {0}_unlock(void);\n", m);
            defs += fmt::format(
                "static struct cxvm_shared_mutex *mx_{0};\n"
                "int {0}_lock(void) {{ return cxvm_mutex_lock(mx_{0}); }}\n"
                "int {0}_unlock(void) {{ return cxvm_mutex_unlock(mx_{0}); }}\n\n",
                m);
            init += fmt::format("    mx_{} = cxvm_mutex_create();\n", m);
        }
        for (const auto& s : type.semaphores) sems.emplace_back(s, 0u);
        for (const auto& s : type.binarySemaphores) sems.emplace_back(s, 1u);
        for (const auto& [s, limit] : sems) {
            requireIdentifier(s, "semaphore", type.loc);
            h += fmt::format("int {0}_wait(void);\nint {0}_trywait(void);\nint {0}_post(void);\n", s);
            defs += fmt::format(
                "static struct cxvm_shared_sem *sem_{0};\n"
                "int {0}_wait(void) {{ return cxvm_sem_wait(sem_{0}); }}\n"
                "int {0}_trywait(void) {{ return cxvm_sem_trywait(sem_{0}); }}\n"
                "int {0}_post(void) {{ return cxvm_sem_post(sem_{0}); }}\n\n",
                s);
            init += fmt::format("    sem_{0} = cxvm_sem_create(v->sem_{0}, {1}u);\n", s, limit);
        }

        h += "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";

        // Per-instance values: attributes and semaphore initial counts.
        std::string table = "static const struct instance_values {\n    const char *instance;\n";
        for (const auto& a : attrs)
            table += a.isString ? fmt::format("    const char *{};\n", a.name)
                                : fmt::format("    {} {};\n", a.cType, a.name);
        for (const auto& s : sems) table += fmt::format("    unsigned sem_{};\n", s.first);
        table += "} k_instances[] = {\n";
        for (const adl::Instance* inst : instances) {
            table += fmt::format("    {{{}", cString(inst->name));
            for (const auto& a : attrs) table += ", " + attributeValue(a, *inst);
            for (const auto& s : sems) {
                auto it = inst->attributes.find(s.first + "_value");
                std::int64_t v = 0;
                if (it != inst->attributes.end()) {
                    if (it->second.kind != adl::Value::Kind::Int || it->second.i < 0 ||
                        it->second.i > INT_MAX)
                        throw Error::format("{}: error: {}.{}_value must be a count >= 0",
                                            where(it->second.loc.line ? it->second.loc : inst->loc),
                                            inst->name, s.first);
                    v = it->second.i;
                }
                table += fmt::format(", {}u", v);
            }
            table += "},\n";
        }
        table += "    {0}\n};\n\n";

        std::string src = fmt::format(
            "/* Generated by cxvm from the system spec: the glue of component type {0}.\n"
            " * Do not edit; it is rewritten on every build. */\n"
            "#define CXVM_GLUE_SOURCE 1\n#include \"camkes.h\"\n\n"
            "#include <camkes/runtime.h>\n\n#include <stdint.h>\n#include <stdlib.h>\n"
            "#include <string.h>\n\n",
            type.name);
        src += defs + table;
        src += "const char *get_instance_name(void) { return cxvm_instance_name(); }\n\n";
        src += "static void glue_init(const char *instance) {\n"
               "    const struct instance_values *v = k_instances;\n"
               "    while (v->instance && strcmp(v->instance, instance) != 0) v++;\n"
               "    if (!v->instance)\n"
               "        cxvm_fatal(\"%s is not an instance of " + type.name +
               " in this build; rebuild the app\", instance);\n";
        for (const auto& a : attrs) src += fmt::format("    {0} = v->{0};\n", a.name);
        src += init + "}\n\n";
        src += "static void glue_start(void) {\n" + start + "}\n\n";
        src += fmt::format(
            "static const struct cxvm_component k_component = {{\n"
            "    .type_name = \"{}\",\n    .control = {},\n    .init = glue_init,\n"
            "    .start = glue_start,\n    .run = {},\n}};\n\n"
            "int main(void) {{ return cxvm_component_main(&k_component); }}\n",
            type.name, type.control ? 1 : 0, type.control ? "run" : "NULL");
        header = std::move(h);
        source = std::move(src);
    }
};

void writeIfChanged(const std::filesystem::path& p, const std::string& content) {
    {
        std::ifstream in(p, std::ios::binary);
        if (in) {
            std::ostringstream old;
            old << in.rdbuf();
            if (old.str() == content) return;
        }
    }
    std::filesystem::path tmp = p;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error::format("cannot write {}", tmp.string());
        out << content;
        if (!out.flush()) throw Error::format("cannot write {}", tmp.string());
    }
    std::filesystem::rename(tmp, p);
}

// A VM type's executable is cxvm's VM instance main plus the app's VMM-side code
// (docs/crossvm.md): the glue only hands main to it, and the header gives app code the
// handler API. The VM's cross-VM ids come from the spec at run time (runApp), so a spec
// edit needs no rebuild of the VMM.
Glue vmGlue(const adl::ComponentType& type) {
    Glue g;
    g.header = fmt::format(
        "/* Generated by cxvm from the system spec: the glue of VM component type {0}.\n"
        " * Its executable is cxvm's VMM (one process per VM instance) plus the app's\n"
        " * VMM-side code: hypercall handlers registered from pre_init(). */\n"
        "#ifndef CXVM_GENERATED_CAMKES_H\n#define CXVM_GENERATED_CAMKES_H\n\n"
        "#include <vmm/vmm.h>\n\n#endif\n",
        type.name);
    g.source = fmt::format(
        "/* Generated by cxvm from the system spec: the glue of VM component type {0}.\n"
        " * Do not edit; it is rewritten on every build. */\n"
        "#include \"camkes.h\"\n\n"
        "int cxvm_vm_instance_main(int argc, char **argv);\n\n"
        "int main(int argc, char **argv) {{ return cxvm_vm_instance_main(argc, argv); }}\n",
        type.name);
    return g;
}

}  // namespace

Glue generateGlue(const adl::System& system, std::string_view typeName) {
    const adl::ComponentType* type = system.findType(typeName);
    if (!type) throw Error::format("the system has no component type {}", typeName);
    requireIdentifier(type->name, "component type", type->loc);
    if (type->isVm) return vmGlue(*type);
    checkConnections(system);
    TypeGlue g(system, *type);
    g.generate();
    return {std::move(g.header), std::move(g.source)};
}

void writeGlue(const Glue& glue, const std::filesystem::path& outDir) {
    std::error_code ec;
    std::filesystem::create_directories(outDir, ec);
    if (ec) throw Error::format("cannot create {}: {}", outDir.string(), ec.message());
    writeIfChanged(outDir / "camkes.h", glue.header);
    writeIfChanged(outDir / "camkes_glue.c", glue.source);
}

}  // namespace cxvm::system
