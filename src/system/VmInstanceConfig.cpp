#include "system/VmInstanceConfig.h"

#include "system/VmPassthrough.h"
#include "util/Error.h"
#include "vmm/DiskFlag.h"
#include "vmm/NetFlag.h"

#include <algorithm>
#include <charconv>

namespace cxvm::system {

namespace {

std::uint64_t number(std::string_view s, std::string_view what) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty())
        throw Error::format("{}: \"{}\" is not a number", what, s);
    return v;
}

// Splits off the text before the next ':' (the rest may contain ':', e.g. a label's
// file:line:col).
std::string_view field(std::string_view& s, std::string_view what) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) throw Error::format("{}: missing fields", what);
    std::string_view f = s.substr(0, colon);
    s.remove_prefix(colon + 1);
    return f;
}

// "ID:SIZE:IFACE:LABEL" (dataports) or "ID:IFACE:LABEL" (events).
VmCrossVmEntry parseEntry(std::string_view s, bool withSize, std::string_view option) {
    const std::string what = fmt::format("{} {}", option, s);
    VmCrossVmEntry e;
    const std::uint64_t id = number(field(s, what), what);
    if (id == 0 || id > UINT32_MAX) throw Error::format("{}: bad id", what);
    e.id = static_cast<std::uint32_t>(id);
    if (withSize) e.size = number(field(s, what), what);
    e.iface = std::string(field(s, what));
    if (e.iface.empty()) throw Error::format("{}: no interface name", what);
    e.label = std::string(s);
    return e;
}

std::string formatEntry(const VmCrossVmEntry& e, bool withSize) {
    return withSize ? fmt::format("{}:{}:{}:{}", e.id, e.size, e.iface, e.label)
                    : fmt::format("{}:{}:{}", e.id, e.iface, e.label);
}

}  // namespace

std::vector<std::string> VmInstanceConfig::args() const {
    std::vector<std::string> a{"--instance", instance};
    auto opt = [&](const char* name, const std::string& v) {
        if (v.empty()) return;
        a.emplace_back(name);
        a.push_back(v);
    };
    opt("--kernel", kernel.string());
    opt("--initrd", initrd.string());
    opt("--firmware", firmware.string());
    a.emplace_back("--cmdline");
    a.push_back(cmdline);
    opt("--ram-bytes", std::to_string(ramBytes));
    opt("--engine", engine);
    if (noJit) a.emplace_back("--no-jit");
    if (deterministic) a.emplace_back("--deterministic");
    if (noUnpackKernel) a.emplace_back("--no-unpack-kernel");
    if (postCodes) a.emplace_back("--post-codes");
    if (maxInstructions) opt("--max-instructions", std::to_string(maxInstructions));
    opt("--console-log", consoleLog.string());
    if (consoleOnTerminal) a.emplace_back("--console-terminal");
    opt("--log-level", std::to_string(logLevel));
    for (const auto& e : dataports) opt("--dataport", formatEntry(e, true));
    for (const auto& e : emits) opt("--emits", formatEntry(e, false));
    for (const auto& e : consumes) opt("--consumes", formatEntry(e, false));
    // Always with ",rw" or ",ro": the option is the text after the last comma, so a
    // file name with a comma in it still parses back.
    for (const auto& d : disks) {
        opt("--disk", d.path.string() + (d.readOnly ? ",ro" : ",rw"));
        opt("--disk-origin", d.origin);  // the spec's place, for the image's errors
    }
    for (const auto& n : nics) {
        opt("--net", net::formatNetSpec(n));
        opt("--net-origin", n.origin);  // the spec's place, for the backend's errors
    }
    for (const auto& p : passthrough) opt("--pci-passthrough", passthroughArg(p));
    return a;
}

VmInstanceConfig VmInstanceConfig::parse(std::span<const std::string_view> args) {
    VmInstanceConfig c;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view a = args[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= args.size()) throw Error::format("{} needs a value", a);
            return args[++i];
        };
        if (a == "--instance") c.instance = value();
        else if (a == "--kernel") c.kernel = value();
        else if (a == "--initrd") c.initrd = value();
        else if (a == "--firmware") c.firmware = value();
        else if (a == "--cmdline") c.cmdline = value();
        else if (a == "--ram-bytes") c.ramBytes = number(value(), a);
        else if (a == "--engine") {
            c.engine = value();
            if (c.engine != "auto" && c.engine != "interp" && c.engine != "kvm")
                throw Error::format("--engine {}: expected auto, interp or kvm", c.engine);
        } else if (a == "--no-jit") c.noJit = true;
        else if (a == "--deterministic") c.deterministic = true;
        else if (a == "--no-unpack-kernel") c.noUnpackKernel = true;
        else if (a == "--post-codes") c.postCodes = true;
        else if (a == "--max-instructions") c.maxInstructions = number(value(), a);
        else if (a == "--console-log") c.consoleLog = value();
        else if (a == "--console-terminal") c.consoleOnTerminal = true;
        else if (a == "--log-level") c.logLevel = static_cast<int>(std::min<std::uint64_t>(number(value(), a), 3));
        else if (a == "--dataport") c.dataports.push_back(parseEntry(value(), true, a));
        else if (a == "--emits") c.emits.push_back(parseEntry(value(), false, a));
        else if (a == "--consumes") c.consumes.push_back(parseEntry(value(), false, a));
        else if (a == "--disk") {
            c.disks.push_back(vmm::parseDiskFlag(value()));
            c.disks.back().origin.clear();  // runApp's word, not the user's: --disk-origin says
        }
        else if (a == "--net") {
            c.nics.push_back(vmm::parseNetFlag(value()));
            c.nics.back().origin.clear();  // runApp's word, not the user's: --net-origin says
        }
        else if (a == "--net-origin") {
            if (c.nics.empty()) throw Error("--net-origin before any --net");
            c.nics.back().origin = value();
        }
        else if (a == "--pci-passthrough") c.passthrough.push_back(parsePassthroughArg(value()));
        else if (a == "--disk-origin") {
            if (c.disks.empty()) throw Error("--disk-origin before any --disk");
            c.disks.back().origin = value();
        }
        else throw Error::format("unknown argument \"{}\"", a);
    }
    if (c.instance.empty()) throw Error("no --instance");
    if (c.kernel.empty() == c.firmware.empty())
        throw Error("exactly one of --kernel and --firmware is needed");
    if (c.ramBytes == 0) throw Error("--ram-bytes 0");
    return c;
}

}  // namespace cxvm::system
