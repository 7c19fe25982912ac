#include "host/pci/IommuGroup.h"

#include <fmt/format.h>

namespace cxvm::host::pci {

bool isVfioFriendlyDriver(const std::string& driver) {
    return driver == "vfio-pci" || driver == "pci-stub" || driver.find("vfio") != std::string::npos;
}

IommuGroupStatus checkIommuGroup(const PciSysfs& sysfs, unsigned group, const PciAddress& target) {
    IommuGroupStatus s;
    s.group = group;
    s.viableNow = true;
    s.viableAfterBind = true;
    for (const auto& a : sysfs.iommuGroupMembers(group)) {
        const auto d = sysfs.device(a);
        IommuGroupMember m;
        m.address = a;
        m.driver = d.driver;
        m.bridge = d.isBridge();
        if (m.bridge) {
            m.ok = true;
            m.reason = "bridge (allowed with any driver)";
        } else if (!d.driver) {
            m.ok = true;
            m.reason = "no driver";
        } else if (isVfioFriendlyDriver(*d.driver)) {
            m.ok = true;
            m.reason = fmt::format("bound to {}", *d.driver);
        } else {
            m.ok = false;
            m.reason = fmt::format("bound to {}: unbind it or bind it to vfio-pci", *d.driver);
        }
        s.viableNow = s.viableNow && m.ok;
        s.viableAfterBind = s.viableAfterBind && (m.ok || a == target);
        s.members.push_back(std::move(m));
    }
    return s;
}

}  // namespace cxvm::host::pci
