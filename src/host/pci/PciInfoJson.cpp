#include "host/pci/PciInfoJson.h"

#include "util/JsonString.h"

#include "host/pci/PciClass.h"

#include <fmt/format.h>

#include <vector>

namespace cxvm::host::pci {
namespace {

std::string optStr(const std::optional<std::string>& s) { return s ? jsonString(*s) : "null"; }

template <typename T>
std::string optNum(const std::optional<T>& v) {
    return v ? std::to_string(*v) : "null";
}

std::string boolean(bool b) { return b ? "true" : "false"; }

template <typename T, typename F>
std::string array(const std::vector<T>& items, F each) {
    std::string s = "[";
    for (std::size_t k = 0; k < items.size(); ++k) s += (k ? "," : "") + each(items[k]);
    return s + "]";
}

std::string barJson(const PciBar& b) {
    return fmt::format(
        R"({{"index":{},"kind":{},"start":{},"size":{},"flags":{},"is64":{},"prefetchable":{}}})", b.index,
        jsonString(b.kind == PciBar::Kind::Io ? "io" : "memory"), b.start, b.size, b.flags, boolean(b.is64),
        boolean(b.prefetchable));
}

std::string specJson(const SpecEntries& e) {
    const std::string ioports = array(e.ioports, [&](const SpecIoport& p) {
        return fmt::format(R"({{"start":{},"end":{},"pci_device":{},"name":{}}})", p.start, p.end, p.pciDevice,
                           jsonString(e.name));
    });
    const std::string memory = array(e.memory, [](const SpecMemory& m) {
        return fmt::format(R"({{"paddr":{},"size":{},"page_bits":{}}})", m.paddr, m.size, m.pageBits);
    });
    const std::string pciDevice =
        fmt::format(R"({{"name":{},"bus":{},"dev":{},"fun":{},"irq":{},"memory":{}}})", jsonString(e.name),
                    e.address.bus, e.address.device, e.address.function, e.irq ? jsonString(e.name) : "null", memory);
    const std::string irq =
        e.irq ? fmt::format(R"({{"name":{},"source":{},"level_trig":{},"active_low":{},"dest":{}}})", jsonString(e.name),
                            e.irq->source, e.irq->levelTrig ? 1 : 0, e.irq->activeLow ? 1 : 0, e.irq->dest)
              : "null";
    return fmt::format(R"({{"name":{},"vm":{},"ioports":{},"pci_device":{},"irq":{},"notes":{},"text":{}}})",
                       jsonString(e.name), e.vm, ioports, pciDevice, irq,
                       array(e.notes, [](const std::string& n) { return jsonString(n); }), jsonString(formatSpecSnippet(e)));
}

std::string groupJson(const std::optional<IommuGroupStatus>& g) {
    if (!g) return "null";
    const std::string members = array(g->members, [](const IommuGroupMember& m) {
        return fmt::format(R"({{"address":{},"driver":{},"bridge":{},"ok":{},"reason":{}}})",
                           jsonString(m.address.toString()), optStr(m.driver), boolean(m.bridge), boolean(m.ok),
                           jsonString(m.reason));
    });
    return fmt::format(R"({{"id":{},"viable_now":{},"viable_after_bind":{},"members":{}}})", g->group,
                       boolean(g->viableNow), boolean(g->viableAfterBind), members);
}

}  // namespace

std::string listJson(std::span<const SysfsPciDevice> devices) {
    std::string s = "[";
    for (std::size_t k = 0; k < devices.size(); ++k) {
        const auto& d = devices[k];
        s += fmt::format(
            R"({}{{"address":{},"vendor":{},"device":{},"class":{},"class_name":{},"driver":{},"iommu_group":{}}})",
            k ? ",\n " : "", jsonString(d.address.toString()), d.vendor, d.device, d.classCode,
            jsonString(classDescription(d.classCode)), optStr(d.driver), optNum(d.iommuGroup));
    }
    return s + "]\n";
}

std::string deviceJson(const SysfsPciDevice& d, const SpecEntries& spec, const VfioBindPlan& vfio,
                       const std::optional<IommuGroupStatus>& group) {
    const std::string msi = array(d.msiIrqs, [](unsigned v) { return std::to_string(v); });
    const std::string vfioJson = fmt::format(
        R"({{"already_bound":{},"unbind_driver":{},"commands":{},"new_id_alternative":{},"iommu_group":{}}})",
        boolean(vfio.alreadyBound), optStr(vfio.unbindDriver),
        array(vfio.commands, [](const std::string& c) { return jsonString(c); }), jsonString(vfio.newIdAlternative),
        groupJson(group));
    return fmt::format(
        "{{\"address\":{},\"domain\":{},\"bus\":{},\"dev\":{},\"fun\":{},"
        "\"vendor\":{},\"device\":{},\"subsystem_vendor\":{},\"subsystem_device\":{},"
        "\"class\":{},\"class_name\":{},\"revision\":{},"
        "\"irq\":{},\"irq_is_msi\":{},\"msi_irqs\":{},\"interrupt_pin\":{},\"interrupt_line\":{},"
        "\"header_type\":{},\"driver\":{},\"driver_override\":{},\"iommu_group\":{},"
        "\"bars\":{},\"spec\":{},\"vfio\":{}}}\n",
        jsonString(d.address.toString()), d.address.domain, d.address.bus, d.address.device, d.address.function, d.vendor,
        d.device, d.subsystemVendor, d.subsystemDevice, d.classCode, jsonString(classDescription(d.classCode)),
        d.revision, d.irq, boolean(d.irqIsMsi()), msi, optNum(d.interruptPin), optNum(d.interruptLine),
        optNum(d.headerType), optStr(d.driver), optStr(d.driverOverride), optNum(d.iommuGroup),
        array(d.bars, barJson), specJson(spec), vfioJson);
}

}  // namespace cxvm::host::pci
