// libFuzzer target for the virtio-blk request parser (src/hw/virtio/BlockRequest): the
// input describes a descriptor chain (segments of a buffer, readable ones first, the
// guest's header and data bytes) and the disk's capacity and read-only flag. Contract:
// no crash; every iovec lies inside the chain's segments in the right direction; a
// request that reaches the image (Read/Write) is whole sectors inside the capacity; a
// read-only disk never gets a Write; the status byte is the last device-writable byte;
// a chain is refused (ParseError) only when it has no room for the header or status.
#include "hw/virtio/BlockRequest.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using namespace cxvm::hw::virtio;

constexpr std::size_t kBuffer = 8192;
constexpr std::size_t kMaxSegments = 16;

bool within(const iovec& v, std::span<const ChainSegment> segs) {
    const auto* p = static_cast<const std::uint8_t*>(v.iov_base);
    for (const ChainSegment& s : segs)
        if (p >= s.host && v.iov_len <= s.len && p + v.iov_len <= s.host + s.len) return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 12) return 0;
    static std::vector<std::uint8_t> buffer(kBuffer);
    // Header: capacity (le32 sectors), read-only flag, segment count; then 4 bytes per
    // segment (offset/8, length, writable bit); the rest fills the buffer.
    std::uint32_t capacity;
    std::memcpy(&capacity, data, 4);
    const bool readOnly = data[4] & 1;
    const std::size_t count = 1 + data[5] % kMaxSegments;
    std::size_t at = 6;
    std::vector<ChainSegment> segs(kMaxSegments);
    DescriptorChain chain(segs);
    chain.clear(0);
    std::vector<ChainSegment> readable, writable;
    for (std::size_t i = 0; i < count && at + 4 <= size; ++i, at += 4) {
        const std::size_t off = (data[at] | (data[at + 1] & 0x03) << 8) * 8 % kBuffer;
        const std::size_t len = std::min<std::size_t>(data[at + 2] | (data[at + 3] & 0x7F) << 8, kBuffer - off);
        const bool w = data[at + 3] & 0x80;
        (w ? writable : readable).push_back({buffer.data() + off, off, static_cast<std::uint32_t>(len)});
    }
    for (const ChainSegment& s : readable) chain.add(s, false);
    for (const ChainSegment& s : writable) chain.add(s, true);
    for (std::size_t i = 0; i < kBuffer; ++i) buffer[i] = at < size ? data[at + i % (size - at)] : 0;

    std::vector<iovec> iov(kMaxSegments);
    blk::Request r;
    const blk::ParseError e = blk::parseRequest(chain, {capacity, readOnly}, iov, r);
    if (e != blk::ParseError::None) {
        if (chain.readableBytes() >= blk::kHeaderSize && chain.writableBytes() >= 1) __builtin_trap();
        return 0;
    }
    const ChainSegment& last = chain.writable().back();
    if (r.statusByte != last.host + last.len - 1) __builtin_trap();
    std::uint64_t total = 0;
    for (const iovec& v : r.iov) {
        total += v.iov_len;
        const bool deviceWrites = r.op != blk::Request::Op::Write;
        if (!within(v, deviceWrites ? chain.writable() : chain.readable())) __builtin_trap();
    }
    if (total != r.length) __builtin_trap();
    switch (r.op) {
    case blk::Request::Op::Write:
        if (readOnly) __builtin_trap();
        [[fallthrough]];
    case blk::Request::Op::Read:
        if (r.length % blk::kSectorSize || r.sector > capacity || r.length / blk::kSectorSize > capacity - r.sector)
            __builtin_trap();
        break;
    case blk::Request::Op::GetId:
        if (r.length > blk::kIdBytes) __builtin_trap();
        break;
    case blk::Request::Op::Complete:
        if (!r.iov.empty() || (r.status != blk::kStatusIoErr && r.status != blk::kStatusUnsupp)) __builtin_trap();
        break;
    case blk::Request::Op::Flush:
        break;
    }
    return 0;
}
