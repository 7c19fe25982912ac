#pragma once
// A virtio-blk request (virtio 1.2, 5.2.6) parsed from a descriptor chain: the 16-byte
// header (le32 type, le32 reserved, le64 sector) at the front of the device-readable
// bytes, the data, and the status byte as the last device-writable byte. The layout of
// the descriptors is free (2.7.4.4, "message framing"): the header and the data may
// share or split descriptors any way the driver likes.
//
// The parser decides everything that does not need the disk: a request the device must
// refuse (5.2.6.2) — a write to a read-only disk, sectors beyond the capacity, a length
// that is not whole sectors, data in the wrong direction — comes back as Op::Complete
// with VIRTIO_BLK_S_IOERR (unknown types: VIRTIO_BLK_S_UNSUPP) and nothing reaches the
// image. A chain with no room for the header or the status byte cannot be answered at
// all: that is a BlockParseError, and the device then needs a reset.
#include "hw/virtio/DescriptorChain.h"

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string_view>

namespace cxvm::hw::virtio::blk {

// 5.2.6 request types and status values.
enum class RequestType : std::uint32_t {
    In = 0, Out = 1, Flush = 4, GetId = 8, GetLifetime = 10, Discard = 11, WriteZeroes = 13, SecureErase = 14
};
inline constexpr std::uint8_t kStatusOk = 0, kStatusIoErr = 1, kStatusUnsupp = 2;
inline constexpr std::uint64_t kSectorSize = 512;  // 5.2.6: sectors are always 512 bytes
inline constexpr unsigned kHeaderSize = 16;
inline constexpr unsigned kIdBytes = 20;  // VIRTIO_BLK_ID_BYTES

struct Limits {
    std::uint64_t capacitySectors = 0;
    bool readOnly = false;
};

struct Request {
    enum class Op : std::uint8_t { Read, Write, Flush, GetId, Complete };
    Op op = Op::Complete;
    std::uint8_t status = kStatusOk;   // Op::Complete: the answer
    std::string_view why;              // Op::Complete with an error: the reason, for the log
    std::uint32_t type = 0;            // raw header fields, for logs
    std::uint64_t sector = 0;
    std::uint64_t length = 0;          // data bytes (Read/Write: whole sectors; GetId: <= 20)
    std::span<iovec> iov;              // the data buffers, host views of guest memory
    std::uint8_t* statusByte = nullptr;

    // Bytes the device wrote into the chain's device-writable buffers (the used length).
    [[nodiscard]] std::uint32_t usedLength(bool succeeded) const {
        const bool wroteData = succeeded && (op == Op::Read || op == Op::GetId);
        return static_cast<std::uint32_t>((wroteData ? length : 0) + 1);
    }
};

enum class ParseError : std::uint8_t { None, HeaderTooShort, NoStatusByte, Count_ };
[[nodiscard]] std::string_view describe(ParseError e);

// Parses `chain` into `out`; `iovStorage` holds at least as many entries as the chain
// has segments and must stay alive while `out` is used.
ParseError parseRequest(const DescriptorChain& chain, const Limits& limits, std::span<iovec> iovStorage,
                        Request& out);

}  // namespace cxvm::hw::virtio::blk
