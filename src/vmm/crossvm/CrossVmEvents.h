#pragma once
// Events on the VMM side (docs/crossvm.md "VMM side", crossvm-abi.md tokens 2 and 3).
//
// Emitted events (guest -> native): EMIT(id) adds 1 to that connection's eventfd.
// Consumed events (native -> guest): latch(i) marks event i pending (any thread: the
// eventfd waiter); the VM thread's deliverPending() hands one latched event at a time to
// the guest — id into the event page, the IRQ line raised — and ACK lowers the line and
// delivers the next. Latching is a flag per event, so a burst of native signals
// coalesces into one delivery per id, and nothing is allocated per event.
//
// Threads: latch() and pending() from any thread; everything else on the VM thread
// (the only thread that touches guest RAM for this, the IRQ line and the PIC behind it).
#include "hw/GuestMemory.h"
#include "hw/Irq.h"
#include "vmm/crossvm/CrossVmAbi.h"
#include "vmm/crossvm/CrossVmConfig.h"
#include "vmm/crossvm/CrossVmDataports.h"
#include "vmm/crossvm/WarnLimiter.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace cxvm::vmm::crossvm {

class CrossVmEvents {
public:
    // Throws cxvm::Error for a bad config (id 0 or repeated within a direction, fd < 0).
    CrossVmEvents(hw::GuestMemory& memory, hw::IrqLine irq, std::vector<CrossVmEvent> emits,
                  std::vector<CrossVmEvent> consumes, WarnLimiter& warnings);

    // ---- hypercalls (VM thread) ----
    // INIT(gpa): the 8-byte event page must be guest RAM and no shared dataport.
    Result init(std::uint32_t gpa, const CrossVmDataports& dataports);
    Result ack();
    Result emit(std::uint32_t id);

    // ---- consumed events ----
    // Any thread: marks consumed event `index` (into consumes()) pending. Returns
    // whether it was newly latched (false: coalesced with one already pending).
    bool latch(std::size_t index);
    // VM thread: if INIT happened and nothing is in flight, delivers the next latched
    // event (round robin over ids, so a busy id cannot starve the others).
    void deliverPending();

    [[nodiscard]] const std::vector<CrossVmEvent>& consumes() const { return consumes_; }
    [[nodiscard]] const std::vector<CrossVmEvent>& emits() const { return emits_; }
    [[nodiscard]] std::optional<GuestRange> eventPage() const { return page_; }
    // The id in flight (0: none).
    [[nodiscard]] std::uint32_t inFlight() const { return inFlight_; }
    [[nodiscard]] std::uint64_t delivered() const { return delivered_; }
    [[nodiscard]] std::uint64_t coalesced() const {
        return coalesced_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t emitted() const { return emitted_; }

private:
    void writePageId(std::uint32_t id);
    void deliver(std::size_t index);

    hw::GuestMemory& memory_;
    hw::IrqLine irq_;
    std::vector<CrossVmEvent> emits_, consumes_;
    WarnLimiter& warnings_;

    // Written by latch() on any thread. `anyLatched_` lets deliverPending() skip the scan
    // (one relaxed load per VM loop iteration when nothing is pending).
    std::unique_ptr<std::atomic<bool>[]> latched_;
    std::atomic<bool> anyLatched_{false};
    std::atomic<std::uint64_t> coalesced_{0};

    // VM thread only.
    std::optional<GuestRange> page_;
    std::uint32_t inFlight_ = 0;
    std::size_t nextScan_ = 0;
    std::uint64_t delivered_ = 0, emitted_ = 0;
};

}  // namespace cxvm::vmm::crossvm
