// libFuzzer target for virtio-net's request path (src/hw/virtio/VirtioNet): the input is
// a guest — RAM contents (rings, descriptors, buffers), the queue layouts, the negotiated
// features — and a script of driver and backend events: notify RX, notify TX, a frame
// from the backend, a VM loop round (poll), a device reset. Contract: no crash and no
// access outside guest RAM (ASan: RAM is the only mapping the device may touch); every
// frame handed to the backend is 14..1518 bytes; once the device asked for a reset it
// writes no more used entries until it is reset.
#include "hw/GuestMemory.h"
#include "hw/virtio/NetHeader.h"
#include "hw/virtio/VirtioNet.h"
#include "net/NetBackend.h"
#include "util/Log.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace {

using namespace cxvm::hw::virtio;

constexpr std::uint64_t kRam = 64 << 10;

struct FuzzBackend final : cxvm::net::NetBackend {
    FuzzBackend() : NetBackend("net0 (fuzz)") {}
    void run() override {}
};

struct FuzzTransport final : VirtioTransport {
    std::uint64_t features = 0;
    bool needsReset = false;
    unsigned interrupts = 0;
    void interruptQueue() override { ++interrupts; }
    void deviceNeedsReset() override { needsReset = true; }
    [[nodiscard]] std::uint64_t negotiatedFeatures() const override { return features; }
    [[nodiscard]] std::uint8_t deviceStatus() const override {
        return status::kAcknowledge | status::kDriver | status::kFeaturesOk | status::kDriverOk |
               (needsReset ? status::kDeviceNeedsReset : 0);
    }
};

struct Reader {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t u8() {
        if (!n) return 0;
        --n;
        return *p++;
    }
    std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | u8() << 8); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(u16() | static_cast<std::uint32_t>(u16()) << 16); }
};

std::uint16_t usedIdx(const cxvm::hw::GuestMemory& mem, std::uint64_t used) {
    std::uint16_t v = 0;
    std::memcpy(&v, mem.ramBase() + used + 2, 2);
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static cxvm::hw::GuestMemory mem(kRam);
    // A hostile guest makes the device log (rate-limited per device, and every input is
    // a new device): errors only, so that the fuzzer measures the device, not stderr.
    static const bool quiet = (cxvm::log::setLevel(cxvm::log::Level::Error), true);
    (void)quiet;
    if (size < 24) return 0;
    Reader in{data, size};
    // One device for all inputs (its rings are large): reset to power-on state each time,
    // as the transport does when the driver writes 0 to device_status.
    static FuzzTransport transport;
    static FuzzBackend* backend = nullptr;
    static VirtioNet net = [] {
        auto b = std::make_unique<FuzzBackend>();
        backend = b.get();
        return VirtioNet(std::move(b), cxvm::net::defaultMac(0), mem, "virtio-net fuzz");
    }();
    FuzzBackend& b = *backend;
    net.bind(transport);
    net.reset();
    for (SplitVirtqueue& vq : net.queues()) vq.reset();
    while (!b.tx().empty()) b.tx().pop();
    transport.needsReset = false;
    const std::uint8_t f = in.u8();
    transport.features = bit(feature::kVersion1) | (f & 1 ? bit(vnet::kFMrgRxbuf) : 0) |
                         (f & 2 ? bit(feature::kIndirectDesc) : 0) | (f & 4 ? bit(feature::kEventIdx) : 0);
    // Queue layouts: size (power of two up to 256 or not), ring addresses anywhere.
    std::uint64_t used[2] = {};
    bool enabled[2] = {};
    for (unsigned q = 0; q < 2; ++q) {
        SplitVirtqueue& vq = net.queues()[q];
        vq.size = static_cast<std::uint16_t>(1u << (in.u8() % 10));
        vq.descAddr = in.u16() & ~0xFull;
        vq.driverAddr = in.u16() & ~0x1ull;
        vq.deviceAddr = in.u16() & ~0x3ull;
        used[q] = vq.deviceAddr;
        enabled[q] = vq.enable(mem, f & 2, f & 4) == RingError::None;
    }
    // The rest of the header: RAM contents, repeated; then the script.
    const std::size_t script = std::min<std::size_t>(in.n, 64);
    const std::uint8_t* ops = in.p;
    in.p += script;
    in.n -= script;
    if (in.n)
        for (std::uint64_t i = 0; i < kRam; ++i) mem.ramBase()[i] = in.p[i % in.n];
    else
        std::memset(mem.ramBase(), 0, kRam);

    std::uint8_t frame[cxvm::net::kMaxFrameBytes + 8];
    std::uint16_t usedAtReset[2] = {};
    for (std::size_t k = 0; k < script; ++k) {
        const std::uint8_t op = ops[k];
        const bool wasBroken = transport.needsReset;
        switch (op % 5) {
        case 0:
        case 1:
            // The transport notifies only while the device is live.
            if (!transport.needsReset) net.notify(op % 2);
            break;
        case 2: {
            const std::size_t len = (op * 37u + k * 101u) % sizeof frame;
            for (std::size_t i = 0; i < len; ++i) frame[i] = static_cast<std::uint8_t>(op + i);
            b.deliver({frame, len});
            break;
        }
        case 3:
            net.poll();
            break;
        case 4:
            net.reset();
            for (SplitVirtqueue& vq : net.queues()) vq.reset();
            transport.needsReset = false;
            enabled[0] = enabled[1] = false;
            break;
        }
        if (wasBroken || transport.needsReset) {
            // A device that asked for a reset returns nothing more until it gets one.
            for (unsigned q = 0; q < 2; ++q) {
                if (!enabled[q]) continue;
                if (!wasBroken) usedAtReset[q] = usedIdx(mem, used[q]);
                else if (usedIdx(mem, used[q]) != usedAtReset[q] && transport.needsReset) __builtin_trap();
            }
        }
        // Transmitted frames: always a valid Ethernet frame size.
        while (!b.tx().empty()) {
            const auto t = b.tx().front();
            if (t.size() < cxvm::net::kMinFrameBytes || t.size() > cxvm::net::kMaxFrameBytes) __builtin_trap();
            b.tx().pop();
        }
    }
    return 0;
}
