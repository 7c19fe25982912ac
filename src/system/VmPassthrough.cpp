#include "system/VmPassthrough.h"

#include "system/Connector.h"
#include "util/Error.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace cxvm::system {

namespace {

using hw::vfio::PassthroughSpec;

const adl::Value* listAttr(const adl::Instance& vm, const char* name) {
    auto it = vm.attributes.find(name);
    if (it == vm.attributes.end() || it->second.kind == adl::Value::Kind::None) return nullptr;
    if (it->second.kind != adl::Value::Kind::List)
        throw Error::format("{}: error: {}.{} must be a list", where(it->second.loc), vm.name, name);
    return &it->second;
}

std::int64_t intField(const adl::Value& d, std::string_view key, const std::string& what, std::int64_t lo,
                      std::int64_t hi) {
    const adl::Value* v = d.get(key);
    if (!v) throw Error::format("{}: error: {} has no \"{}\"", where(d.loc), what, key);
    if (v->kind != adl::Value::Kind::Int || v->i < lo || v->i > hi)
        throw Error::format("{}: error: {}.{} must be an integer {:#x}..{:#x}", where(v->loc), what, key, lo, hi);
    return v->i;
}

const adl::Value* strField(const adl::Value& d, std::string_view key, const std::string& what) {
    const adl::Value* v = d.get(key);
    if (v && (v->kind != adl::Value::Kind::String || v->s.empty()))
        throw Error::format("{}: error: {}.{} must be a non-empty string", where(v->loc), what, key);
    return v;
}

}  // namespace

std::vector<PassthroughSpec> vmPassthrough(const adl::Instance& vm) {
    std::vector<PassthroughSpec> out;
    const adl::Value* devices = listAttr(vm, "pci_devices");
    const adl::Value* ioports = listAttr(vm, "ioports");
    const adl::Value* irqs = listAttr(vm, "irqs");
    const std::string shortName = vm.name.substr(vm.name.rfind('.') + 1);
    std::vector<int> devNumber;  // per entry of `out`
    if (devices) {
        for (std::size_t k = 0; k < devices->list.size(); ++k) {
            const adl::Value& d = devices->list[k];
            const std::string what = fmt::format("{}.pci_devices[{}]", vm.name, k);
            if (d.kind != adl::Value::Kind::Dict)
                throw Error::format("{}: error: {} must be a dict {{\"name\", \"bus\", \"dev\", \"fun\", \"irq\", "
                                    "\"memory\"}}",
                                    where(d.loc), what);
            PassthroughSpec s;
            s.vm = shortName;
            s.origin = where(d.loc);
            const adl::Value* name = strField(d, "name", what);
            if (!name) throw Error::format("{}: error: {} has no \"name\"", where(d.loc), what);
            s.name = name->s;
            if (const adl::Value* bdf = strField(d, "bdf", what)) {
                if (d.get("bus") || d.get("dev") || d.get("fun"))
                    throw Error::format("{}: error: {} has both \"bdf\" and bus/dev/fun: give one", where(bdf->loc),
                                        what);
                try {
                    s.address = host::pci::PciAddress::parse(bdf->s);
                } catch (const Error& e) {
                    throw Error::format("{}: error: {}.bdf: {}", where(bdf->loc), what, e.what());
                }
            } else {
                s.address.bus = static_cast<std::uint8_t>(intField(d, "bus", what, 0, 0xff));
                s.address.device = static_cast<std::uint8_t>(intField(d, "dev", what, 0, 0x1f));
                s.address.function = static_cast<std::uint8_t>(intField(d, "fun", what, 0, 7));
            }
            for (const PassthroughSpec& o : out)
                if (o.address == s.address)
                    throw Error::format("{}: error: {}: host function {} is already entry \"{}\" ({})", s.origin, what,
                                        s.address.toString(), o.name, o.origin);
            if (const adl::Value* mem = d.get("memory")) {
                if (mem->kind != adl::Value::Kind::List)
                    throw Error::format("{}: error: {}.memory must be a list", where(mem->loc), what);
                for (std::size_t m = 0; m < mem->list.size(); ++m) {
                    const adl::Value& e = mem->list[m];
                    const std::string w = fmt::format("{}.memory[{}]", what, m);
                    if (e.kind != adl::Value::Kind::Dict)
                        throw Error::format("{}: error: {} must be {{\"paddr\", \"size\", \"page_bits\"}}",
                                            where(e.loc), w);
                    s.memory.push_back({static_cast<std::uint64_t>(intField(e, "paddr", w, 0, INT64_MAX)),
                                        static_cast<std::uint64_t>(intField(e, "size", w, 1, INT64_MAX)),
                                        where(e.loc)});
                }
            }
            if (const adl::Value* irq = strField(d, "irq", what)) {
                const adl::Value* found = nullptr;
                for (std::size_t i = 0; irqs && i < irqs->list.size(); ++i) {
                    const adl::Value& e = irqs->list[i];
                    const adl::Value* n = e.kind == adl::Value::Kind::Dict ? e.get("name") : nullptr;
                    if (n && n->kind == adl::Value::Kind::String && n->s == irq->s) found = &e;
                }
                if (!found)
                    throw Error::format("{}: error: {}.irq \"{}\": no {}.irqs entry has that name", where(irq->loc),
                                        what, irq->s, vm.name);
                const std::string w = fmt::format("{}.irqs \"{}\"", vm.name, irq->s);
                hw::vfio::PassthroughIrq r;
                r.name = irq->s;
                r.source = static_cast<unsigned>(intField(*found, "source", w, 0, 0xffff));
                r.dest = static_cast<unsigned>(intField(*found, "dest", w, 0, 0xffff));
                r.levelTriggered = intField(*found, "level_trig", w, 0, 1) != 0;
                r.activeLow = intField(*found, "active_low", w, 0, 1) != 0;
                r.origin = where(found->loc);
                r.sourceOrigin = where(found->get("source")->loc);
                r.destOrigin = where(found->get("dest")->loc);
                s.irq = r;
            }
            devNumber.push_back(s.address.device);
            out.push_back(std::move(s));
        }
    }
    for (std::size_t k = 0; ioports && k < ioports->list.size(); ++k) {
        const adl::Value& p = ioports->list[k];
        const std::string what = fmt::format("{}.ioports[{}]", vm.name, k);
        if (p.kind != adl::Value::Kind::Dict)
            throw Error::format("{}: error: {} must be {{\"start\", \"end\", \"pci_device\", \"name\"}}",
                                where(p.loc), what);
        const auto start = intField(p, "start", what, 0, 0xffff);
        const auto end = intField(p, "end", what, 0, 0x10000);
        const auto dev = intField(p, "pci_device", what, 0, 0x1f);
        const adl::Value* name = strField(p, "name", what);
        PassthroughSpec* owner = nullptr;
        for (auto& s : out)
            if (name && s.name == name->s) owner = &s;
        if (owner && owner->address.device != dev)
            throw Error::format("{}: error: {}: \"pci_device\":{:#x}, but pci_devices \"{}\" is device {:#x} ({})",
                                where(p.get("pci_device")->loc), what, dev, owner->name, owner->address.device,
                                owner->origin);
        if (!owner) {
            for (std::size_t i = 0; i < out.size(); ++i) {
                if (devNumber[i] != dev) continue;
                if (owner)
                    throw Error::format("{}: error: {}: several pci_devices entries are device {:#x}; give the "
                                        "entry's \"name\"",
                                        where(p.loc), what, dev);
                owner = &out[i];
            }
        }
        if (!owner)
            throw Error::format("{}: error: {}: no {}.pci_devices entry is named \"{}\" or is device {:#x}; cxvm "
                                "passes I/O ports through only as a passed-through function's I/O BARs",
                                where(p.loc), what, vm.name, name ? name->s : "", dev);
        owner->ioports.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end), where(p.loc)});
    }
    return out;
}

// ---- the VM instance's command-line word: fields separated by \x1f, lists by \x1e ----

namespace {

constexpr char kField = '\x1f', kItem = '\x1e';

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        const auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return out;
        s.remove_prefix(at + 1);
    }
}

std::uint64_t number(std::string_view s) {
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size())
        throw Error::format("--pci-passthrough: '{}' is not a number", s);
    return v;
}

}  // namespace

std::string passthroughArg(const PassthroughSpec& s) {
    std::string w = fmt::format("{}{}{}{}{}{}{}", s.vm, kField, s.name, kField, s.address.toString(), kField, s.origin);
    w += kField;
    for (const auto& m : s.memory) w += fmt::format("{}{}{}{}{}{}", kItem, m.paddr, kItem, m.size, kItem, m.origin);
    w += kField;
    for (const auto& p : s.ioports) w += fmt::format("{}{}{}{}{}{}", kItem, p.start, kItem, p.end, kItem, p.origin);
    w += kField;
    if (s.irq)
        w += fmt::format("{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}", kItem, s.irq->name, kItem, s.irq->source, kItem,
                         s.irq->dest, kItem, s.irq->levelTriggered ? 1 : 0, kItem, s.irq->activeLow ? 1 : 0, kItem,
                         s.irq->origin, kItem, s.irq->sourceOrigin, kItem, s.irq->destOrigin, kItem, "");
    return w;
}

PassthroughSpec parsePassthroughArg(std::string_view arg) {
    const auto f = split(arg, kField);
    if (f.size() != 7) throw Error::format("--pci-passthrough: malformed value ({} fields)", f.size());
    PassthroughSpec s;
    s.vm = f[0];
    s.name = f[1];
    s.address = host::pci::PciAddress::parse(f[2]);
    s.origin = f[3];
    auto items = [](std::string_view v, std::size_t per) {
        std::vector<std::string_view> i;
        if (v.empty()) return i;
        i = split(v.substr(1), kItem);
        if (i.size() % per != 0) throw Error::format("--pci-passthrough: malformed list");
        return i;
    };
    const auto mem = items(f[4], 3);
    for (std::size_t i = 0; i < mem.size(); i += 3) s.memory.push_back({number(mem[i]), number(mem[i + 1]), std::string(mem[i + 2])});
    const auto io = items(f[5], 3);
    for (std::size_t i = 0; i < io.size(); i += 3)
        s.ioports.push_back({static_cast<std::uint32_t>(number(io[i])), static_cast<std::uint32_t>(number(io[i + 1])),
                             std::string(io[i + 2])});
    const auto irq = items(f[6], 9);
    if (!irq.empty())
        s.irq = hw::vfio::PassthroughIrq{std::string(irq[0]), static_cast<unsigned>(number(irq[1])),
                                         static_cast<unsigned>(number(irq[2])), number(irq[3]) != 0,
                                         number(irq[4]) != 0, std::string(irq[5]), std::string(irq[6]),
                                         std::string(irq[7])};
    return s;
}

}  // namespace cxvm::system
