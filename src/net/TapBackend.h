#pragma once
// A tap device on the host (QEMU's `-netdev tap,ifname=NAME`): the guest's frames are
// written to it and the frames the host sends to it go to the guest. cxvm attaches to an
// existing device (`ip tuntap add dev NAME mode tap [user USER]`); it never creates one,
// so that a typo does not leave a stray interface. IFF_NO_PI, no IFF_VNET_HDR: no
// offloads are negotiated with the guest, so there is nothing for a vnet header to say.
//
// One read(2) per received frame (into a ring slot, with an overflow buffer to catch
// oversized frames) and one write(2) per sent frame, on the backend thread.
#include "net/NetBackend.h"
#include "net/NetOptions.h"
#include "util/UniqueFd.h"

#include <array>
#include <string>

namespace cxvm::net {

class TapBackend final : public NetBackend {
public:
    // Opens /dev/net/tun and attaches to `options.ifname` (TUNSETIFF). Throws
    // cxvm::Error saying what is missing: the tun driver, the interface, the permission
    // (CAP_NET_ADMIN or a device owned by this user), or a device in use.
    TapBackend(const NicOptions& options, std::string name);
    ~TapBackend() override;

    [[nodiscard]] int fd() const { return fd_.get(); }

private:
    void run() override;
    void receive();
    // Writes queued frames until the ring is empty or the device's queue is full.
    bool transmit();

    UniqueFd fd_;
    std::string ifname_;
    std::array<std::uint8_t, 65536> overflow_{};  // the part of an oversized frame beyond a slot
};

}  // namespace cxvm::net
