#include "system/CrossVmLayout.h"

#include "system/Connector.h"
#include "util/Error.h"

#include <map>

namespace cxvm::system {

namespace {

using adl::InterfaceKind;

struct KindInfo {
    InterfaceKind kind;
    std::string_view word;  // for messages: "dataport", "emitted event", ...
};

// The spec's connection names an interface of `inst` takes part in, joined by ", ".
std::string connectionsOf(const adl::System& system, std::string_view inst,
                          std::string_view iface) {
    std::string names;
    for (const auto& c : system.connections) {
        bool in = false;
        for (const auto* ends : {&c.from, &c.to})
            for (const auto& e : *ends) in |= e.instance == inst && e.interface == iface;
        if (!in) continue;
        if (!names.empty()) names += ", ";
        names += c.name;
    }
    return names;
}

const adl::SourceLoc& placeOf(const adl::Value* v, const adl::Interface& iface) {
    return v && v->loc.line > 0 ? v->loc : iface.loc;
}

// One id space: the interfaces of one kind in declaration order, numbered by their
// `<iface>_id` when set, else by their position; then checked to be exactly 1..n.
std::vector<CrossVmEntry> numbered(const adl::System& system, const adl::Instance& vm,
                                   const adl::ComponentType& type, const KindInfo& k) {
    std::vector<CrossVmEntry> entries;
    for (const auto& iface : type.interfaces) {
        if (iface.kind != k.kind) continue;
        CrossVmEntry e;
        e.iface = iface.name;
        e.connection = connectionsOf(system, vm.name, iface.name);
        if (e.connection.empty())
            throw Error::format(
                "{}: error: {} {}.{} ({} {}) is not connected: a VM's dataports and events "
                "are its guest's /dev/camkes_* devices, and each needs the connection that "
                "serves it",
                where(iface.loc), k.word, vm.name, iface.name, adl::interfaceKeyword(iface.kind),
                iface.type);
        auto idIt = vm.attributes.find(iface.name + "_id");
        const adl::Value* idv = idIt == vm.attributes.end() ? nullptr : &idIt->second;
        e.loc = placeOf(idv, iface);
        std::int64_t id = static_cast<std::int64_t>(entries.size()) + 1;
        if (idv) {
            if (idv->kind != adl::Value::Kind::Int)
                throw Error::format("{}: error: {}.{}_id must be an integer", where(e.loc),
                                    vm.name, iface.name);
            id = idv->i;
        }
        if (id < 1)
            throw Error::format("{}: error: {}.{}_id = {}: cross-VM {} ids start at 1 (0 is "
                                "not a valid id)",
                                where(e.loc), vm.name, iface.name, id, k.word);
        e.id = static_cast<std::uint32_t>(std::min<std::int64_t>(id, UINT32_MAX));
        if (k.kind == InterfaceKind::Dataport) {
            e.size = iface.dataportSize;
            auto sz = vm.attributes.find(iface.name + "_size");
            if (sz != vm.attributes.end() &&
                (sz->second.kind != adl::Value::Kind::Int ||
                 static_cast<std::uint64_t>(sz->second.i) != iface.dataportSize))
                throw Error::format("{}: error: {}.{}_size must equal the dataport's size ({} "
                                    "bytes, {})",
                                    where(placeOf(&sz->second, iface)), vm.name, iface.name,
                                    iface.dataportSize, iface.type);
        }
        entries.push_back(std::move(e));
    }
    // Exactly 1..n: the guest's helper gives the Nth device argument minor N.
    std::map<std::uint32_t, const CrossVmEntry*> byId;
    for (const auto& e : entries) {
        auto [prev, fresh] = byId.emplace(e.id, &e);
        if (!fresh)
            throw Error::format("{}: error: {}: {}s {} and {} both have id {} (the first one: "
                                "{})",
                                where(e.loc), vm.name, k.word, prev->second->iface, e.iface, e.id,
                                where(prev->second->loc));
    }
    for (const auto& e : entries)
        if (e.id > entries.size())
            throw Error::format("{}: error: {}.{}_id = {}: cross-VM {} ids must be contiguous "
                                "from 1; {} has {} {}{}, so ids 1..{}",
                                where(e.loc), vm.name, e.iface, e.id, k.word, vm.name,
                                entries.size(), k.word, entries.size() == 1 ? "" : "s",
                                entries.size());
    std::vector<CrossVmEntry> sorted;
    sorted.reserve(entries.size());
    for (const auto& [id, e] : byId) sorted.push_back(*e);
    return sorted;
}

void appendHelperLine(std::string& out, std::string_view helper,
                      const std::vector<CrossVmEntry>& entries, bool withSize) {
    if (entries.empty()) return;
    out += "    ";
    out += helper;
    for (const auto& e : entries) {
        out += ' ' + e.device();
        if (withSize) out += ' ' + std::to_string(e.size);
    }
    out += '\n';
}

}  // namespace

CrossVmLayout crossVmLayout(const adl::System& system, const adl::Instance& vm) {
    const adl::ComponentType* type = system.findType(vm.type);
    if (!type)
        throw Error::format("{}: error: instance {} has unknown type {}", where(vm.loc), vm.name,
                            vm.type);
    if (!type->isVm)
        throw Error::format("{}: error: instance {} ({}) is not a VM", where(vm.loc), vm.name,
                            vm.type);
    for (const auto& iface : type->interfaces)
        if (iface.kind == InterfaceKind::Uses || iface.kind == InterfaceKind::Provides)
            throw Error::format("{}: error: {}.{}: a VM cannot take part in a procedure "
                                "connection ({} {}); a guest reaches native components through "
                                "dataports and events",
                                where(iface.loc), vm.name, iface.name,
                                adl::interfaceKeyword(iface.kind), iface.type);
    CrossVmLayout l;
    l.instance = vm.name;
    l.dataports = numbered(system, vm, *type, {InterfaceKind::Dataport, "dataport"});
    l.emits = numbered(system, vm, *type, {InterfaceKind::Emits, "emitted event"});
    l.consumes = numbered(system, vm, *type, {InterfaceKind::Consumes, "consumed event"});
    return l;
}

std::vector<CrossVmLayout> crossVmLayouts(const adl::System& system) {
    std::vector<CrossVmLayout> layouts;
    for (const auto& inst : system.instances) {
        const adl::ComponentType* t = system.findType(inst.type);
        if (t && t->isVm) layouts.push_back(crossVmLayout(system, inst));
    }
    return layouts;
}

std::string camkesInitScript(std::span<const CrossVmLayout> layouts) {
    std::string s =
        "#!/bin/sh\n"
        "# Generated by cxvm from the app's spec (system::camkesInitScript); installed as\n"
        "# /etc/init.d/S90camkes_init and run at boot by rcS (after /init loaded the\n"
        "# modules). The guest side of the cross-VM connections: each helper gives its Nth\n"
        "# device minor N, which is the spec's id N. The VMM names the VM instance on the\n"
        "# kernel command line (cxvm.instance=...).\n";
    bool any = false;
    for (const auto& l : layouts) any |= !l.empty();
    if (any) {
        s += "case \" $(cat /proc/cmdline) \" in\n";
        for (const auto& l : layouts) {
            if (l.empty()) continue;
            s += fmt::format("*\" cxvm.instance={} \"*)\n", l.instance);
            appendHelperLine(s, "dataport_init", l.dataports, true);
            appendHelperLine(s, "consumes_event_init", l.consumes, false);
            appendHelperLine(s, "emits_event_init", l.emits, false);
            s += "    ;;\n";
        }
        s += "esac\n";
    }
    s += "# Cross-VM connector nodes (/dev/camkes_*) are made usable by every guest program.\n"
         "for node in /dev/camkes_*; do\n"
         "    [ -e \"$node\" ] && chmod 0666 \"$node\"\n"
         "done\n"
         "echo \"camkes_init: done\"\n";
    return s;
}

}  // namespace cxvm::system
