// libFuzzer target for the split virtqueue parser (src/hw/virtio/SplitVirtqueue): the
// input is a queue configuration plus the whole of a small guest RAM (descriptor table,
// driver ring, buffers, indirect tables — all guest-controlled). Contract under test:
// no crash, no throw; every segment of a popped chain lies wholly in guest memory, a
// device-writable one never in ROM; no chain has more segments than the queue size;
// the device touches nothing but the device ring (the rest of RAM keeps its bytes).
#include "hw/GuestMemory.h"
#include "hw/virtio/SplitVirtqueue.h"
#include "hw/virtio/VirtioSpec.h"
#include "util/Log.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using namespace cxvm;
using namespace cxvm::hw::virtio;

constexpr std::uint64_t kRam = 16 * 4096;
constexpr std::uint64_t kRom = 0x20000;  // one ROM page right above RAM
constexpr std::uint16_t kMax = 64;

bool inside(const hw::GuestMemory& mem, const ChainSegment& s, bool writable) {
    const hw::MemoryRegion* r = mem.regionAt(s.gpa);
    if (!r || s.len > r->size - (s.gpa - r->gpa) || (writable && r->readOnly)) return false;
    return s.host == r->host + (s.gpa - r->gpa);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    log::setLevel(log::Level::Error);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 8) return 0;
    static hw::GuestMemory mem = [] {
        hw::GuestMemory m(kRam);
        std::vector<std::uint8_t> rom(4096, 0xAB);
        m.addRom(kRom, rom, "rom");
        return m;
    }();
    // Config: queue size (power of two up to kMax), features, ring placement.
    const auto qsize = static_cast<std::uint16_t>(1u << (data[0] % 7));  // 1..64
    const bool indirect = data[1] & 1, eventIdx = data[1] & 2;
    SplitVirtqueue q(kMax);
    q.size = qsize;
    q.descAddr = 0x1000;
    q.driverAddr = 0x2000 + 2ull * (data[2] & 0x7F);
    q.deviceAddr = 0x3000 + 4ull * (data[3] & 0x3F);
    const std::uint64_t usedBytes = 6 + 8ull * qsize;
    // RAM from the rest of the input (repeated), so every table and buffer is fuzzed.
    std::vector<std::uint8_t> image(kRam);
    if (size > 8)
        for (std::size_t i = 0; i < kRam; ++i) image[i] = data[8 + i % (size - 8)];
    mem.write(0, image);
    if (q.enable(mem, indirect, eventIdx) != RingError::None) __builtin_trap();

    std::vector<ChainSegment> storage(kMax);
    DescriptorChain chain(storage);
    ChainFault fault;
    for (unsigned round = 0; round < 4u * qsize + 4; ++round) {
        const PopStatus st = q.pop(chain, fault);
        if (st != PopStatus::Ready) {
            if (st == PopStatus::Broken && (fault.error == ChainError::None || describe(fault.error).empty()))
                __builtin_trap();
            break;
        }
        if (chain.readable().size() + chain.writable().size() > qsize) __builtin_trap();
        std::uint64_t r = 0, w = 0;
        for (const ChainSegment& s : chain.readable()) {
            if (!inside(mem, s, false)) __builtin_trap();
            r += s.len;
        }
        for (const ChainSegment& s : chain.writable()) {
            if (!inside(mem, s, true)) __builtin_trap();
            w += s.len;
        }
        if (r != chain.readableBytes() || w != chain.writableBytes()) __builtin_trap();
        if (data[4] & 1) q.pushUsed(chain.head(), static_cast<std::uint32_t>(w));
        (void)q.takeInterruptNeed();
    }
    // Only the device ring may have changed.
    const auto* ram = mem.ramBase();
    for (std::uint64_t i = 0; i < kRam; ++i) {
        const bool usedRing = i >= q.deviceAddr && i < q.deviceAddr + usedBytes;
        if (!usedRing && ram[i] != image[i]) __builtin_trap();
    }
    return 0;
}
