#pragma once
// User-mode networking through libslirp (QEMU's `-netdev user`): the guest sees the
// 10.0.2.0/24 network with a gateway at 10.0.2.2 (the host), DHCP handing out
// 10.0.2.15 onward, a DNS forwarder at 10.0.2.3 (to the host's resolver) and, for
// IPv6, fec0::/64. Guest connections become ordinary host sockets; hostfwd rules
// listen on the host and forward into the guest.
//
// libslirp is not thread-safe: every slirp call is made on the backend thread — input
// frames come to it through tx() and the eventfd, its sockets and timers are polled
// there (slirp_pollfds_fill / poll / slirp_pollfds_poll), and its send_packet callback
// delivers into rx(). The constructor (on the caller's thread, before start()) creates
// the instance and its hostfwd listeners, so that their errors reach the user. Several
// instances (one per user NIC) take turns through a process-wide mutex: libslirp also
// has process-wide state.
#include "net/NetBackend.h"
#include "net/NetOptions.h"

#include <libslirp.h>
#include <poll.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace cxvm::net {

class SlirpBackend final : public NetBackend {
public:
    // Throws cxvm::Error naming the hostfwd rule a listener could not be set up for.
    SlirpBackend(const NicOptions& options, std::string name);
    ~SlirpBackend() override;

    // Whether this host lets slirp open unprivileged ICMP sockets (guest ping).
    [[nodiscard]] static bool icmpSocketsAllowed();

private:
    struct Timer;
    struct SlirpDeleter {
        void operator()(Slirp* s) const;
    };
    void run() override;
    // The poll timeout in ms: slirp's wish, capped by the next timer.
    int timeoutMs(std::uint32_t slirpTimeout) const;
    void fireTimers();
    void sendTxFrames();

    // libslirp callbacks (opaque: this).
    static ssize_t sendPacket(const void* buf, std::size_t len, void* opaque);
    static void guestError(const char* msg, void* opaque);
    static std::int64_t clockNs(void* opaque);
    static void* timerNew(SlirpTimerCb cb, void* cbOpaque, void* opaque);
    static void* timerNewOpaque(SlirpTimerId id, void* cbOpaque, void* opaque);
    static void timerFree(void* timer, void* opaque);
    static void timerMod(void* timer, std::int64_t expireMs, void* opaque);
    static int addPoll(int fd, int events, void* opaque);
    static int getRevents(int idx, void* opaque);

    static void notify(void* opaque);
    static void registerPollFd(int fd, void* opaque);
    static void unregisterPollFd(int fd, void* opaque);

    SlirpCb callbacks_{};
    std::vector<std::unique_ptr<Timer>> timers_;  // slirp creates a handful, once
    std::vector<pollfd> pollfds_;                 // grows to the socket count, then reused
    std::unique_ptr<Slirp, SlirpDeleter> slirp_;  // last: cleaned up first
};

}  // namespace cxvm::net
