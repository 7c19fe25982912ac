// cxvm pci-info [ADDRESS]: the host's PCI functions, read from sysfs. Without an address,
// one line per function; with one, a summary, the spec entries that pass it through to
// a VM (the tutorial's ioports / pci_devices / irqs format) and the steps to hand it to
// vfio-pci, with its IOMMU group's viability. docs/passthrough.md.
#include "cli/Command.h"
#include "host/pci/IommuGroup.h"
#include "host/pci/PciClass.h"
#include "host/pci/PciInfoJson.h"
#include "host/pci/PciSysfs.h"
#include "host/pci/SpecSnippet.h"
#include "host/pci/VfioBindPlan.h"
#include "adl/Frontend.h"
#include "util/Error.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

namespace cxvm::cli {
namespace {

namespace hp = host::pci;

struct PciInfoArgs {
    std::string address;
    bool json = false;
    bool snippetOnly = false;
    std::string name;
    unsigned vm = 0;
    std::optional<unsigned> dest;
    std::string spec;
    std::string sysfsRoot = "/sys";
};

void print(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

std::string sizeText(std::uint64_t bytes) {
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
    if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
    return fmt::format("{} bytes", bytes);
}

std::string listText(const std::vector<hp::SysfsPciDevice>& devices) {
    std::string s;
    for (const auto& d : devices) {
        s += fmt::format("{}  {:04x}:{:04x}  {:06x}  {:<28}  driver {:<12}  iommu group {}\n",
                         d.address.toString(), d.vendor, d.device, d.classCode, hp::classDescription(d.classCode),
                         d.driver.value_or("-"), d.iommuGroup ? std::to_string(*d.iommuGroup) : "-");
    }
    return s;
}

std::string summaryText(const hp::SysfsPciDevice& d) {
    std::string s = fmt::format("{}  {} [{:04x}:{:04x}] (subsystem {:04x}:{:04x}, rev {:02x})\n",
                                d.address.toString(), hp::classDescription(d.classCode), d.vendor, d.device,
                                d.subsystemVendor, d.subsystemDevice, d.revision);
    s += fmt::format("  class        {:#08x}\n", d.classCode);
    s += fmt::format("  driver       {}{}\n", d.driver.value_or("(none)"),
                     d.driverOverride ? fmt::format(" (driver_override {})", *d.driverOverride) : "");
    // INTA#..INTD# from the interrupt pin register (1..4).
    const std::string pin = fmt::format("INT{}#", static_cast<char>('A' + (d.interruptPin.value_or(1) - 1) % 4));
    std::string irq;
    if (!d.hasIntx()) irq = fmt::format("no INTx pin (sysfs irq {})", d.irq);
    else if (d.irqIsMsi()) irq = fmt::format("{} is an MSI IRQ; INTx pin {}", d.irq, pin);
    else irq = fmt::format("{} ({}, level-triggered, active low)", d.irq, pin);
    if (!d.msiIrqs.empty()) irq += fmt::format("; {} MSI/MSI-X IRQs enabled", d.msiIrqs.size());
    s += fmt::format("  irq          {}\n", irq);
    s += fmt::format("  IOMMU group  {}\n", d.iommuGroup ? std::to_string(*d.iommuGroup)
                                                         : "(none: no IOMMU translates this function)");
    if (d.bars.empty()) s += "  BARs         (none)\n";
    for (std::size_t k = 0; k < d.bars.size(); ++k) {
        const auto& b = d.bars[k];
        const std::string kind = b.kind == hp::PciBar::Kind::Io
                                     ? "I/O   "
                                     : fmt::format("memory{}{}", b.is64 ? " 64-bit" : " 32-bit",
                                                   b.prefetchable ? " prefetchable" : "");
        s += fmt::format("  {}BAR{}  {} {:#x}-{:#x} ({})\n", k ? "             " : "BARs         ", b.index, kind,
                         b.start, b.end() - 1, sizeText(b.size));
    }
    return s;
}

std::string vfioText(const hp::SysfsPciDevice& d, const hp::VfioBindPlan& plan,
                     const std::optional<hp::IommuGroupStatus>& group) {
    std::string s = "VFIO:\n";
    if (plan.alreadyBound) {
        s += fmt::format("  {} is bound to vfio-pci already.\n", d.address.toString());
    } else {
        s += fmt::format("  bind {} to vfio-pci (as root){}:\n", d.address.toString(),
                         plan.unbindDriver ? fmt::format("; this unbinds it from {}", *plan.unbindDriver) : "");
        for (const auto& c : plan.commands) s += "    " + c + "\n";
        s += "  or, for every device with these ids:\n    " + plan.newIdAlternative + "\n";
    }
    if (!group) {
        s += "  IOMMU group: none. VFIO needs an IOMMU: enable VT-d/AMD-Vi in the firmware and boot\n"
             "  with intel_iommu=on (or amd_iommu=on); /sys/kernel/iommu_groups/ is empty without one.\n";
        return s;
    }
    s += fmt::format("  IOMMU group {}: {}\n", group->group,
                     group->viableNow          ? "viable"
                     : group->viableAfterBind ? "viable once this function is bound to vfio-pci"
                                               : "NOT viable (every endpoint in the group must be bound to "
                                                 "vfio-pci or have no driver)");
    for (const auto& m : group->members)
        s += fmt::format("    {}  {:<14} {}{}\n", m.address.toString(), m.driver.value_or("-"),
                         m.ok ? "ok: " : "blocks: ", m.reason);
    return s;
}

// Guest IRQs the VM in `spec` already routes (its irqs[].dest).
std::vector<unsigned> takenDests(const std::string& spec, unsigned vm) {
    std::filesystem::path path = spec;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) path = adl::findAppSpec(path);
    auto result = adl::loadSpec(path);
    if (!result.ok()) {
        std::string diags;
        for (const auto& d : result.diagnostics) diags += adl::formatDiagnostic(d);
        throw Error::format("--spec {}: the spec does not load:\n{}", spec, diags);
    }
    const std::string leaf = fmt::format("vm{}", vm);
    for (const auto& inst : result.system->instances) {
        const bool match = inst.name == leaf || (inst.name.size() > leaf.size() &&
                                                 inst.name.ends_with("." + leaf));
        if (!match) continue;
        std::vector<unsigned> taken;
        if (auto it = inst.attributes.find("irqs"); it != inst.attributes.end())
            for (const auto& irq : it->second.list)
                if (const auto* dest = irq.get("dest"); dest && dest->kind == adl::Value::Kind::Int)
                    taken.push_back(static_cast<unsigned>(dest->i));
        return taken;
    }
    throw Error::format("--spec {}: no VM instance vm{}", spec, vm);
}

void run(const PciInfoArgs& a) {
    const hp::PciSysfs sysfs(a.sysfsRoot);
    if (a.address.empty()) {
        if (a.snippetOnly || !a.name.empty() || a.dest || !a.spec.empty())
            throw Error("--snippet, --name, --dest and --spec need a PCI address (cxvm pci-info 00:1f.2 ...)");
        std::vector<hp::SysfsPciDevice> devices;
        for (const auto& addr : sysfs.list()) devices.push_back(sysfs.device(addr));
        print(a.json ? hp::listJson(devices) : listText(devices));
        return;
    }
    const auto address = hp::PciAddress::parse(a.address);
    const auto d = sysfs.device(address);
    hp::SnippetOptions opts;
    opts.name = a.name;
    opts.vm = a.vm;
    opts.dest = a.dest;
    if (!a.spec.empty()) opts.takenDests = takenDests(a.spec, a.vm);
    const auto spec = hp::specEntries(d, opts);
    if (a.snippetOnly) {
        print(hp::formatSpecSnippet(spec));
        return;
    }
    const auto plan = hp::vfioBindPlan(d, sysfs.root());
    std::optional<hp::IommuGroupStatus> group;
    if (d.iommuGroup) group = hp::checkIommuGroup(sysfs, *d.iommuGroup, d.address);
    if (a.json) {
        print(hp::deviceJson(d, spec, plan, group));
        return;
    }
    print(summaryText(d));
    print("\nSpec entries (paste into the VM's configuration block; merge into lists it already has):\n\n");
    print(hp::formatSpecSnippet(spec));
    print("\n");
    print(vfioText(d, plan, group));
}

CommandRegistration reg("pci-info", [](CLI::App& app, int& exitCode) {
    auto* cmd = app.add_subcommand(
        "pci-info", "List the host's PCI functions, or show one with its passthrough spec entries and VFIO steps");
    auto a = std::make_shared<PciInfoArgs>();
    cmd->add_option("address", a->address, "PCI function: 0000:00:1f.2 or 00:1f.2 (none: list all)");
    cmd->add_flag("--json", a->json, "JSON instead of text");
    cmd->add_flag("--snippet", a->snippetOnly, "Print only the spec entries");
    cmd->add_option("--name", a->name, "Device name in the spec entries (default: from its class, e.g. SATA)");
    cmd->add_option("--vm", a->vm, "Which VM's config: vm<N>_config (default 0)");
    cmd->add_option("--dest", a->dest, "Guest IRQ for the device (default: a free one)");
    cmd->add_option("--spec", a->spec, "An app or .camkes spec: avoid guest IRQs its VM already uses");
    cmd->add_option("--sysfs-root", a->sysfsRoot, "sysfs mount point (tests use a fake tree)")->group("");
    cmd->callback([a, &exitCode] {
        run(*a);
        exitCode = 0;
    });
});

}  // namespace
}  // namespace cxvm::cli
