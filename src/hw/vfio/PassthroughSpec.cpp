#include "hw/vfio/PassthroughSpec.h"

#include "util/Error.h"

#include <fmt/format.h>

namespace cxvm::hw::vfio {

namespace {

using host::pci::PciBar;

std::string describeBars(const host::pci::SysfsPciDevice& h, PciBar::Kind kind) {
    std::string s;
    for (const PciBar& b : h.bars) {
        if (b.kind != kind) continue;
        if (!s.empty()) s += ", ";
        if (kind == PciBar::Kind::Io)
            s += fmt::format("BAR{} I/O {:#x}-{:#x} (\"start\":{:#x}, \"end\":{:#x})", b.index, b.start, b.end() - 1,
                             b.start, b.end());
        else
            s += fmt::format("BAR{} memory {:#x} size {:#x}", b.index, b.start, b.size);
    }
    return s.empty() ? fmt::format("no {} BARs", kind == PciBar::Kind::Io ? "I/O" : "memory") : s;
}

const PciBar* findBar(const host::pci::SysfsPciDevice& h, PciBar::Kind kind, std::uint64_t start,
                      std::uint64_t size) {
    for (const PciBar& b : h.bars)
        if (b.kind == kind && b.start == start && b.size == size) return &b;
    return nullptr;
}

std::string resourceFile(const host::pci::SysfsPciDevice& h) {
    return fmt::format("sysfs /sys/bus/pci/devices/{}/resource", h.address.toString());
}

}  // namespace

std::string PassthroughSpec::describe() const {
    return fmt::format("{} pci_devices \"{}\" ({})", vm, name, address.toString());
}

void checkAgainstHost(const PassthroughSpec& spec, const host::pci::SysfsPciDevice& h) {
    if (h.isBridge())
        throw Error::format("{}: error: {}: host function is a bridge (header type {:#x}); only endpoints can be "
                            "passed through",
                            spec.origin, spec.describe(), h.headerType.value_or(0));
    for (const PassthroughMemory& m : spec.memory)
        if (!findBar(h, PciBar::Kind::Memory, m.paddr, m.size))
            throw Error::format("{}: error: {}: memory {{\"paddr\":{:#x}, \"size\":{:#x}}} is not a memory BAR of the "
                                "host function; {} has {} (`cxvm pci-info {}` prints the entries)",
                                m.origin, spec.describe(), m.paddr, m.size, resourceFile(h),
                                describeBars(h, PciBar::Kind::Memory), h.address.toString());
    for (const PassthroughIoports& p : spec.ioports)
        if (p.end <= p.start || !findBar(h, PciBar::Kind::Io, p.start, p.end - p.start))
            throw Error::format("{}: error: {}: ioports {{\"start\":{:#x}, \"end\":{:#x}}} is not an I/O BAR of the "
                                "host function; {} has {} (`cxvm pci-info {}` prints the entries)",
                                p.origin, spec.describe(), p.start, p.end, resourceFile(h),
                                describeBars(h, PciBar::Kind::Io), h.address.toString());
    if (const auto& irq = spec.irq) {
        if (!h.hasIntx())
            throw Error::format("{}: error: {}: irq \"{}\": the host function has no legacy interrupt pin (sysfs "
                                "config: interrupt pin 0); it can only use MSI, which cxvm's guests do not get",
                                irq->origin, spec.describe(), irq->name);
        // Until a driver enables the function (vfio-pci does when cxvm opens it), sysfs
        // `irq` is only what firmware wrote (docs/passthrough.md): nothing to compare.
        if (irq->source != h.irq && h.enabled != std::optional<bool>(false))
            throw Error::format("{}: error: {}: irq \"{}\" has \"source\":{}, but sysfs "
                                "/sys/bus/pci/devices/{}/irq is {}",
                                irq->sourceOrigin, spec.describe(), irq->name, irq->source, h.address.toString(),
                                h.irq);
        if (irq->dest > 15 || irq->dest == 2)
            throw Error::format("{}: error: {}: irq \"{}\" has \"dest\":{}; the guest's ISA IRQ lines are 0-15 and 2 "
                                "is the slave PIC's cascade",
                                irq->destOrigin, spec.describe(), irq->name, irq->dest);
        if (!irq->levelTriggered)
            throw Error::format("{}: error: {}: irq \"{}\" has \"level_trig\":0; PCI INTx is level-triggered "
                                "(\"level_trig\":1)",
                                irq->origin, spec.describe(), irq->name);
    }
}

std::vector<GrantedBar> grantedBars(const PassthroughSpec& spec, const host::pci::SysfsPciDevice& h) {
    std::vector<GrantedBar> out;
    for (const PciBar& b : h.bars) {
        bool granted = false;
        if (b.kind == PciBar::Kind::Memory) {
            for (const PassthroughMemory& m : spec.memory) granted = granted || (m.paddr == b.start && m.size == b.size);
        } else {
            for (const PassthroughIoports& p : spec.ioports)
                granted = granted || (p.start == b.start && p.end == b.end());
        }
        if (granted) out.push_back({b.index, b.kind == PciBar::Kind::Io, b.start, b.size});
    }
    return out;
}

}  // namespace cxvm::hw::vfio
