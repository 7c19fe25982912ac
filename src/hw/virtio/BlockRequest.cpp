#include "hw/virtio/BlockRequest.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace cxvm::hw::virtio::blk {

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(ParseError::Count_)> kParseErrorText{
    "no error",
    "fewer than 16 device-readable bytes: no room for the request header",
    "no device-writable byte: no room for the status",
};

// Host views of `bytes` bytes of `segments`, starting `skip` bytes in.
std::size_t gather(std::span<const ChainSegment> segments, std::uint64_t skip, std::uint64_t bytes,
                   std::span<iovec> out) {
    std::size_t n = 0;
    for (const ChainSegment& s : segments) {
        if (bytes == 0) break;
        if (skip >= s.len) {
            skip -= s.len;
            continue;
        }
        if (n == out.size()) break;  // storage smaller than the chain: caller's bug, caught below
        const std::uint64_t take = std::min<std::uint64_t>(s.len - skip, bytes);
        out[n++] = iovec{s.host + skip, static_cast<std::size_t>(take)};
        bytes -= take;
        skip = 0;
    }
    return n;
}

// Types the device answers without data, and how (5.2.6.2: unknown -> UNSUPP).
struct TypeRule {
    RequestType type;
    Request::Op op;
};
constexpr TypeRule kTypes[] = {
    {RequestType::In, Request::Op::Read},
    {RequestType::Out, Request::Op::Write},
    {RequestType::Flush, Request::Op::Flush},
    {RequestType::GetId, Request::Op::GetId},
};

}  // namespace

std::string_view describe(ParseError e) { return kParseErrorText.at(static_cast<std::size_t>(e)); }

ParseError parseRequest(const DescriptorChain& chain, const Limits& limits, std::span<iovec> iovStorage,
                        Request& out) {
    out = Request{};
    if (chain.readableBytes() < kHeaderSize) return ParseError::HeaderTooShort;
    if (chain.writableBytes() < 1) return ParseError::NoStatusByte;

    // The header, wherever the driver split it.
    std::array<std::uint8_t, kHeaderSize> header{};
    {
        std::array<iovec, kHeaderSize> parts{};
        const std::size_t n = gather(chain.readable(), 0, kHeaderSize, parts);
        std::size_t at = 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::memcpy(header.data() + at, parts[i].iov_base, parts[i].iov_len);
            at += parts[i].iov_len;
        }
    }
    std::memcpy(&out.type, header.data(), 4);
    std::memcpy(&out.sector, header.data() + 8, 8);
    const ChainSegment& last = chain.writable().back();
    out.statusByte = last.host + last.len - 1;

    auto refuse = [&out](std::uint8_t status, std::string_view why) {
        out.op = Request::Op::Complete;
        out.status = status;
        out.why = why;
        out.length = 0;
        out.iov = {};
        return ParseError::None;
    };
    const TypeRule* rule = nullptr;
    for (const TypeRule& r : kTypes)
        if (static_cast<std::uint32_t>(r.type) == out.type) rule = &r;
    if (!rule) return refuse(kStatusUnsupp, "request type not supported");
    out.op = rule->op;

    const std::uint64_t dataIn = chain.writableBytes() - 1;            // device -> driver
    const std::uint64_t dataOut = chain.readableBytes() - kHeaderSize;  // driver -> device
    switch (out.op) {
    case Request::Op::Read:
        if (dataOut) return refuse(kStatusIoErr, "read request with device-readable data after the header");
        out.length = dataIn;
        break;
    case Request::Op::Write:
        if (limits.readOnly) return refuse(kStatusIoErr, "write to a read-only disk");
        if (dataIn) return refuse(kStatusIoErr, "write request with device-writable data before the status");
        out.length = dataOut;
        break;
    case Request::Op::GetId:
        out.length = std::min<std::uint64_t>(dataIn, kIdBytes);
        break;
    case Request::Op::Flush:
    case Request::Op::Complete:
        return ParseError::None;
    }
    if (out.op == Request::Op::Read || out.op == Request::Op::Write) {
        if (out.length % kSectorSize) return refuse(kStatusIoErr, "data length is not a multiple of 512");
        // 5.2.6.2: sectors beyond the capacity fail; no access reaches the image.
        if (out.sector > limits.capacitySectors || out.length / kSectorSize > limits.capacitySectors - out.sector)
            return refuse(kStatusIoErr, "sectors beyond the disk's capacity");
    }
    const std::size_t n = out.op == Request::Op::Write
                              ? gather(chain.readable(), kHeaderSize, out.length, iovStorage)
                              : gather(chain.writable(), 0, out.length, iovStorage);
    out.iov = iovStorage.first(n);
    std::uint64_t gathered = 0;
    for (const iovec& v : out.iov) gathered += v.iov_len;
    if (gathered != out.length) return refuse(kStatusIoErr, "more data segments than the device can take");
    return ParseError::None;
}

}  // namespace cxvm::hw::virtio::blk
