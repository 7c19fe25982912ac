#include "net/TapBackend.h"

#include "util/Error.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cxvm::net {

TapBackend::TapBackend(const NicOptions& options, std::string name)
    : NetBackend(std::move(name)), ifname_(options.ifname) {
    // Attach only: TUNSETIFF would create a missing device for a privileged caller.
    if (::if_nametoindex(ifname_.c_str()) == 0)
        throw Error::format("tap: no network interface '{}' (create it first: ip tuntap add dev {} mode tap "
                            "user $USER; ip link set {} up)",
                            ifname_, ifname_, ifname_);
    fd_ = UniqueFd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!fd_) {
        const int e = errno;
        if (e == ENOENT || e == ENODEV || e == ENXIO)
            throw Error::format("tap: /dev/net/tun: {} (is the tun module loaded? modprobe tun)", std::strerror(e));
        throw Error::format("tap: /dev/net/tun: {}{}", std::strerror(e),
                            e == EACCES || e == EPERM ? " (needs read-write access to /dev/net/tun)" : "");
    }
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(fd_.get(), TUNSETIFF, &ifr) != 0) {
        const int e = errno;
        if (e == EPERM)
            throw Error::format("tap: {}: not permitted: attach needs CAP_NET_ADMIN, or a device created for this "
                                "user (ip tuntap add dev {} mode tap user $USER)",
                                ifname_, ifname_);
        if (e == EBUSY)
            throw Error::format("tap: {}: in use by another process (a tap device has one user unless created "
                                "multi_queue)",
                                ifname_);
        if (e == EINVAL)
            throw Error::format("tap: {}: not a tap device (a tun device, or another kind of interface?)", ifname_);
        throw Error::format("tap: {}: TUNSETIFF: {}", ifname_, std::strerror(e));
    }
}

TapBackend::~TapBackend() { stop(); }

void TapBackend::receive() {
    // One frame per read; the ring slot first, the overflow buffer catches the rest of
    // a frame too large for the guest (dropped and counted by deliver()).
    for (;;) {
        std::span<std::uint8_t> slot = rx().reserve();
        std::array<std::uint8_t, kMaxFrameBytes> scratch;  // the ring is full: read to drop
        const bool full = slot.empty();
        if (full) slot = scratch;
        iovec iov[2] = {{slot.data(), slot.size()}, {overflow_.data(), overflow_.size()}};
        const ssize_t n = ::readv(fd_.get(), iov, 2);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) warnings().warn("{}: read from tap {}: {}", name(), ifname_, std::strerror(errno));
            return;
        }
        if (n == 0) return;
        const auto len = static_cast<std::size_t>(n);
        if (full || len > kMaxFrameBytes || len < kMinFrameBytes) {
            // deliver() counts and logs the drop (a full ring or a bad size).
            deliver({slot.data(), std::min(len, slot.size())});
            continue;
        }
        // The frame is in the slot already: publish it without a second copy.
        rx().commit(len);
        deliverInPlace();
    }
}

bool TapBackend::transmit() {
    FrameRing& ring = tx();
    while (!ring.empty()) {
        const auto frame = ring.front();
        const ssize_t n = ::write(fd_.get(), frame.data(), frame.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) return false;  // wait for POLLOUT
        if (n < 0) {
            countFailed();
            warnings().warn("{}: write to tap {}: {} (frame of {} bytes dropped)", name(), ifname_,
                            std::strerror(errno), frame.size());
        } else {
            countSent();
        }
        ring.pop();
    }
    return true;
}

void TapBackend::run() {
    bool blocked = false;  // the device's queue is full: wait for POLLOUT
    bool resting = false;  // the device reported an error: leave it alone for a round
    while (!stopping()) {
        pollfd p[2] = {{kickFd(), POLLIN, 0}, {fd_.get(), static_cast<short>(POLLIN | (blocked ? POLLOUT : 0)), 0}};
        // POLLERR/POLLHUP are reported whatever the events: without the rest a dead
        // device would make this loop spin.
        const int n = ::poll(p, resting ? 1 : 2, 1000);
        const int err = errno;
        if (n < 0 && err != EINTR) warnings().warn("{}: poll: {}", name(), std::strerror(err));
        if (p[0].revents & POLLIN) drainKick();
        if (resting) {
            resting = false;
        } else {
            if (p[1].revents & POLLIN) receive();
            if (p[1].revents & (POLLERR | POLLHUP)) {
                warnings().warn("{}: tap {} reports an error or hang-up (interface gone?)", name(), ifname_);
                resting = true;
            }
        }
        blocked = !transmit();
        flushDelivered();
    }
}

}  // namespace cxvm::net
