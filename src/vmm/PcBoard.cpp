// The PC board: the src/hw devices at their ISA ports and IRQs, wired to the VM's
// console and stop latch.
#include "hw/DebugExit.h"
#include "hw/I8042.h"
#include "hw/PciHost.h"
#include "hw/Pic8259.h"
#include "hw/Pit8254.h"
#include "hw/Port80.h"
#include "hw/ResetControl.h"
#include "hw/RtcCmos.h"
#include "hw/Uart16550.h"
#include "hw/virtio/VirtioBlk.h"
#include "hw/virtio/VirtioNet.h"
#include "hw/virtio/VirtioPci.h"
#include "hw/vfio/VfioPciFunction.h"
#include "hw/vfio/VfioSession.h"
#include "net/NetBackendFactory.h"
#include "util/Error.h"
#include "util/Log.h"
#include "vmm/IsaIrqLines.h"
#include "vmm/Vm.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

namespace cxvm::vmm {
namespace {

// --deterministic: the RTC starts at a fixed time, not the host's (2026-01-01 00:00 UTC).
constexpr std::int64_t kDeterministicEpoch = 1767225600;

// PCI devices, placed as firmware would (the board has no BIOS to do it): memory BARs
// from the start of the PCI hole (GuestMemory's RAM ends at or below it), INTx on ISA
// lines no board device uses, set level-triggered in the ELCR as a PC BIOS does for
// PCI interrupts. Linux keeps BARs it finds programmed and, with no $PIR table or
// ACPI, takes each function's interrupt line register as its IRQ.
constexpr std::uint64_t kPciMemoryBase = 0xE000'0000;
constexpr std::array<unsigned, 4> kPciIrqs{10, 11, 5, 9};

class PcBoard final : public Board {
public:
    explicit PcBoard(BoardContext& c)
        : pic_(c.pins),
          irqs_(pic_),
          pit_(c.clock, irqs_.claim(0)),
          rtc_(c.clock, irqs_.claim(hw::RtcCmos::kIrq),
               {c.deterministic ? kDeterministicEpoch : hw::RtcCmos::hostUnixSeconds(),
                c.memory.ramSize(), 1}),
          com1_("com1", c.clock, irqs_.claim(hw::Uart16550::kCom1Irq),
                [&console = c.console](std::span<const std::uint8_t> b) { console.write(b); }),
          com2_("com2", c.clock, irqs_.claim(hw::Uart16550::kCom2Irq), {}),
          i8042_(irqs_.claim(hw::I8042::kKeyboardIrq), irqs_.claim(hw::I8042::kAuxIrq),
                 [&stops = c.stops] {
                     stops.request(StopKind::Reset, 0, "guest reset (i8042 reset line)");
                 }),
          debugExit_([&stops = c.stops](const hw::DebugExit::Request& r) {
              stops.request(StopKind::DebugExit, r.status,
                            fmt::format("debug-exit port: guest wrote {:#x}", r.value));
          }),
          resetControl_([&stops = c.stops](bool hard) {
              stops.request(StopKind::Reset, 0,
                            fmt::format("guest reset ({} reset via port 0xcf9)", hard ? "hard" : "soft"));
          }) {
        c.pins.controller = &pic_;
        pic_.attach(c.io);
        pit_.attach(c.io);
        rtc_.attach(c.io);
        com1_.attach(c.io, hw::Uart16550::kCom1Port);
        com2_.attach(c.io, hw::Uart16550::kCom2Port);
        i8042_.attach(c.io);
        port80_.setObserver(c.postCode);
        port80_.attach(c.io);
        debugExit_.attach(c.io);
        pci_.setNarrowCf8Handler(resetControl_);
        pci_.attach(c.io);
        addPassthrough(c);  // first: the functions get the slots their spec names
        addDisks(c);
        addNics(c);
    }

    void advanceTo(std::uint64_t nowNs) override {
        for (hw::TimedDevice* d : timed_) d->advanceTo(nowNs);
        for (auto& v : virtio_) v->poll();  // completions from the devices' I/O threads
        for (auto& p : passthrough_) p->pollIntx();  // INTx from the host devices
    }
    [[nodiscard]] std::uint64_t nextDeadlineNs() const override {
        std::uint64_t next = hw::TimedDevice::kNever;
        for (const hw::TimedDevice* d : timed_) next = std::min(next, d->nextDeadlineNs());
        return next;
    }
    [[nodiscard]] bool consoleCanAccept() const override { return com1_.rxSpace() > 0; }
    void consoleInput(std::uint8_t byte) override { com1_.receive({&byte, 1}); }
    // IRQ 12 is shared with the i8042's AUX port (IsaIrqLines says why that is safe).
    [[nodiscard]] hw::IrqLine isaIrq(unsigned irq) override {
        if (irq == hw::Pic8259Pair::kCascadeIrq) return {};  // the slave PIC's INT
        return irqs_.claim(irq);
    }
    [[nodiscard]] hw::vfio::VfioFds passthroughFds() const override {
        return vfio_ ? vfio_->fds() : hw::vfio::VfioFds{};
    }

private:
    // Host PCI functions passed through with VFIO (the spec's pci_devices; docs/
    // passthrough.md), set up as firmware would: bus 0 at the spec's device number (or
    // the next free slot), function 0; the BARs at the host's addresses (the tutorial's
    // identity placement) with decoding on; INTx on the spec's dest line, level-triggered
    // in the ELCR. All guest RAM is mapped for the devices' DMA at IOVA = guest-physical.
    void addPassthrough(BoardContext& c) {
        if (c.passthrough.empty()) return;
        if (c.deterministic)
            throw Error::format("{}: error: a passed-through device runs at host times; --deterministic runs cannot "
                                "have one",
                                c.passthrough.front().origin);
        vfio_ = std::make_unique<hw::vfio::VfioSession>();
        for (const hw::vfio::PassthroughSpec& spec : c.passthrough) {
            auto opened = vfio_->open(spec);
            hw::IrqLine irq;
            std::uint8_t line = 0xFF;
            if (spec.irq) {
                line = static_cast<std::uint8_t>(spec.irq->dest);
                irq = irqs_.claim(line);
                const std::uint16_t elcrPort = line < 8 ? 0x4D0 : 0x4D1;
                const std::uint8_t elcr = line < 8 ? pic_.master().elcr() : pic_.slave().elcr();
                pic_.ioWrite(elcrPort, 1, elcr | 1u << (line % 8));
            }
            auto& fn = *passthrough_.emplace_back(std::make_unique<hw::vfio::VfioPciFunction>(
                fmt::format("passthrough {} ({})", spec.name, spec.address.toString()), std::move(opened.backend),
                opened.bars, c.mmio, c.io, irq, line, c.kick, &c.memory));
            const auto slot = pci_.functionAt(hw::PciAddress{0, spec.address.device, 0}) || spec.address.device == 0
                                  ? pci_.freeSlot()
                                  : spec.address.device;
            pci_.addFunction(hw::PciAddress{0, slot, 0}, fn);
            std::uint16_t command = 0;
            for (const hw::vfio::GrantedBar& b : opened.bars) {
                fn.configWrite(hw::PciFunction::kBar0 + 4 * b.index, 4, static_cast<std::uint32_t>(b.start));
                if (b.start >> 32) fn.configWrite(hw::PciFunction::kBar0 + 4 * (b.index + 1), 4,
                                                  static_cast<std::uint32_t>(b.start >> 32));
                command |= b.io ? hw::PciFunction::kCommandIo : hw::PciFunction::kCommandMemory;
            }
            fn.configWrite(hw::PciFunction::kCommand, 2, command);  // bus master: the guest driver's call
            log::info("passthrough: {} as guest PCI 00:{:02x}.0, {} BAR(s), INTx {}", spec.describe(), slot,
                      opened.bars.size(), spec.irq ? fmt::format("on IRQ {}", line) : std::string("off"));
        }
        vfio_->mapGuestRam(std::span(c.memory.ramBase(), c.memory.ramSize()), 0);
        // INTx resampling: the guest's EOI at the PIC unmasks the host line.
        pic_.onEoi = [this](unsigned irq) {
            for (auto& p : passthrough_) p->endOfInterrupt(irq);
        };
    }

    // One virtio-blk PCI function per disk: /dev/vda, vdb, ... in order.
    void addDisks(BoardContext& c) {
        for (std::size_t i = 0; i < c.disks.size(); ++i) {
            const auto letter = static_cast<char>('a' + i);
            // Deterministic runs do the I/O inside the notification: guest time must not
            // depend on when a host thread finishes.
            try {
                disks_.push_back(std::make_unique<hw::virtio::VirtioBlk>(
                    c.disks[i], c.memory, fmt::format("virtio-blk vd{}", letter), c.kick,
                    !c.deterministic));
            } catch (const Error& e) {
                if (c.disks[i].origin.empty()) throw;
                throw e.withContext(c.disks[i].origin);
            }
            addVirtioFunction(c, *disks_.back());
        }
    }

    // One virtio-net PCI function per NIC, after the disks: eth0, eth1, ... in order.
    void addNics(BoardContext& c) {
        if (c.nics.empty()) return;
        // Frames arrive at host times: a deterministic run cannot have a network.
        if (c.deterministic)
            throw Error::format("{}: a network interface takes input at host times; --deterministic runs cannot "
                                "have one",
                                c.nics.front().origin.empty() ? "--net" : c.nics.front().origin);
        std::vector<net::MacAddress> macs;
        for (std::size_t i = 0; i < c.nics.size(); ++i) {
            const net::NicOptions& o = c.nics[i];
            const net::MacAddress mac = o.mac.value_or(net::defaultMac(static_cast<unsigned>(i)));
            if (std::find(macs.begin(), macs.end(), mac) != macs.end())
                throw Error::format("{}: MAC address {} is already another NIC's of this VM",
                                    o.origin.empty() ? fmt::format("NIC {}", i) : o.origin, mac.str());
            macs.push_back(mac);
            const std::string name = fmt::format("net{}", i);
            auto backend = net::createBackend(
                o, fmt::format("{} ({})", name, o.kind == net::BackendKind::User ? "user" : "tap " + o.ifname));
            net::NetBackend& b = *backend;
            nics_.push_back(std::make_unique<hw::virtio::VirtioNet>(std::move(backend), mac, c.memory,
                                                                    "virtio-net " + name));
            addVirtioFunction(c, *nics_.back());
            b.start(c.kick);
        }
    }

    // The PCI function of a virtio device in the next free slot, set up as firmware
    // would: BAR 0 programmed with memory decoding on, INTx on the next line of
    // kPciIrqs, level-triggered in the ELCR.
    void addVirtioFunction(BoardContext& c, hw::virtio::VirtioDevice& device) {
        const unsigned irq = kPciIrqs[virtio_.size() % kPciIrqs.size()];
        auto& fn = *virtio_.emplace_back(
            std::make_unique<hw::virtio::VirtioPci>(device, c.memory, c.mmio, irqs_.claim(irq)));
        pci_.addFunction(hw::PciAddress{0, pci_.freeSlot(), 0}, fn);
        fn.setInterruptLine(static_cast<std::uint8_t>(irq));
        const std::uint16_t elcrPort = irq < 8 ? 0x4D0 : 0x4D1;
        const std::uint8_t elcr = irq < 8 ? pic_.master().elcr() : pic_.slave().elcr();
        pic_.ioWrite(elcrPort, 1, elcr | 1u << (irq % 8));
        fn.configWrite(hw::PciFunction::kBar0 + 4 * hw::virtio::VirtioPci::kBar, 4,
                       static_cast<std::uint32_t>(nextBar_));
        fn.configWrite(hw::PciFunction::kCommand, 2, hw::PciFunction::kCommandMemory);
        nextBar_ += hw::virtio::VirtioPci::kBarSize;
    }

    hw::Pic8259Pair pic_;
    IsaIrqLines irqs_;  // every device drives its line through here (wired-OR)
    hw::Pit8254 pit_;
    hw::RtcCmos rtc_;
    hw::Uart16550 com1_, com2_;
    hw::I8042 i8042_;
    hw::Port80 port80_;
    hw::DebugExit debugExit_;
    hw::ResetControl resetControl_;
    hw::PciHost pci_;
    std::array<hw::TimedDevice*, 4> timed_{&pit_, &rtc_, &com1_, &com2_};
    std::uint64_t nextBar_ = kPciMemoryBase;
    std::vector<std::unique_ptr<hw::virtio::VirtioBlk>> disks_;
    std::vector<std::unique_ptr<hw::virtio::VirtioNet>> nics_;   // their backend threads stop with them
    std::vector<std::unique_ptr<hw::virtio::VirtioPci>> virtio_;  // after disks_ and nics_: goes first
    std::unique_ptr<hw::vfio::VfioSession> vfio_;  // container, groups, DMA: outlive the functions
    std::vector<std::unique_ptr<hw::vfio::VfioPciFunction>> passthrough_;
};

}  // namespace

std::unique_ptr<Board> createPcBoard(BoardContext& ctx) { return std::make_unique<PcBoard>(ctx); }

}  // namespace cxvm::vmm
