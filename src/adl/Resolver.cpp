#include "adl/Resolver.h"

#include "adl/AttributeTypes.h"
#include "adl/Parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace cxvm::adl {
namespace {

// VM_INIT_DEF declares this attribute; it is how a component is recognised as a VM.
constexpr std::string_view kVmMarker = "cxvm_is_vm";

const char* kindWord(InterfaceKind k) {
    switch (k) {
    case InterfaceKind::Provides: return "provides";
    case InterfaceKind::Uses: return "uses";
    case InterfaceKind::Emits: return "emits";
    case InterfaceKind::Consumes: return "consumes";
    case InterfaceKind::Dataport: return "dataport";
    }
    return "?";
}

const char* endKindWord(ConnectorEndKind k) {
    switch (k) {
    case ConnectorEndKind::Procedure: return "Procedure";
    case ConnectorEndKind::Event: return "Event";
    case ConnectorEndKind::Dataport: return "Dataport";
    }
    return "?";
}

InterfaceKind expectedKind(ConnectorEndKind k, bool from) {
    switch (k) {
    case ConnectorEndKind::Procedure: return from ? InterfaceKind::Uses : InterfaceKind::Provides;
    case ConnectorEndKind::Event: return from ? InterfaceKind::Emits : InterfaceKind::Consumes;
    case ConnectorEndKind::Dataport: return InterfaceKind::Dataport;
    }
    return InterfaceKind::Provides;
}

bool isVmDecl(const ast::ComponentDecl& c) {
    return std::any_of(c.attributes.begin(), c.attributes.end(), [](auto& a) { return a.name == kVmMarker; });
}

// One compound level of the flattened tree: the names visible in a composition.
struct Scope {
    struct Local {
        std::string full;
        const ast::ComponentDecl* type = nullptr;
        SourceLoc loc;
    };
    std::map<std::string, Local> names;
    const ast::Composition* composition = nullptr;
};

struct ResolvedEnd {
    std::string instance;
    const ast::ComponentDecl* type = nullptr;
    const ast::InterfaceDecl* iface = nullptr;
};

class Resolver {
public:
    Resolver(const ast::Spec& spec, DiagnosticSink& d) : spec_(spec), d_(d), types_(spec.structs) {}

    std::optional<System> run() {
        declarations();
        for (const auto& c : spec_.components) componentType(c);
        if (spec_.assemblies.empty()) {
            d_.error({}, "no assembly: the spec declares no system to build");
        }
        std::vector<std::string> stack;
        for (const auto& a : spec_.assemblies) flatten(a.composition, "", stack);
        for (const auto& a : spec_.assemblies) configs_.push_back({&a.configuration, ""});
        for (auto& [conn, prefix] : connections_) connection(*conn, prefix);
        for (auto& [cfg, prefix] : configs_) configuration(*cfg, prefix);
        references();
        for (auto& inst : sys_.instances) instanceChecks(inst);
        unconnected();
        if (d_.errorCount() > 0) return std::nullopt;
        return std::move(sys_);
    }

private:
    // --- declarations ------------------------------------------------------------------
    template <typename T, typename NameOf, typename LocOf>
    void uniqueNames(const std::vector<T>& items, std::string_view what, NameOf nameOf, LocOf locOf) {
        std::map<std::string, const T*> seen;
        for (const auto& item : items) {
            auto [it, fresh] = seen.emplace(nameOf(item), &item);
            if (!fresh) {
                d_.error(locOf(item), fmt::format("duplicate {} '{}'", what, nameOf(item)));
                d_.note(locOf(*it->second), "previously declared here");
            }
        }
    }

    void declarations() {
        uniqueNames(spec_.procedures, "procedure", [](auto& p) { return p.procedure.name; },
                    [](auto& p) { return p.procedure.loc; });
        uniqueNames(spec_.components, "component", [](auto& c) { return c.name; }, [](auto& c) { return c.loc; });
        uniqueNames(spec_.connectors, "connector", [](auto& c) { return c.name; }, [](auto& c) { return c.loc; });
        uniqueNames(spec_.structs, "struct", [](auto& s) { return s.name; }, [](auto& s) { return s.loc; });
        for (const auto& p : spec_.procedures) {
            if (!procedures_.count(p.procedure.name)) {
                procedures_[p.procedure.name] = &p;
                uniqueNames(p.procedure.methods, fmt::format("method in procedure '{}'", p.procedure.name),
                            [](auto& m) { return m.name; }, [&](auto&) { return p.procedure.loc; });
                sys_.procedures.push_back(p.procedure);
            }
        }
        for (const auto& c : spec_.connectors) {
            if (!connectors_.count(c.name)) {
                connectors_[c.name] = &c;
                sys_.connectors.push_back(c);
            }
        }
        for (const auto& c : spec_.components) components_.emplace(c.name, &c);
        for (const auto& s : spec_.structs) {
            for (const auto& f : s.fields) {
                auto u = types_.unknownName(f.type);
                if (!u.empty()) d_.error(f.type.loc, fmt::format("unknown type '{}' in struct '{}'", u, s.name));
            }
        }
    }

    void componentType(const ast::ComponentDecl& c) {
        if (components_.at(c.name) != &c) return;  // a duplicate, already reported
        ComponentType t;
        t.name = c.name;
        t.control = c.control;
        t.hardware = c.hardware;
        t.isVm = isVmDecl(c);
        t.compound = c.composition.has_value();
        t.loc = c.loc;
        // Interfaces, mutexes and semaphores share one namespace (they all become C names).
        std::map<std::string, SourceLoc> names;
        auto claim = [&](const std::string& n, const SourceLoc& loc) {
            auto [it, fresh] = names.emplace(n, loc);
            if (!fresh) {
                d_.error(loc, fmt::format("duplicate name '{}' in component '{}'", n, c.name));
                d_.note(it->second, "previously declared here");
            }
            return fresh;
        };
        for (const auto& i : c.interfaces) {
            if (!claim(i.name, i.loc)) continue;
            if ((i.kind == InterfaceKind::Provides || i.kind == InterfaceKind::Uses) && !procedures_.count(i.type))
                d_.error(i.typeLoc, fmt::format("unknown procedure '{}'", i.type));
            if (t.isVm && i.kind == InterfaceKind::Dataport && i.dataportSize % 4096 != 0)
                d_.error(i.typeLoc, fmt::format("cross-VM dataport '{}' of VM component '{}' must be a multiple of "
                                                "4096 bytes (the guest maps whole pages); got {}",
                                                i.name, c.name, i.dataportSize));
            t.interfaces.push_back({i.name, i.kind, i.type, i.optional, i.dataportSize, i.loc});
        }
        for (const auto& [n, loc] : c.mutexes) if (claim(n, loc)) t.mutexes.push_back(n);
        for (const auto& [n, loc] : c.semaphores) if (claim(n, loc)) t.semaphores.push_back(n);
        for (const auto& [n, loc] : c.binarySemaphores) if (claim(n, loc)) t.binarySemaphores.push_back(n);
        std::map<std::string, SourceLoc> attrs;
        for (const auto& a : c.attributes) {
            auto [it, fresh] = attrs.emplace(a.name, a.loc);
            if (!fresh) {
                d_.error(a.loc, fmt::format("duplicate attribute '{}' in component '{}'", a.name, c.name));
                d_.note(it->second, "previously declared here");
                continue;
            }
            auto unknown = types_.unknownName(a.type);
            if (!unknown.empty()) {
                d_.error(a.type.loc, fmt::format("unknown attribute type '{}'", unknown));
                continue;
            }
            if (a.defaultValue) {
                if (auto m = types_.check(a.type, *a.defaultValue, fmt::format("attribute '{}'", a.name)))
                    d_.error(m->loc, m->message);
            }
            t.attributes.push_back({a.name, describeType(a.type), a.defaultValue, a.loc});
        }
        if (c.composition) {
            for (const auto& e : c.composition->exports) {
                const ast::InterfaceDecl* outer = nullptr;
                for (const auto& i : c.interfaces)
                    if (i.name == e.outer) outer = &i;
                if (!outer)
                    d_.error(e.loc, fmt::format("export to '{}', which component '{}' does not declare as an interface",
                                                e.outer, c.name));
            }
        } else if (!c.configuration.settings.empty()) {
            d_.error(c.configuration.settings.front().targetLoc,
                     fmt::format("component '{}' has a configuration but no composition", c.name));
        }
        sys_.types.push_back(std::move(t));
    }

    const ast::ComponentDecl* findComponent(const std::string& n) const {
        auto it = components_.find(n);
        return it == components_.end() ? nullptr : it->second;
    }

    // --- flattening --------------------------------------------------------------------
    void flatten(const ast::Composition& comp, const std::string& prefix, std::vector<std::string>& stack) {
        Scope& scope = scopes_[prefix];
        scope.composition = &comp;  // for the top level: the last assembly's (exports unused there)
        for (const auto& inst : comp.instances) {
            auto prev = scope.names.find(inst.name);
            if (prev != scope.names.end()) {
                d_.error(inst.loc, fmt::format("duplicate instance name '{}'", inst.name));
                d_.note(prev->second.loc, "previously declared here");
                continue;
            }
            const ast::ComponentDecl* type = findComponent(inst.type);
            if (!type) {
                d_.error(inst.typeLoc, fmt::format("unknown component type '{}'", inst.type));
                continue;
            }
            std::string full = prefix + inst.name;
            scope.names[inst.name] = {full, type, inst.loc};
            if (type->composition) {
                if (std::find(stack.begin(), stack.end(), type->name) != stack.end() ||
                    stack.size() >= static_cast<std::size_t>(kMaxDepth)) {
                    d_.error(inst.typeLoc, fmt::format("component '{}' contains itself", type->name));
                    scope.names.erase(inst.name);
                    continue;
                }
                stack.push_back(type->name);
                flatten(*type->composition, full + ".", stack);
                stack.pop_back();
                configs_.push_back({&type->configuration, full + "."});
                continue;
            }
            Instance out;
            out.name = full;
            out.type = type->name;
            out.loc = inst.loc;
            out.group = inst.group;
            for (const auto& a : type->attributes)
                if (a.defaultValue) out.attributes[a.name] = *a.defaultValue;
            instanceIndex_[full] = sys_.instances.size();
            sys_.instances.push_back(std::move(out));
        }
        // Scope references may have moved if scopes_ rehashed; std::map keeps them stable.
        for (const auto& c : comp.connections) connections_.push_back({&c, prefix});
    }

    std::optional<ResolvedEnd> resolveEnd(const ast::EndRef& e, const std::string& prefix, int depth = 0) {
        const Scope& scope = scopes_[prefix];
        auto it = scope.names.find(e.instance);
        if (it == scope.names.end()) {
            d_.error(e.loc, fmt::format("unknown instance '{}'", e.instance));
            return std::nullopt;
        }
        const auto& local = it->second;
        if (local.type->composition) {
            for (const auto& ex : local.type->composition->exports) {
                if (ex.outer == e.interface) {
                    if (depth > kMaxDepth) return std::nullopt;
                    return resolveEnd(ex.inner, local.full + ".", depth + 1);
                }
            }
            d_.error(e.interfaceLoc, fmt::format("'{}' (compound component '{}') exports no interface '{}'",
                                                 e.instance, local.type->name, e.interface));
            return std::nullopt;
        }
        for (const auto& i : local.type->interfaces) {
            if (i.name == e.interface) return ResolvedEnd{local.full, local.type, &i};
        }
        d_.error(e.interfaceLoc, fmt::format("component '{}' (instance '{}') has no interface '{}'",
                                             local.type->name, local.full, e.interface));
        d_.note(local.type->loc, fmt::format("component '{}' is declared here", local.type->name));
        return std::nullopt;
    }

    // --- connections -------------------------------------------------------------------
    void connection(const ast::ConnectionDecl& c, const std::string& prefix) {
        std::string full = prefix + c.name;
        auto [prev, fresh] = connectionNames_.emplace(full, c.loc);
        if (!fresh) {
            d_.error(c.loc, fmt::format("duplicate connection name '{}'", c.name));
            d_.note(prev->second, "previously declared here");
            return;
        }
        const Connector* conn = nullptr;
        if (auto it = connectors_.find(c.connector); it != connectors_.end()) conn = it->second;
        else d_.error(c.connectorLoc, fmt::format("unknown connector '{}'", c.connector));

        if (c.from.empty()) d_.error(c.loc, fmt::format("connection '{}' has no 'from' end", c.name));
        if (c.to.empty()) d_.error(c.loc, fmt::format("connection '{}' has no 'to' end", c.name));
        if (conn) {
            if (c.from.size() > 1 && !conn->from.multiple)
                d_.error(c.from[1].loc, fmt::format("connector '{}' takes one 'from' end; connection '{}' has {}",
                                                    conn->name, c.name, c.from.size()));
            if (c.to.size() > 1 && !conn->to.multiple)
                d_.error(c.to[1].loc, fmt::format("connector '{}' takes one 'to' end; connection '{}' has {}",
                                                  conn->name, c.name, c.to.size()));
        }
        Connection out;
        out.name = full;
        out.connector = c.connector;
        out.loc = c.loc;
        std::vector<std::pair<ResolvedEnd, const ast::EndRef*>> ends;
        bool ok = true;
        for (bool from : {true, false}) {
            for (const auto& e : from ? c.from : c.to) {
                auto r = resolveEnd(e, prefix);
                if (!r) {
                    ok = false;
                    continue;
                }
                if (conn) {
                    const ConnectorEnd& ce = from ? conn->from : conn->to;
                    InterfaceKind want = expectedKind(ce.kind, from);
                    if (r->iface->kind != want) {
                        d_.error(e.interfaceLoc,
                                 fmt::format("'{}.{}' is a {} interface, but the '{}' end of connector '{}' must be "
                                             "a {} interface ({})",
                                             e.instance, e.interface, kindWord(r->iface->kind), from ? "from" : "to",
                                             conn->name, kindWord(want), endKindWord(ce.kind)));
                        ok = false;
                        continue;
                    }
                    if (ce.hardware && !r->type->hardware) {
                        d_.error(e.loc, fmt::format("the '{}' end of connector '{}' must be a hardware component; "
                                                    "'{}' ({}) is not",
                                                    from ? "from" : "to", conn->name, e.instance, r->type->name));
                        ok = false;
                    }
                }
                auto key = r->instance + "." + r->iface->name;
                bool exclusive = r->iface->kind == InterfaceKind::Uses || r->iface->kind == InterfaceKind::Consumes ||
                                 r->iface->kind == InterfaceKind::Dataport;
                auto [used, first] = connected_.emplace(key, std::make_pair(full, e.loc));
                if (!first && exclusive && used->second.first != full) {
                    d_.error(e.loc, fmt::format("'{}.{}' is already connected by connection '{}'", e.instance,
                                                e.interface, used->second.first));
                    d_.note(used->second.second, "first connected here");
                }
                (from ? out.from : out.to).push_back({r->instance, r->iface->name});
                ends.emplace_back(*r, &e);
            }
        }
        if (ok && conn && !ends.empty()) endTypesAgree(ends);
        sys_.connections.push_back(std::move(out));
    }

    void endTypesAgree(const std::vector<std::pair<ResolvedEnd, const ast::EndRef*>>& ends) {
        const auto& [first, firstRef] = ends.front();
        for (std::size_t k = 1; k < ends.size(); ++k) {
            const auto& [r, ref] = ends[k];
            const auto* a = first.iface;
            const auto* b = r.iface;
            if (a->type == b->type) continue;
            std::string an = fmt::format("{}.{}", firstRef->instance, firstRef->interface);
            std::string bn = fmt::format("{}.{}", ref->instance, ref->interface);
            if (a->kind == InterfaceKind::Dataport) {
                bool sameBase = a->type.substr(0, a->type.find('(')) == b->type.substr(0, b->type.find('('));
                d_.error(ref->interfaceLoc, fmt::format("dataport {} mismatch: '{}' is {} but '{}' is {}",
                                                        sameBase ? "size" : "type", an, a->type, bn, b->type));
            } else if (a->kind == InterfaceKind::Emits || a->kind == InterfaceKind::Consumes) {
                d_.warning(ref->interfaceLoc, fmt::format("event type mismatch: '{}' is {} but '{}' is {}", an,
                                                          a->type, bn, b->type));
            } else {
                d_.error(ref->interfaceLoc, fmt::format("procedure mismatch: '{}' {} {} but '{}' {} {}", an,
                                                        kindWord(a->kind), a->type, bn, kindWord(b->kind), b->type));
            }
        }
    }

    // --- configuration -----------------------------------------------------------------
    struct Target {
        Instance* instance = nullptr;
        const ast::ComponentDecl* type = nullptr;
    };

    // Resolves `a.b` (an instance path) relative to `prefix`. `vmN_config` names the VM
    // instance vmN (the camkes-vm convention for the VMM's passthrough settings).
    std::optional<Target> resolveTarget(const std::vector<std::string>& path, const std::string& prefix,
                                        const SourceLoc& loc) {
        std::string scopeName = prefix;
        for (std::size_t k = 0; k < path.size(); ++k) {
            const Scope& scope = scopes_[scopeName];
            bool last = k + 1 == path.size();
            auto it = scope.names.find(path[k]);
            if (it == scope.names.end() && last && path[k].size() > 7 &&
                path[k].compare(path[k].size() - 7, 7, "_config") == 0) {
                auto base = scope.names.find(path[k].substr(0, path[k].size() - 7));
                if (base != scope.names.end() && isVmDecl(*base->second.type)) it = base;
            }
            if (it == scope.names.end()) {
                d_.error(loc, fmt::format("unknown instance '{}'", path[k]));
                return std::nullopt;
            }
            const auto& local = it->second;
            if (local.type->composition) {
                if (last) {
                    d_.error(loc, fmt::format("'{}' is an instance of compound component '{}'; set attributes on "
                                              "the instances inside it (e.g. {}.<instance>.<attribute>)",
                                              path[k], local.type->name, path[k]));
                    return std::nullopt;
                }
                scopeName = local.full + ".";
                continue;
            }
            if (!last) {
                d_.error(loc, fmt::format("'{}' is not an instance of a compound component", path[k]));
                return std::nullopt;
            }
            auto idx = instanceIndex_.find(local.full);
            if (idx == instanceIndex_.end()) return std::nullopt;
            return Target{&sys_.instances[idx->second], local.type};
        }
        return std::nullopt;
    }

    std::optional<ast::AttrType> attributeType(const ast::ComponentDecl& c, const std::string& name) {
        for (const auto& a : c.attributes)
            if (a.name == name) return a.type;
        if (auto t = AttributeTypes::implicit(c, isVmDecl(c), name)) return t;
        return AttributeTypes::builtin(name);
    }

    void configuration(const ast::Configuration& cfg, const std::string& prefix) {
        std::map<std::string, SourceLoc> seen;
        for (const auto& s : cfg.settings) {
            auto target = resolveTarget(s.target, prefix, s.targetLoc);
            if (!target) continue;
            auto type = attributeType(*target->type, s.attribute);
            if (!type) {
                d_.error(s.attributeLoc, fmt::format("component '{}' has no attribute '{}'", target->type->name,
                                                     s.attribute));
                d_.note(target->type->loc, fmt::format("component '{}' is declared here", target->type->name));
                continue;
            }
            std::string key = target->instance->name + "." + s.attribute;
            auto [prev, fresh] = seen.emplace(key, s.attributeLoc);
            if (!fresh) {
                d_.warning(s.attributeLoc, fmt::format("'{}' is set twice; the later value wins", key));
                d_.note(prev->second, "first set here");
                prev->second = s.attributeLoc;
            }
            if (s.isReference) {
                pending_.push_back({target->instance, *type, &s, prefix});
                continue;
            }
            if (auto m = types_.check(*type, s.value, fmt::format("attribute '{}' of component '{}'", s.attribute,
                                                                  target->type->name))) {
                d_.error(m->loc, m->message);
                continue;
            }
            target->instance->attributes[s.attribute] = s.value;
        }
    }

    struct PendingRef {
        Instance* instance;
        ast::AttrType type;
        const ast::SettingDecl* setting;
        std::string prefix;
    };

    // `a.x <- b.y`: copies b.y's final value. Chains resolve in passes; what is left
    // after the passes has no source value or is a cycle.
    void references() {
        std::vector<PendingRef> todo = std::move(pending_);
        std::set<std::string> unresolved;
        for (const auto& p : todo) unresolved.insert(p.instance->name + "." + p.setting->attribute);
        bool progress = true;
        while (!todo.empty() && progress) {
            progress = false;
            std::vector<PendingRef> later;
            for (auto& p : todo) {
                const auto& s = *p.setting;
                auto src = resolveTarget(s.refTarget, p.prefix, s.refLoc);
                if (!src) {
                    unresolved.erase(p.instance->name + "." + s.attribute);
                    progress = true;
                    continue;
                }
                std::string srcKey = src->instance->name + "." + s.refAttribute;
                auto v = src->instance->attributes.find(s.refAttribute);
                if (unresolved.count(srcKey) || v == src->instance->attributes.end()) {
                    later.push_back(p);
                    continue;
                }
                Value copy = v->second;
                if (auto m = types_.check(p.type, copy, fmt::format("attribute '{}' (copied from '{}')", s.attribute, srcKey)))
                    d_.error(s.refLoc, m->message);
                else
                    p.instance->attributes[s.attribute] = std::move(copy);
                unresolved.erase(p.instance->name + "." + s.attribute);
                progress = true;
            }
            todo = std::move(later);
        }
        for (const auto& p : todo) {
            const auto& s = *p.setting;
            std::string src;
            for (const auto& part : s.refTarget) src += part + ".";
            d_.error(s.refLoc, fmt::format("cannot copy '{}{}': it has no value (or the '<-' settings form a cycle)",
                                           src, s.refAttribute));
        }
    }

    // --- per-instance checks -----------------------------------------------------------
    void instanceChecks(Instance& inst) {
        const ast::ComponentDecl* type = findComponent(inst.type);
        if (!type || !isVmDecl(*type)) return;
        auto image = inst.attributes.find("kernel_image");
        if (image == inst.attributes.end() || image->second.s.empty())
            d_.error(inst.loc, fmt::format("VM instance '{}' has no kernel_image", inst.name));
        crossVmDataportIds(inst, *type);
    }

    // The guest finds dataport N through /dev/camkes_* minor N, so a VM's dataport ids
    // must be 1..n (the tutorial: "ids must be contiguous, starting from 1").
    void crossVmDataportIds(Instance& inst, const ast::ComponentDecl& type) {
        std::vector<const ast::InterfaceDecl*> dps;
        for (const auto& i : type.interfaces)
            if (i.kind == InterfaceKind::Dataport) dps.push_back(&i);
        if (dps.empty()) return;
        std::size_t set = 0;
        for (const auto* d : dps) set += inst.attributes.count(d->name + "_id");
        for (const auto* d : dps) {
            auto sz = inst.attributes.find(d->name + "_size");
            if (sz == inst.attributes.end()) {
                Value v;
                v.kind = Value::Kind::Int;
                v.i = static_cast<std::int64_t>(d->dataportSize);
                v.loc = d->loc;
                inst.attributes[d->name + "_size"] = v;
            } else if (sz->second.i != static_cast<std::int64_t>(d->dataportSize)) {
                d_.error(sz->second.loc, fmt::format("{}.{}_size = {} but dataport '{}' is {} ({} bytes)", inst.name,
                                                     d->name, sz->second.i, d->name, d->type, d->dataportSize));
            }
        }
        if (set == 0) {
            std::string list;
            for (std::size_t k = 0; k < dps.size(); ++k) {
                Value v;
                v.kind = Value::Kind::Int;
                v.i = static_cast<std::int64_t>(k + 1);
                v.loc = dps[k]->loc;
                inst.attributes[dps[k]->name + "_id"] = v;
                list += fmt::format("{}{}_id = {}", k ? ", " : "", dps[k]->name, k + 1);
            }
            d_.note(inst.loc, fmt::format("cxvm assigned the cross-VM dataport ids of '{}' in declaration order: {}",
                                          inst.name, list));
            return;
        }
        std::map<std::int64_t, const ast::InterfaceDecl*> byId;
        for (const auto* d : dps) {
            auto it = inst.attributes.find(d->name + "_id");
            if (it == inst.attributes.end()) {
                d_.error(inst.loc, fmt::format("dataport '{}' of VM '{}' has no {}_id; cross-VM dataport ids must be "
                                               "contiguous from 1 (set all or none)",
                                               d->name, inst.name, d->name));
                continue;
            }
            const Value& v = it->second;
            auto [prev, fresh] = byId.emplace(v.i, d);
            if (!fresh) {
                d_.error(v.loc, fmt::format("dataports '{}' and '{}' of VM '{}' both have id {}", prev->second->name,
                                            d->name, inst.name, v.i));
            } else if (v.i < 1 || v.i > static_cast<std::int64_t>(dps.size())) {
                d_.error(v.loc, fmt::format("cross-VM dataport ids must be contiguous from 1: '{}' has {} dataport{}, "
                                            "so {}_id must be in 1..{}, not {}",
                                            inst.name, dps.size(), dps.size() == 1 ? "" : "s", d->name, dps.size(), v.i));
            }
        }
    }

    void unconnected() {
        for (const auto& inst : sys_.instances) {
            const ast::ComponentDecl* type = findComponent(inst.type);
            if (!type) continue;
            for (const auto& i : type->interfaces) {
                if (i.optional || connected_.count(inst.name + "." + i.name)) continue;
                auto msg = fmt::format("interface '{}' ({} {}) of instance '{}' is not connected", i.name,
                                       kindWord(i.kind), i.type, inst.name);
                if (i.kind == InterfaceKind::Uses) {
                    d_.error(inst.loc, msg + " (declare it 'maybe uses' if that is intended)");
                } else {
                    d_.warning(inst.loc, msg);
                }
                d_.note(i.loc, "declared here");
            }
        }
    }

    const ast::Spec& spec_;
    DiagnosticSink& d_;
    AttributeTypes types_;
    System sys_;
    std::map<std::string, const ast::ProcedureDecl*> procedures_;
    std::map<std::string, const Connector*> connectors_;
    std::map<std::string, const ast::ComponentDecl*> components_;
    std::map<std::string, Scope> scopes_;
    std::map<std::string, std::size_t> instanceIndex_;
    std::vector<std::pair<const ast::Configuration*, std::string>> configs_;
    std::vector<std::pair<const ast::ConnectionDecl*, std::string>> connections_;
    std::map<std::string, SourceLoc> connectionNames_;
    std::map<std::string, std::pair<std::string, SourceLoc>> connected_;
    std::vector<PendingRef> pending_;
};

}  // namespace

std::optional<System> resolve(const ast::Spec& spec, DiagnosticSink& diags) {
    return Resolver(spec, diags).run();
}

}  // namespace cxvm::adl
