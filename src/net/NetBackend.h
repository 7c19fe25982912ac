#pragma once
// The host side of a virtio-net device (docs/network.md): something that takes the
// guest's Ethernet frames and gives it frames back — slirp (user-mode networking) or a
// tap device. Each backend runs its host I/O on its own thread, so that a slow socket or
// a full tap queue never stalls the vCPU; frames cross between that thread and the VM
// thread through two preallocated FrameRings:
//
//   tx(): VM thread -> backend thread. The device copies a guest frame into a slot and,
//         once per batch, kickTx() writes the backend's eventfd to wake its poll.
//   rx(): backend thread -> VM thread. deliver() copies a received frame into a slot,
//         or drops it and counts it when the ring is full (a guest that gives no receive
//         buffers never blocks the backend); once per poll round, if frames arrived,
//         the backend calls `wake` (Vm::kick) so that the VM loop comes round.
//
// Frames are at most kMaxFrameBytes (no GSO/TSO offloads are negotiated, so the guest's
// MTU is 1500): larger ones are dropped and counted on either side.
#include "net/FrameRing.h"
#include "util/UniqueFd.h"
#include "util/WarnLimiter.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <thread>

namespace cxvm::net {

// Ethernet header 14 + 802.1Q tag 4 + MTU 1500, no FCS: Linux's virtio_net sizes its
// receive buffers the same way (GOOD_PACKET_LEN).
inline constexpr std::size_t kMaxFrameBytes = 1518;
inline constexpr std::size_t kMinFrameBytes = 14;  // an Ethernet header
inline constexpr std::size_t kRingFrames = 256;

class NetBackend {
public:
    using Wake = std::function<void()>;
    virtual ~NetBackend();
    NetBackend(const NetBackend&) = delete;
    NetBackend& operator=(const NetBackend&) = delete;

    // "net0 (user)": for messages.
    [[nodiscard]] const std::string& name() const { return name_; }

    // Starts the backend thread. `wake` runs on it when frames wait in rx(). Without
    // start() (tests) the owner moves frames itself: deliver() and tx().
    void start(Wake wake);
    [[nodiscard]] bool running() const { return thread_.joinable(); }

    // ---- VM thread ----
    [[nodiscard]] FrameRing& tx() { return tx_; }
    [[nodiscard]] FrameRing& rx() { return rx_; }
    // Frames were committed to tx(): wake the backend thread (one eventfd write).
    void kickTx();

    // ---- backend thread (and tests standing in for it) ----
    // Copies `frame` into rx(); false (and counted, and logged rate-limited) when the
    // ring is full or the frame is not a valid size.
    bool deliver(std::span<const std::uint8_t> frame);
    // Calls `wake` if deliver() published frames since the last call.
    void flushDelivered();

    // Counters, readable from any thread.
    [[nodiscard]] std::uint64_t rxDelivered() const { return rxDelivered_.load(std::memory_order_relaxed); }
    // Received frames dropped because rx() was full (the guest took no frames).
    [[nodiscard]] std::uint64_t rxDroppedFull() const { return rxDroppedFull_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t rxDroppedSize() const { return rxDroppedSize_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t txSent() const { return txSent_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t txFailed() const { return txFailed_.load(std::memory_order_relaxed); }

protected:
    explicit NetBackend(std::string name);
    // The thread body: loops until stopping(), polling its fds and kickFd().
    virtual void run() = 0;
    // Derived destructors call this first: the thread uses the derived object.
    void stop();
    [[nodiscard]] bool stopping() const { return stop_.load(std::memory_order_acquire); }
    // The eventfd kickTx() and stop() write; the thread polls it (POLLIN).
    [[nodiscard]] int kickFd() const { return kickFd_.get(); }
    void drainKick();
    // A frame was committed to rx() directly (read into a reserve()d slot).
    void deliverInPlace() {
        rxDelivered_.fetch_add(1, std::memory_order_relaxed);
        delivered_ = true;
    }
    void countSent() { txSent_.fetch_add(1, std::memory_order_relaxed); }
    void countFailed() { txFailed_.fetch_add(1, std::memory_order_relaxed); }
    WarnLimiter& warnings() { return warnings_; }  // backend thread only

private:
    std::string name_;
    FrameRing tx_{kRingFrames, kMaxFrameBytes};
    FrameRing rx_{kRingFrames, kMaxFrameBytes};
    UniqueFd kickFd_;
    Wake wake_;
    bool delivered_ = false;  // backend thread
    WarnLimiter warnings_;    // backend thread
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> rxDelivered_{0}, rxDroppedFull_{0}, rxDroppedSize_{0}, txSent_{0}, txFailed_{0};
    std::thread thread_;
};

}  // namespace cxvm::net
