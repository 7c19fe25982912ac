#include "system/VmNics.h"

#include "system/Connector.h"
#include "util/Error.h"

namespace cxvm::system {

namespace {

constexpr std::string_view kShape =
    "{\"type\": \"user\", \"hostfwd\": [\"tcp:127.0.0.1:2222-:22\"], \"mac\": \"52:54:00:12:34:56\"} or "
    "{\"type\": \"tap\", \"ifname\": \"tap0\"}";

const adl::Value* stringField(const adl::Value& entry, std::string_view key, const std::string& what) {
    const adl::Value* v = entry.get(key);
    if (v && (v->kind != adl::Value::Kind::String || v->s.empty()))
        throw Error::format("{}: error: {}.{} must be a non-empty string", where(v->loc), what, key);
    return v;
}

}  // namespace

std::vector<net::NicOptions> vmNics(const adl::Instance& vm) {
    std::vector<net::NicOptions> nics;
    auto it = vm.attributes.find("nics");
    if (it == vm.attributes.end() || it->second.kind == adl::Value::Kind::None) return nics;
    const adl::Value& list = it->second;
    if (list.kind != adl::Value::Kind::List)
        throw Error::format("{}: error: {}.nics must be a list of {}", where(list.loc), vm.name, kShape);
    for (std::size_t k = 0; k < list.list.size(); ++k) {
        const adl::Value& d = list.list[k];
        const std::string what = fmt::format("{}.nics[{}]", vm.name, k);
        if (d.kind != adl::Value::Kind::Dict)
            throw Error::format("{}: error: {} must be {}", where(d.loc), what, kShape);
        for (const auto& [key, value] : d.dict)
            if (key != "type" && key != "hostfwd" && key != "mac" && key != "ifname")
                throw Error::format("{}: error: {}: unknown key \"{}\" (known: type, hostfwd, mac, ifname)",
                                    where(value.loc), what, key);
        const adl::Value* type = stringField(d, "type", what);
        if (!type) throw Error::format("{}: error: {}.type must be \"user\" or \"tap\"", where(d.loc), what);
        // Build the --net spelling and let one parser decide, each part checked at its
        // own place so that the error points there.
        std::string spec = type->s;
        if (type->s != "user" && type->s != "tap")
            throw Error::format("{}: error: {}.type must be \"user\" or \"tap\", not \"{}\"", where(type->loc), what,
                                type->s);
        if (const adl::Value* ifname = stringField(d, "ifname", what)) spec += ",ifname=" + ifname->s;
        if (const adl::Value* mac = stringField(d, "mac", what)) {
            try {
                net::parseNetSpec(type->s == "tap" ? "tap,ifname=x,mac=" + mac->s : "user,mac=" + mac->s, what);
            } catch (const Error& e) {
                throw Error::format("{}: error: {}", where(mac->loc), e.what());
            }
            spec += ",mac=" + mac->s;
        }
        if (const adl::Value* fwd = d.get("hostfwd")) {
            std::vector<const adl::Value*> rules;
            if (fwd->kind == adl::Value::Kind::String)
                rules.push_back(fwd);
            else if (fwd->kind == adl::Value::Kind::List)
                for (const adl::Value& r : fwd->list) rules.push_back(&r);
            else
                throw Error::format("{}: error: {}.hostfwd must be a rule string or a list of them", where(fwd->loc),
                                    what);
            for (const adl::Value* r : rules) {
                if (r->kind != adl::Value::Kind::String)
                    throw Error::format("{}: error: {}.hostfwd entries must be strings like \"tcp::2222-:22\"",
                                        where(r->loc), what);
                try {
                    net::parseHostForward(r->s, what);
                } catch (const Error& e) {
                    throw Error::format("{}: error: {}", where(r->loc), e.what());
                }
                spec += ",hostfwd=" + r->s;
            }
        }
        net::NicOptions n;
        try {
            n = net::parseNetSpec(spec, what);
        } catch (const Error& e) {
            throw Error::format("{}: error: {}", where(d.loc), e.what());
        }
        n.origin = fmt::format("{}: {}", where(d.loc), what);
        nics.push_back(std::move(n));
    }
    return nics;
}

}  // namespace cxvm::system
