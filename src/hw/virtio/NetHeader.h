#pragma once
// struct virtio_net_hdr (virtio 1.2, 5.1.6): the 12 bytes in front of every frame in
// both directions. With VIRTIO_F_VERSION_1 the header always has num_buffers (5.1.6.1),
// whether or not VIRTIO_NET_F_MRG_RXBUF is negotiated.
#include <cstdint>
#include <cstring>
#include <span>

namespace cxvm::hw::virtio::vnet {

inline constexpr std::size_t kHeaderSize = 12;

// 5.1.6 flags and gso_type values.
inline constexpr std::uint8_t kHdrFNeedsCsum = 1, kHdrFDataValid = 2, kHdrFRscInfo = 4;
inline constexpr std::uint8_t kGsoNone = 0;

// 5.1.3 feature bits the device offers.
inline constexpr unsigned kFMtu = 3;        // VIRTIO_NET_F_MTU
inline constexpr unsigned kFMac = 5;        // VIRTIO_NET_F_MAC
inline constexpr unsigned kFMrgRxbuf = 15;  // VIRTIO_NET_F_MRG_RXBUF
inline constexpr unsigned kFStatus = 16;    // VIRTIO_NET_F_STATUS
// 5.1.4 status field.
inline constexpr std::uint16_t kStatusLinkUp = 1;

struct Header {
    std::uint8_t flags = 0;
    std::uint8_t gsoType = kGsoNone;
    std::uint16_t hdrLen = 0, gsoSize = 0, csumStart = 0, csumOffset = 0;
    std::uint16_t numBuffers = 0;

    static Header decode(std::span<const std::uint8_t, kHeaderSize> b) {
        Header h;
        h.flags = b[0];
        h.gsoType = b[1];
        auto le16 = [&](unsigned at) { return static_cast<std::uint16_t>(b[at] | b[at + 1] << 8); };
        h.hdrLen = le16(2);
        h.gsoSize = le16(4);
        h.csumStart = le16(6);
        h.csumOffset = le16(8);
        h.numBuffers = le16(10);
        return h;
    }
    void encode(std::span<std::uint8_t, kHeaderSize> b) const {
        b[0] = flags;
        b[1] = gsoType;
        auto put = [&](unsigned at, std::uint16_t v) {
            b[at] = static_cast<std::uint8_t>(v);
            b[at + 1] = static_cast<std::uint8_t>(v >> 8);
        };
        put(2, hdrLen);
        put(4, gsoSize);
        put(6, csumStart);
        put(8, csumOffset);
        put(10, numBuffers);
    }
};

}  // namespace cxvm::hw::virtio::vnet
