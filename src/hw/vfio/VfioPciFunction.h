#pragma once
// A host PCI function passed through to the guest (docs/passthrough.md): a PciFunction
// on the board's PciHost whose config space is virtualised over the host device's.
//
// Config space:
//  - ids, class, revision, subsystem, interrupt pin: the host's (pin 0 when the spec
//    gives no irq: the guest sees no INTx);
//  - BARs: virtual, only those the spec grants (GrantedBar), same kind and size as the
//    host's; the guest sizes and moves them freely; the rest read 0 (not implemented);
//    no expansion ROM;
//  - command register: virtual (I/O, memory, bus master, parity, SERR, INTx disable)
//    and written through to the host device, which needs bus master for DMA;
//  - interrupt line: the spec's dest, guest-writable;
//  - capabilities: the host's list with MSI (0x05) and MSI-X (0x11) unlinked (this
//    board has no APIC to take their messages); kept capabilities read and write
//    through to the host device, except their ID and next bytes; everything else from
//    0x40 up reads 0 and ignores writes. No extended config space (PciHost has 256 bytes).
//
// BARs (docs/passthrough.md "Mapped BARs"): each granted BAR is an MmioBus (memory) or
// IoBus (I/O) range wherever the guest puts it. The parts of a memory BAR the backend
// could map (mappedAreas: VFIO's mmap-able areas less the MSI-X table and PBA pages)
// are also, while the BAR is decoded, device regions of GuestMemory at the BAR's guest
// address: the kvm engine makes them memory slots, so the guest's accesses there never
// exit. The interp engine does not see device regions (its accesses go through the
// MmioBus); the window then reads and writes the mapped bytes directly with one access
// of the guest's width (no system call), bounds-checked against the BAR and never taken
// for code (the MMIO path is not cached). Everything else — I/O BARs, unmappable areas,
// the MSI-X pages, unaligned accesses — traps: a VFIO region read or write (pread/pwrite
// on the device fd).
//
// INTx: the host device's INTx goes to an eventfd (VFIO_DEVICE_SET_IRQS, trigger); a
// watcher thread wakes the VM loop (`kick`), the VM thread (pollIntx) raises the
// spec's dest line. VFIO keeps the host line masked after each interrupt. The line is
// lowered and the host line unmasked (VFIO_IRQ_SET_ACTION_UNMASK) when the guest ends
// the interrupt at its PIC (endOfInterrupt, from Pic8259Pair::onEoi: both engines use
// cxvm's 8259s) — what KVM's resampling irqfd does for an in-kernel irqchip. If the
// device still asserts (Linux's XT-PIC handler sends the EOI before it runs the
// driver's handler), VFIO signals again at once and the line goes up again.
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "hw/PciFunction.h"
#include "hw/vfio/PassthroughBackend.h"
#include "hw/vfio/PassthroughSpec.h"
#include "util/UniqueFd.h"
#include "util/WarnLimiter.h"

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace cxvm::hw::vfio {

class VfioPciFunction final : public PciFunction {
public:
    static constexpr std::uint8_t kCapMsi = 0x05, kCapMsix = 0x11;

    // `backend` is owned. `bars`: the granted BARs (grantedBars()); `irq` the dest line
    // (unconnected: no INTx), `interruptLine` its number. `kick` wakes the VM loop
    // (thread-safe). `memory`: where mapped BAR areas become device regions (kvm memory
    // slots); nullptr: none. Throws cxvm::Error for a BAR the backend does not have or
    // whose size is not a power of two.
    VfioPciFunction(std::string name, std::unique_ptr<PassthroughBackend> backend,
                    std::span<const GrantedBar> bars, MmioBus& mmio, IoBus& io, IrqLine irq,
                    std::uint8_t interruptLine, std::function<void()> kick, GuestMemory* memory = nullptr);
    ~VfioPciFunction() override;

    [[nodiscard]] std::uint32_t configRead(unsigned offset, unsigned size) const override;
    void configWrite(unsigned offset, unsigned size, std::uint32_t value) override;

    // VM thread: raise the dest line if the host signalled INTx since the last call.
    void pollIntx();
    [[nodiscard]] bool intxRaised() const { return intxRaised_; }
    // VM thread: the guest's PIC ended interrupt `irq` (0..15): if it is this function's
    // dest line and raised, lower it and unmask the host's INTx.
    void endOfInterrupt(unsigned irq);
    // BAR accesses that trapped to the device fd (pread/pwrite), and those the window
    // served from the mapped bytes (interp; kvm's go to the memory slot, unseen).
    [[nodiscard]] std::uint64_t trappedBarAccesses() const { return trapped_; }
    [[nodiscard]] std::uint64_t mappedBarAccesses() const { return mappedHits_; }
    // The capabilities the guest sees (offset, id), in list order.
    [[nodiscard]] std::span<const std::pair<unsigned, std::uint8_t>> visibleCapabilities() const {
        return visibleCaps_;
    }
    // Where BAR `index` is attached now (nullopt: not decoded).
    [[nodiscard]] std::optional<std::uint64_t> mappedBar(unsigned index) const;

private:
    class Window;  // one BAR on the MMIO or I/O bus
    struct CapRange {
        unsigned start = 0, end = 0;  // [start, end) within config space
        std::uint8_t id = 0;
        bool visible = false;
        unsigned nextVisible = 0;  // the next visible capability's offset (0: last)
    };

    void scanCapabilities();
    [[nodiscard]] std::uint8_t capabilityByte(unsigned offset) const;
    void remapBars();
    void startWatcher();
    void detachWindow(Window& w);

    std::unique_ptr<PassthroughBackend> backend_;
    MmioBus& mmio_;
    IoBus& io_;
    IrqLine irq_;
    unsigned intxLine_ = 0xFF;
    std::function<void()> kick_;
    GuestMemory* memory_ = nullptr;
    std::uint64_t trapped_ = 0, mappedHits_ = 0;
    std::vector<std::unique_ptr<Window>> windows_;
    std::vector<CapRange> caps_;
    std::vector<std::pair<unsigned, std::uint8_t>> visibleCaps_;
    bool intxRaised_ = false;
    UniqueFd intxFd_, stopFd_;
    std::atomic<bool> intxFired_{false};
    std::jthread watcher_;
    mutable WarnLimiter warnings_;
    friend class Window;
};

}  // namespace cxvm::hw::vfio
