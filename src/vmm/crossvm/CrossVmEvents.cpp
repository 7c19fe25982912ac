#include "vmm/crossvm/CrossVmEvents.h"

#include "util/Error.h"
#include "util/Log.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace cxvm::vmm::crossvm {
namespace {

void checkIds(const std::vector<CrossVmEvent>& events, const char* what) {
    for (std::size_t i = 0; i < events.size(); ++i) {
        const CrossVmEvent& e = events[i];
        if (e.id == 0) throw Error::format("crossvm: {} event {}: id 0 (ids start at 1)", what, e.name);
        if (e.eventfd < 0) throw Error::format("crossvm: {} event {}: no eventfd", what, e.name);
        for (std::size_t j = 0; j < i; ++j)
            if (events[j].id == e.id)
                throw Error::format("crossvm: {} events {} and {} both have id {}", what,
                                    events[j].name, e.name, e.id);
    }
}

}  // namespace

CrossVmEvents::CrossVmEvents(hw::GuestMemory& memory, hw::IrqLine irq,
                             std::vector<CrossVmEvent> emits, std::vector<CrossVmEvent> consumes,
                             WarnLimiter& warnings)
    : memory_(memory),
      irq_(irq),
      emits_(std::move(emits)),
      consumes_(std::move(consumes)),
      warnings_(warnings),
      latched_(std::make_unique<std::atomic<bool>[]>(consumes_.size())) {
    checkIds(emits_, "emitted");
    checkIds(consumes_, "consumed");
    if (!consumes_.empty() && !irq_.connected())
        throw Error("crossvm: consumed events need an IRQ line, and this board has none");
}

void CrossVmEvents::writePageId(std::uint32_t id) {
    // GuestMemory::write checks the range again and tells the interp's code cache
    // (noteWrite) — a guest may have put code next to its event page.
    std::uint8_t b[4];
    std::memcpy(b, &id, 4);  // x86 guest: little endian, as the host
    memory_.write(page_->gpa, b);
}

Result CrossVmEvents::init(std::uint32_t gpa, const CrossVmDataports& dataports) {
    auto refuse = [&](Result r, const char* why) {
        warnings_.warn("crossvm: guest INIT of the consumed-event page at gpa {:#x} (+{}): {}; "
                       "guest gets {}",
                       gpa, kEventPageBytes, why, resultName(r));
        return r;
    };
    if (gpa >= memory_.ramSize() || kEventPageBytes > memory_.ramSize() - gpa)
        return refuse(Result::Fault, "not inside guest RAM");
    if (dataports.overlapsShared(gpa, kEventPageBytes))
        return refuse(Result::Busy, "inside a shared dataport (other processes write those pages)");
    // A second INIT (the module was reloaded) moves the page; an event still in flight
    // is latched again and redelivered to the new page, so that it is not lost.
    if (inFlight_) {
        for (std::size_t i = 0; i < consumes_.size(); ++i)
            if (consumes_[i].id == inFlight_) latch(i);
        inFlight_ = 0;
        irq_.lower();
    }
    page_ = GuestRange{gpa, kEventPageBytes};
    cxvm_event_page p{kEventNone, kEventMagic};
    std::uint8_t b[sizeof p];
    std::memcpy(b, &p, sizeof p);
    memory_.write(gpa, b);
    log::info("crossvm: consumed-event page at guest {:#x} ({} consumed event(s))", gpa,
              consumes_.size());
    deliverPending();  // events that arrived before INIT stayed latched for this
    return Result::Ok;
}

Result CrossVmEvents::ack() {
    if (!inFlight_) {
        warnings_.warn("crossvm: guest ACK with no consumed event in flight{}; guest gets {}",
                       page_ ? "" : " (and no INIT yet)", resultName(Result::NoMessage));
        return Result::NoMessage;
    }
    inFlight_ = 0;
    writePageId(kEventNone);
    irq_.lower();
    deliverPending();
    return Result::Ok;
}

Result CrossVmEvents::emit(std::uint32_t id) {
    const CrossVmEvent* e = nullptr;
    for (const CrossVmEvent& c : emits_)
        if (c.id == id) e = &c;
    if (!e) {
        warnings_.warnWith([&] {
            return fmt::format("crossvm: guest EMIT of event id {}: {}; guest gets {}", id,
                               id == 0 ? std::string("id 0 is invalid (ids start at 1)")
                                       : fmt::format("this VM emits {} event(s), none with that id",
                                                     emits_.size()),
                               resultName(Result::NoEntry));
        });
        return Result::NoEntry;
    }
    const std::uint64_t one = 1;
    // An eventfd write adds to its counter and never blocks unless the counter would
    // pass 2^64-2 (eventfd(2)) — unreachable by EMITs, as the reader resets it. EAGAIN
    // (a non-blocking fd at that limit) means "already pending": the event coalesces.
    ssize_t n;
    do n = ::write(e->eventfd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN) {
        const int err = errno;
        warnings_.warn("crossvm: guest EMIT of event {} (id {}): writing its eventfd failed: {}; "
                       "guest gets {}",
                       e->name, id, std::strerror(err), resultName(Result::HostIo));
        return Result::HostIo;
    }
    ++emitted_;
    return Result::Ok;
}

bool CrossVmEvents::latch(std::size_t index) {
    const bool was = latched_[index].exchange(true, std::memory_order_acq_rel);
    if (was) coalesced_.fetch_add(1, std::memory_order_relaxed);
    // After the flag: deliverPending() clears anyLatched_ before it scans the flags.
    anyLatched_.store(true, std::memory_order_release);
    return !was;
}

void CrossVmEvents::deliverPending() {
    if (!page_ || inFlight_) return;
    if (!anyLatched_.exchange(false, std::memory_order_acq_rel)) return;
    const std::size_t n = consumes_.size();
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (nextScan_ + k) % n;
        if (latched_[i].exchange(false, std::memory_order_acq_rel)) {
            nextScan_ = i + 1;
            // Others may still be latched: look again at the next ACK.
            anyLatched_.store(true, std::memory_order_release);
            deliver(i);
            return;
        }
    }
}

void CrossVmEvents::deliver(std::size_t index) {
    inFlight_ = consumes_[index].id;
    ++delivered_;
    writePageId(inFlight_);
    // Level until ACK: the guest's handler reads the id, then ACKs (crossvm-abi.md
    // "Event delivery"). ACK lowers it, so the next delivery is a fresh rising edge
    // for an edge-triggered 8259 input.
    irq_.raise();
}

}  // namespace cxvm::vmm::crossvm
