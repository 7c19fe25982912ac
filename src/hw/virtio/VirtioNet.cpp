#include "hw/virtio/VirtioNet.h"

#include <algorithm>
#include <cstring>

namespace cxvm::hw::virtio {

namespace {

// 5.1.4 struct virtio_net_config offsets.
constexpr unsigned kCfgMac = 0, kCfgStatus = 6, kCfgMaxPairs = 8, kCfgMtu = 10;

template <typename T>
void put(std::span<std::uint8_t> b, unsigned offset, T v) {
    std::memcpy(b.data() + offset, &v, sizeof v);
}

// Copies `out.size()` bytes starting `offset` bytes into the segments' concatenation.
// The caller checked that they hold that many.
void gather(std::span<const ChainSegment> segs, std::uint64_t offset, std::span<std::uint8_t> out) {
    std::size_t done = 0;
    for (const ChainSegment& s : segs) {
        if (done == out.size()) break;
        if (offset >= s.len) {
            offset -= s.len;
            continue;
        }
        const std::size_t n = std::min<std::size_t>(s.len - offset, out.size() - done);
        std::memcpy(out.data() + done, s.host + offset, n);
        done += n;
        offset = 0;
    }
}

}  // namespace

VirtioNet::VirtioNet(std::unique_ptr<cxvm::net::NetBackend> backend, const cxvm::net::MacAddress& mac,
                     const GuestMemory& memory, std::string name)
    : name_(std::move(name)),
      memory_(memory),
      backend_(std::move(backend)),
      chainStorage_(kQueueSize),
      heldSegments_(vnet::kHeaderSize + cxvm::net::kMaxFrameBytes),
      held_(kQueueSize) {
    features_ = bit(feature::kVersion1) | bit(feature::kIndirectDesc) | bit(feature::kEventIdx) |
                bit(vnet::kFMac) | bit(vnet::kFStatus) | bit(vnet::kFMrgRxbuf) | bit(vnet::kFMtu);
    std::copy(mac.bytes.begin(), mac.bytes.end(), config_.begin() + kCfgMac);
    put<std::uint16_t>(config_, kCfgStatus, vnet::kStatusLinkUp);
    put<std::uint16_t>(config_, kCfgMaxPairs, 1);
    put<std::uint16_t>(config_, kCfgMtu, kMtu);
    queues_.emplace_back(kQueueSize);  // receiveq1
    queues_.emplace_back(kQueueSize);  // transmitq1
    held_.clear();
}

VirtioNet::~VirtioNet() = default;

bool VirtioNet::live() const {
    if (!transport_ || needsReset_) return false;
    // 3.1.1: buffers are the device's only after DRIVER_OK; 2.1.2: none after it asked
    // for a reset (the transport's own NEEDS_RESET, e.g. a bad ring layout, included).
    const std::uint8_t st = transport_->deviceStatus();
    return (st & status::kDriverOk) && !(st & (status::kDeviceNeedsReset | status::kFailed));
}

void VirtioNet::broken(unsigned queue, const ChainFault& fault) {
    warnings_.warn("{}: bad descriptor chain on the {} queue (head {}, {}descriptor {}, addr {:#x}, len {:#x}): {}",
                   name_, queue == kRxQueue ? "receive" : "transmit", fault.head, fault.inIndirect ? "indirect " : "",
                   fault.index, fault.addr, fault.len, describe(fault.error));
    needsReset_ = true;
    transport_->deviceNeedsReset();
}

void VirtioNet::notify(unsigned index) {
    if (!transport_) return;
    if (index == kTxQueue) transmit();
    receive();  // new receive buffers (index 0), or frames that were waiting anyway
    signal();
}

void VirtioNet::poll() {
    if (!live()) return;
    if (txBlocked_) transmit();
    receive();
    signal();
}

void VirtioNet::signal() {
    for (SplitVirtqueue& q : queues_)
        if (q.takeInterruptNeed()) transport_->interruptQueue();
}

// ---- transmit (5.1.6.2): header + frame in device-readable buffers ----

void VirtioNet::transmit() {
    if (!live()) return;
    SplitVirtqueue& q = queues_[kTxQueue];
    cxvm::net::FrameRing& ring = backend_->tx();
    DescriptorChain chain(chainStorage_);
    ChainFault fault;
    bool queued = false;
    txBlocked_ = false;
    for (;;) {
        const std::span<std::uint8_t> slot = ring.reserve();
        if (slot.empty()) {
            // The backend is behind: leave the guest's buffers where they are (the
            // driver sees a full queue and waits) and go on once it made room.
            txBlocked_ = q.hasAvailable();
            break;
        }
        const PopStatus st = q.pop(chain, fault);
        if (st == PopStatus::Empty) break;
        if (st == PopStatus::Broken) {
            broken(kTxQueue, fault);
            break;
        }
        const std::uint64_t total = chain.readableBytes();
        // `why()` is formatted only when the rate limit lets the line through.
        auto drop = [&](std::uint64_t& counter, auto&& why) {
            ++counter;
            warnings_.warnWith([&] {
                return fmt::format("{}: transmitted frame dropped (head {}, {} bytes with the header): {}", name_,
                                   chain.head(), total, why());
            });
            q.pushUsed(chain.head(), 0);
        };
        if (total < vnet::kHeaderSize + cxvm::net::kMinFrameBytes) {
            drop(counters_.txDroppedMalformed, [] {
                return fmt::format("shorter than the {}-byte virtio_net_hdr and an Ethernet header",
                                   vnet::kHeaderSize);
            });
            continue;
        }
        const std::uint64_t frameLen = total - vnet::kHeaderSize;
        if (frameLen > cxvm::net::kMaxFrameBytes) {
            drop(counters_.txDroppedOversize, [&] {
                return fmt::format("frame of {} bytes is larger than {} (MTU {}, no segmentation offload negotiated)",
                                   frameLen, cxvm::net::kMaxFrameBytes, kMtu);
            });
            continue;
        }
        std::array<std::uint8_t, vnet::kHeaderSize> raw{};
        gather(chain.readable(), 0, raw);
        const vnet::Header h = vnet::Header::decode(raw);
        // 5.1.6.2.1: without VIRTIO_NET_F_CSUM / GUEST_TSO the driver must not ask for them.
        if (h.gsoType != vnet::kGsoNone || (h.flags & vnet::kHdrFNeedsCsum)) {
            drop(counters_.txDroppedMalformed, [&] {
                return fmt::format("header asks for {} (flags {:#x}, gso_type {}), not negotiated",
                                   h.gsoType != vnet::kGsoNone ? "segmentation" : "checksum offload", h.flags,
                                   h.gsoType);
            });
            continue;
        }
        gather(chain.readable(), vnet::kHeaderSize, slot.first(frameLen));
        ring.commit(frameLen);
        queued = true;
        ++counters_.txFrames;
        counters_.txBytes += frameLen;
        // 5.1.6.2: the device writes nothing into transmit buffers; used length 0.
        q.pushUsed(chain.head(), 0);
    }
    if (queued) backend_->kickTx();
}

// ---- receive (5.1.6.3/4): header + frame into device-writable buffers ----

void VirtioNet::receive() {
    if (!live()) return;
    cxvm::net::FrameRing& ring = backend_->rx();
    while (!ring.empty()) {
        if (place(ring.front()) == Place::Waiting) break;
        ring.pop();
    }
}

VirtioNet::Place VirtioNet::place(std::span<const std::uint8_t> frame) {
    SplitVirtqueue& q = queues_[kRxQueue];
    const bool mergeable = transport_->negotiatedFeatures() & bit(vnet::kFMrgRxbuf);
    const std::uint64_t need = vnet::kHeaderSize + frame.size();
    DescriptorChain chain(chainStorage_);
    ChainFault fault;
    // Hold buffers until they can take the whole frame: without MRG_RXBUF one buffer
    // (5.1.6.3.1 asks for buffers big enough), with it as many as it takes (5.1.6.4).
    while (heldBytes_ < need && (mergeable || held_.empty())) {
        if (held_.size() == kQueueSize) break;  // cannot happen with checked heads; belt and braces
        const PopStatus st = q.pop(chain, fault);
        if (st == PopStatus::Empty) return Place::Waiting;
        if (st == PopStatus::Broken) {
            broken(kRxQueue, fault);
            return Place::Waiting;
        }
        if (!chain.readable().empty()) {
            // 5.1.6.3: receive buffers are device-writable; nothing to answer with.
            warnings_.warn("{}: receive buffer (head {}) has {} device-readable bytes", name_, chain.head(),
                           chain.readableBytes());
            needsReset_ = true;
            transport_->deviceNeedsReset();
            return Place::Waiting;
        }
        HeldBuffer b{chain.head(), static_cast<std::uint32_t>(held_.size() ? held_.back().firstSegment +
                                                                                   held_.back().segments
                                                                             : 0),
                     0, 0};
        for (const ChainSegment& s : chain.writable()) {
            if (heldBytes_ + b.bytes >= need) break;  // keep only the segments the frame uses
            heldSegments_[b.firstSegment + b.segments++] = s;
            b.bytes += s.len;
        }
        heldBytes_ += b.bytes;
        held_.push_back(b);
    }
    if (heldBytes_ < need) {
        // Without MRG_RXBUF the one buffer is too small; with it, the whole queue is.
        ++counters_.rxDroppedSmallBuffer;
        warnings_.warn("{}: received frame of {} bytes dropped: the guest's receive buffer{} hold only {} bytes "
                       "with the {}-byte header",
                       name_, frame.size(), mergeable ? "s" : "", heldBytes_, vnet::kHeaderSize);
        returnHeld({}, {});
        return Place::Dropped;
    }
    vnet::Header h;
    h.numBuffers = static_cast<std::uint16_t>(held_.size());  // 5.1.6.4: always set with VERSION_1
    std::array<std::uint8_t, vnet::kHeaderSize> header{};
    h.encode(header);
    returnHeld(header, frame);
    ++counters_.rxFrames;
    counters_.rxBytes += frame.size();
    return Place::Done;
}

// Writes header + frame across the held buffers in order, returns each with the bytes
// written into it, and forgets them. Empty spans: return them unused (length 0).
void VirtioNet::returnHeld(std::span<const std::uint8_t> header, std::span<const std::uint8_t> frame) {
    SplitVirtqueue& q = queues_[kRxQueue];
    std::size_t at = 0;  // position in header + frame
    const std::size_t total = header.size() + frame.size();
    for (const HeldBuffer& b : held_) {
        std::uint32_t written = 0;
        for (std::uint32_t i = 0; i < b.segments && at < total; ++i) {
            const ChainSegment& s = heldSegments_[b.firstSegment + i];
            std::size_t n = 0;
            while (n < s.len && at < total) {
                const bool inHeader = at < header.size();
                const std::span<const std::uint8_t> src =
                    inHeader ? header.subspan(at) : frame.subspan(at - header.size());
                const std::size_t step = std::min<std::size_t>(s.len - n, src.size());
                std::memcpy(s.host + n, src.data(), step);
                n += step;
                at += step;
            }
            // The interp engine may hold decoded code of these pages: tell it.
            memory_.noteWrite(s.gpa, n);
            written += static_cast<std::uint32_t>(n);
        }
        q.pushUsed(b.head, written);
    }
    held_.clear();
    heldBytes_ = 0;
}

void VirtioNet::reset() {
    // The queues are reset by the transport; the buffers held are the old driver's.
    held_.clear();
    heldBytes_ = 0;
    txBlocked_ = false;
    needsReset_ = false;
    backend_->rx().clear();  // frames meant for the old driver
}

}  // namespace cxvm::hw::virtio
