#include "host/pci/SpecSnippet.h"

#include "host/pci/PciClass.h"
#include "util/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace cxvm::host::pci {
namespace {

constexpr std::array<unsigned, 8> kDestPreference{11, 10, 9, 5, 7, 6, 15, 14};
constexpr std::uint64_t kMaxIoPort = 0xffff;
constexpr unsigned kPageBits = 12;
constexpr unsigned kMaxGuestIrq = 15;

bool contains(std::span<const unsigned> s, unsigned v) { return std::find(s.begin(), s.end(), v) != s.end(); }

// Where the host's INTx arrives, or nullopt (with a note) when sysfs cannot tell.
std::optional<unsigned> intxSource(const SysfsPciDevice& d, std::vector<std::string>& notes) {
    if (!d.hasIntx()) {
        notes.push_back("no irqs entry: the function has no legacy interrupt pin (INTx); it can only use MSI");
        return std::nullopt;
    }
    if (!d.irqIsMsi()) {
        if (d.irq == 0) {
            notes.push_back("no irqs entry: the host routed no IRQ to this function's INTx pin");
            return std::nullopt;
        }
        if (d.enabled == false)
            notes.push_back(fmt::format(
                "source {} is what firmware wrote in the Interrupt Line register: no driver has enabled the "
                "function, so the host has not routed its INTx yet (a driver may get another I/O APIC input); "
                "rerun pci-info while a driver (or an open vfio-pci) has it enabled to confirm",
                d.irq));
        return d.irq;
    }
    // The driver enabled MSI, so sysfs `irq` shows the MSI IRQ, not the INTx line.
    if (d.interruptLine && *d.interruptLine != 0 && *d.interruptLine != 0xff) {
        notes.push_back(fmt::format(
            "source {} is the Interrupt Line register: the {} driver uses MSI, so sysfs shows no INTx "
            "IRQ; unbind the driver (or bind vfio-pci) and run pci-info again to confirm it",
            *d.interruptLine, d.driver.value_or("bound")));
        return *d.interruptLine;
    }
    notes.push_back("no irqs entry: the driver uses MSI and the INTx IRQ is unknown; unbind the driver "
                    "and run pci-info again");
    return std::nullopt;
}

}  // namespace

std::string specHex(std::uint64_t v) { return v == 0 ? "0" : fmt::format("{:#x}", v); }

unsigned suggestGuestIrq(std::span<const unsigned> taken) {
    for (unsigned irq : kDestPreference)
        if (!contains(kBoardIrqs, irq) && !contains(taken, irq)) return irq;
    throw Error("no free guest IRQ line left for a passthrough device (give one with --dest)");
}

SpecEntries specEntries(const SysfsPciDevice& d, const SnippetOptions& options) {
    SpecEntries e;
    e.name = options.name.empty() ? classShortName(d.classCode) : options.name;
    const bool nameOk = std::all_of(e.name.begin(), e.name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!nameOk) throw Error::format("device name '{}': use letters, digits, '_' and '-' only", e.name);
    e.vm = options.vm;
    e.address = d.address;
    if (d.address.domain != 0)
        e.notes.push_back(fmt::format("the spec has no PCI domain field: this function is in domain {:04x}",
                                      d.address.domain));
    for (const auto& bar : d.bars) {
        if (bar.kind == PciBar::Kind::Io) {
            if (bar.end() - 1 > kMaxIoPort)
                throw Error::format("{} BAR{}: I/O range {:#x}-{:#x} is beyond port 0xffff",
                                    d.address.toString(), bar.index, bar.start, bar.end() - 1);
            e.ioports.push_back({bar.start, bar.end(), d.address.device});
        } else {
            e.memory.push_back({bar.start, bar.size, kPageBits});
        }
    }
    if (auto source = intxSource(d, e.notes)) {
        // PCI INTx is level-triggered and active low (PCI Local Bus 3.0, 2.2.6).
        if (options.dest && (*options.dest > kMaxGuestIrq || contains(kBoardIrqs, *options.dest)))
            throw Error::format("guest IRQ {} cannot be a passthrough destination: {}", *options.dest,
                                *options.dest > kMaxGuestIrq ? "the guest's PICs have lines 0-15"
                                                             : "the board's own devices use it");
        const unsigned dest = options.dest ? *options.dest : suggestGuestIrq(options.takenDests);
        e.irq = SpecIrq{*source, true, true, dest};
    }
    return e;
}

std::string formatSpecSnippet(const SpecEntries& e, unsigned indent) {
    const std::string in(indent, ' '), in1 = in + "    ", in2 = in1 + "    ", in3 = in2 + "    ";
    const std::string cfg = fmt::format("vm{}_config", e.vm);
    std::string s;
    s += fmt::format("{}// {}: pass host PCI function {} through to vm{}\n", in, e.name, e.address.toString(), e.vm);
    for (const auto& n : e.notes) s += fmt::format("{}// note: {}\n", in, n);
    s += fmt::format("{}{}.pci_devices_iospace = 1;\n", in, cfg);
    if (!e.ioports.empty()) {
        s += fmt::format("\n{}{}.ioports = [\n", in, cfg);
        for (const auto& p : e.ioports)
            s += fmt::format("{}{{\"start\":{}, \"end\":{}, \"pci_device\":{}, \"name\":\"{}\"}},\n", in1,
                             specHex(p.start), specHex(p.end), specHex(p.pciDevice), e.name);
        s += in + "];\n";
    }
    s += fmt::format("\n{}{}.pci_devices = [\n", in, cfg);
    s += in1 + "{\n";
    s += fmt::format("{}\"name\":\"{}\",\n", in2, e.name);
    s += fmt::format("{}\"bus\":{},\n", in2, e.address.bus);
    s += fmt::format("{}\"dev\":{},\n", in2, specHex(e.address.device));
    s += fmt::format("{}\"fun\":{},\n", in2, e.address.function);
    if (e.irq) s += fmt::format("{}\"irq\":\"{}\",\n", in2, e.name);
    if (e.memory.empty()) {
        s += in2 + "\"memory\":[],\n";
    } else {
        s += in2 + "\"memory\":[\n";
        for (const auto& m : e.memory)
            s += fmt::format("{}{{\"paddr\":{}, \"size\":{}, \"page_bits\":{}}},\n", in3, specHex(m.paddr),
                             specHex(m.size), m.pageBits);
        s += in2 + "],\n";
    }
    s += in1 + "},\n";
    s += in + "];\n";
    if (e.irq) {
        s += fmt::format("\n{}{}.irqs = [\n", in, cfg);
        s += fmt::format("{}{{\"name\":\"{}\", \"source\":{}, \"level_trig\":{}, \"active_low\":{}, \"dest\":{}}},\n",
                         in1, e.name, e.irq->source, e.irq->levelTrig ? 1 : 0, e.irq->activeLow ? 1 : 0,
                         e.irq->dest);
        s += in + "];\n";
    }
    return s;
}

}  // namespace cxvm::host::pci
