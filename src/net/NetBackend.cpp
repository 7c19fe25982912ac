#include "net/NetBackend.h"

#include "util/Error.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace cxvm::net {

NetBackend::NetBackend(std::string name)
    : name_(std::move(name)), kickFd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!kickFd_) throwErrno(fmt::format("{}: eventfd", name_));
}

NetBackend::~NetBackend() { stop(); }

void NetBackend::start(Wake wake) {
    if (thread_.joinable()) return;
    wake_ = std::move(wake);
    thread_ = std::thread([this] { run(); });
}

void NetBackend::stop() {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    kickTx();
    thread_.join();
}

void NetBackend::kickTx() {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(kickFd_.get(), &one, sizeof one);
}

void NetBackend::drainKick() {
    std::uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(kickFd_.get(), &count, sizeof count);
}

bool NetBackend::deliver(std::span<const std::uint8_t> frame) {
    if (frame.size() < kMinFrameBytes || frame.size() > kMaxFrameBytes) {
        const auto n = rxDroppedSize_.fetch_add(1, std::memory_order_relaxed) + 1;
        warnings_.warn("{}: received frame of {} bytes dropped: frames are {}-{} bytes (MTU 1500, no offloads; "
                       "{} such drop(s) so far)",
                       name_, frame.size(), kMinFrameBytes, kMaxFrameBytes, n);
        return false;
    }
    const std::span<std::uint8_t> slot = rx_.reserve();
    if (slot.empty()) {
        const auto n = rxDroppedFull_.fetch_add(1, std::memory_order_relaxed) + 1;
        warnings_.warn("{}: received frame dropped: the guest takes no frames (no receive buffers?) and {} "
                       "wait already ({} dropped so far)",
                       name_, rx_.capacity(), n);
        return false;
    }
    std::copy(frame.begin(), frame.end(), slot.begin());
    rx_.commit(frame.size());
    rxDelivered_.fetch_add(1, std::memory_order_relaxed);
    delivered_ = true;
    return true;
}

void NetBackend::flushDelivered() {
    if (!std::exchange(delivered_, false)) return;
    if (wake_) wake_();
}

}  // namespace cxvm::net
