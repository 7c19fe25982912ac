#include "net/SlirpBackend.h"

#include "util/Error.h"
#include "util/Log.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>

namespace cxvm::net {

namespace {

in_addr ipv4(const char* dotted) {
    in_addr a{};
    ::inet_pton(AF_INET, dotted, &a);
    return a;
}
in6_addr ipv6(const char* text) {
    in6_addr a{};
    ::inet_pton(AF_INET6, text, &a);
    return a;
}

std::int64_t nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

constexpr std::int64_t kNoExpiry = -1;

// libslirp keeps process-wide state besides each instance's (its clock `curtime`, the
// host's DNS address cache): two user-mode NICs, each on its own thread, take turns
// for every call into it. Never held across poll(2).
std::mutex gSlirpMutex;

}  // namespace

// A slirp timer: libslirp 4.x asks for them through timer_new(_opaque) and arms them
// with timer_mod (absolute ms on clock_get_ns's clock). They fire on the backend thread.
struct SlirpBackend::Timer {
    SlirpTimerCb cb = nullptr;  // timer_new
    SlirpTimerId id{};          // timer_new_opaque: slirp_handle_timer(id, cbOpaque)
    bool byId = false;
    void* cbOpaque = nullptr;
    std::int64_t expireMs = kNoExpiry;
};

void SlirpBackend::SlirpDeleter::operator()(Slirp* s) const {
    std::lock_guard lock(gSlirpMutex);
    slirp_cleanup(s);
}

bool SlirpBackend::icmpSocketsAllowed() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

SlirpBackend::SlirpBackend(const NicOptions& options, std::string name) : NetBackend(std::move(name)) {
    callbacks_.send_packet = &SlirpBackend::sendPacket;
    callbacks_.guest_error = &SlirpBackend::guestError;
    callbacks_.clock_get_ns = &SlirpBackend::clockNs;
    callbacks_.timer_new = &SlirpBackend::timerNew;
    callbacks_.timer_free = &SlirpBackend::timerFree;
    callbacks_.timer_mod = &SlirpBackend::timerMod;
    callbacks_.register_poll_fd = &SlirpBackend::registerPollFd;
    callbacks_.unregister_poll_fd = &SlirpBackend::unregisterPollFd;
    callbacks_.notify = &SlirpBackend::notify;
    callbacks_.timer_new_opaque = &SlirpBackend::timerNewOpaque;

    // QEMU's defaults for -netdev user, so that guides written for it apply.
    SlirpConfig cfg{};
    cfg.version = 4;  // timer_new_opaque, disable_dhcp
    cfg.restricted = 0;
    cfg.in_enabled = true;
    cfg.vnetwork = ipv4("10.0.2.0");
    cfg.vnetmask = ipv4("255.255.255.0");
    cfg.vhost = ipv4("10.0.2.2");
    cfg.in6_enabled = true;
    cfg.vprefix_addr6 = ipv6("fec0::");
    cfg.vprefix_len = 64;
    cfg.vhost6 = ipv6("fec0::2");
    cfg.vhostname = "cxvm";
    cfg.vdhcp_start = ipv4("10.0.2.15");
    cfg.vnameserver = ipv4("10.0.2.3");
    cfg.vnameserver6 = ipv6("fec0::3");
    cfg.if_mtu = 1500;  // the guest's MTU: no offloads, frames of at most kMaxFrameBytes
    cfg.if_mru = 1500;
    cfg.disable_host_loopback = false;  // 10.0.2.2 reaches the host's loopback services
    cfg.enable_emu = false;
    std::lock_guard lock(gSlirpMutex);
    slirp_.reset(slirp_new(&cfg, &callbacks_, this));
    if (!slirp_) throw Error::format("{}: libslirp refused its configuration", this->name());

    for (const HostForward& f : options.hostForwards) {
        in_addr host{}, guest{};
        host.s_addr = f.hostAddr;
        guest.s_addr = f.guestAddr ? f.guestAddr : cfg.vdhcp_start.s_addr;
        errno = 0;
        if (slirp_add_hostfwd(slirp_.get(), f.udp ? 1 : 0, host, f.hostPort, guest, f.guestPort) < 0)
            throw Error::format("hostfwd={}: cannot listen on {}:{} on the host: {}", f.text,
                                f.hostAddr ? inet_ntoa(host) : "*", f.hostPort,
                                errno ? std::strerror(errno) : "refused by libslirp (port in use?)");
    }
    if (!icmpSocketsAllowed())
        log::warn("{}: ping from the guest to hosts beyond 10.0.2.2 will not get answers: this host refuses "
                  "unprivileged ICMP sockets (allow them with `sysctl -w net.ipv4.ping_group_range=\"0 "
                  "2147483647\"`); TCP, UDP, DHCP, DNS and ping 10.0.2.2 are unaffected",
                  this->name());
}

SlirpBackend::~SlirpBackend() { stop(); }

// ---- callbacks (backend thread, or the constructor's thread before start()) ----

ssize_t SlirpBackend::sendPacket(const void* buf, std::size_t len, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    // A full ring drops the frame, as a NIC without buffers would; TCP retransmits.
    self->deliver({static_cast<const std::uint8_t*>(buf), len});
    return static_cast<ssize_t>(len);
}

void SlirpBackend::guestError(const char* msg, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    self->warnings().warn("{}: guest error (slirp): {}", self->name(), msg);
}

std::int64_t SlirpBackend::clockNs(void*) { return nowNs(); }

void* SlirpBackend::timerNew(SlirpTimerCb cb, void* cbOpaque, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    auto t = std::make_unique<Timer>();
    t->cb = cb;
    t->cbOpaque = cbOpaque;
    return self->timers_.emplace_back(std::move(t)).get();
}

void* SlirpBackend::timerNewOpaque(SlirpTimerId id, void* cbOpaque, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    auto t = std::make_unique<Timer>();
    t->id = id;
    t->byId = true;
    t->cbOpaque = cbOpaque;
    return self->timers_.emplace_back(std::move(t)).get();
}

void SlirpBackend::timerFree(void* timer, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    std::erase_if(self->timers_, [timer](const std::unique_ptr<Timer>& t) { return t.get() == timer; });
}

void SlirpBackend::timerMod(void* timer, std::int64_t expireMs, void*) {
    static_cast<Timer*>(timer)->expireMs = expireMs;
}

void SlirpBackend::notify(void*) {
    // Slirp can take more data from a socket: the loop polls again at once anyway.
}
void SlirpBackend::registerPollFd(int, void*) {}    // every round's pollfds come from
void SlirpBackend::unregisterPollFd(int, void*) {}  // slirp_pollfds_fill

int SlirpBackend::addPoll(int fd, int events, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    short ev = 0;
    if (events & SLIRP_POLL_IN) ev |= POLLIN;
    if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
    if (events & SLIRP_POLL_ERR) ev |= POLLERR;
    if (events & SLIRP_POLL_HUP) ev |= POLLHUP;
    self->pollfds_.push_back({fd, ev, 0});
    return static_cast<int>(self->pollfds_.size() - 1);
}

int SlirpBackend::getRevents(int idx, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    if (idx < 0 || static_cast<std::size_t>(idx) >= self->pollfds_.size()) return 0;
    const short r = self->pollfds_[static_cast<std::size_t>(idx)].revents;
    int ev = 0;
    if (r & POLLIN) ev |= SLIRP_POLL_IN;
    if (r & POLLOUT) ev |= SLIRP_POLL_OUT;
    if (r & POLLPRI) ev |= SLIRP_POLL_PRI;
    if (r & POLLERR) ev |= SLIRP_POLL_ERR;
    if (r & POLLHUP) ev |= SLIRP_POLL_HUP;
    return ev;
}

// ---- the backend thread ----

int SlirpBackend::timeoutMs(std::uint32_t slirpTimeout) const {
    std::int64_t t = slirpTimeout == std::numeric_limits<std::uint32_t>::max() ? 1000 : slirpTimeout;
    const std::int64_t now = nowNs() / 1'000'000;
    for (const auto& timer : timers_)
        if (timer->expireMs != kNoExpiry) t = std::min(t, std::max<std::int64_t>(0, timer->expireMs - now));
    return static_cast<int>(std::clamp<std::int64_t>(t, 0, 1000));
}

void SlirpBackend::fireTimers() {
    const std::int64_t now = nowNs() / 1'000'000;
    // A callback may re-arm, create or free timers: look up by index, re-check size.
    for (std::size_t i = 0; i < timers_.size(); ++i) {
        Timer& t = *timers_[i];
        if (t.expireMs == kNoExpiry || t.expireMs > now) continue;
        t.expireMs = kNoExpiry;  // one-shot until timer_mod again
        if (t.byId)
            slirp_handle_timer(slirp_.get(), t.id, t.cbOpaque);
        else
            t.cb(t.cbOpaque);
    }
}

void SlirpBackend::sendTxFrames() {
    FrameRing& ring = tx();
    while (!ring.empty()) {
        const auto frame = ring.front();
        slirp_input(slirp_.get(), frame.data(), static_cast<int>(frame.size()));
        ring.pop();
        countSent();
    }
}

void SlirpBackend::run() {
    pollfds_.reserve(64);
    while (!stopping()) {
        pollfds_.clear();
        pollfds_.push_back({kickFd(), POLLIN, 0});
        std::uint32_t slirpTimeout = std::numeric_limits<std::uint32_t>::max();
        {
            std::lock_guard lock(gSlirpMutex);
            slirp_pollfds_fill(slirp_.get(), &slirpTimeout, &SlirpBackend::addPoll, this);
        }
        const int n = ::poll(pollfds_.data(), pollfds_.size(), timeoutMs(slirpTimeout));
        const int err = errno;
        if (n < 0 && err != EINTR) warnings().warn("{}: poll: {}", name(), std::strerror(err));
        if (pollfds_[0].revents & POLLIN) drainKick();
        {
            std::lock_guard lock(gSlirpMutex);
            slirp_pollfds_poll(slirp_.get(), n < 0 ? 1 : 0, &SlirpBackend::getRevents, this);
            sendTxFrames();
            fireTimers();
        }
        flushDelivered();
    }
}

}  // namespace cxvm::net
