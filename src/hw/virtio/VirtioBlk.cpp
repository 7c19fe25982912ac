#include "hw/virtio/VirtioBlk.h"

#include "util/Log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cxvm::hw::virtio {

namespace {

// 5.2.3 feature bits.
constexpr unsigned kBlkSegMax = 2, kBlkRo = 5, kBlkBlkSize = 6, kBlkFlush = 9;
// 5.2.4 struct virtio_blk_config offsets.
constexpr unsigned kCfgCapacity = 0, kCfgSegMax = 12, kCfgBlkSize = 20;

template <typename T>
void put(std::span<std::uint8_t> b, unsigned offset, T v) {
    std::memcpy(b.data() + offset, &v, sizeof v);
}

// One preadv/pwritev per request, repeated only for short transfers and EINTR.
// Works on a copy: the slot's iovecs stay as parsed (the VM thread reads them later).
template <typename Syscall>
int transfer(Syscall call, int fd, std::span<const iovec> iov, std::uint64_t offset) {
    std::array<iovec, VirtioBlk::kQueueSize> local{};
    std::copy(iov.begin(), iov.end(), local.begin());
    std::size_t first = 0;
    while (first < iov.size()) {
        const int count = static_cast<int>(iov.size() - first);
        const ssize_t n = call(fd, local.data() + first, count, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;  // the image shrank under us
        offset += static_cast<std::uint64_t>(n);
        for (auto left = static_cast<std::size_t>(n); left > 0;) {
            iovec& v = local[first];
            const std::size_t step = std::min(left, v.iov_len);
            v.iov_base = static_cast<std::uint8_t*>(v.iov_base) + step;
            v.iov_len -= step;
            left -= step;
            if (v.iov_len == 0) ++first;
        }
        while (first < iov.size() && local[first].iov_len == 0) ++first;
    }
    return 0;
}

}  // namespace

VirtioBlk::VirtioBlk(const DiskOptions& options, const GuestMemory& memory, std::string name,
                     IoWorker::Wake wake, bool threaded)
    : name_(std::move(name)),
      memory_(memory),
      image_(DiskImage::open(options.path, options.readOnly)),
      chainStorage_(kQueueSize),
      slots_(kQueueSize),
      completions_(kQueueSize),
      worker_(kQueueSize, [this](std::uint16_t head) { execute(head); }, std::move(wake), threaded) {
    features_ = bit(feature::kVersion1) | bit(feature::kIndirectDesc) | bit(feature::kEventIdx) |
                bit(kBlkSegMax) | bit(kBlkBlkSize) | bit(kBlkFlush) | (options.readOnly ? bit(kBlkRo) : 0);
    put<std::uint64_t>(config_, kCfgCapacity, image_.sectors());
    put<std::uint32_t>(config_, kCfgSegMax, kSegMax);
    put<std::uint32_t>(config_, kCfgBlkSize, 512);
    // GET_ID: the image's file name (Linux shows it as /sys/block/vdX/serial).
    const std::string base = options.path.filename().string();
    std::copy_n(base.begin(), std::min(base.size(), id_.size()), id_.begin());
    queues_.emplace_back(kQueueSize);
}

VirtioBlk::~VirtioBlk() = default;

void VirtioBlk::notify(unsigned index) {
    if (!transport_ || index != 0) return;
    SplitVirtqueue& q = queues_[0];
    const blk::Limits limits{image_.sectors(), image_.readOnly()};
    DescriptorChain chain(chainStorage_);
    ChainFault fault;
    for (;;) {
        const PopStatus st = q.pop(chain, fault);
        if (st == PopStatus::Empty) break;
        if (st == PopStatus::Broken) {
            warnings_.warn("{}: bad descriptor chain (head {}, {}descriptor {}, addr {:#x}, len {:#x}): {}", name_,
                           fault.head, fault.inIndirect ? "indirect " : "", fault.index, fault.addr, fault.len,
                           describe(fault.error));
            transport_->deviceNeedsReset();
            break;
        }
        const std::uint16_t head = chain.head();
        Slot& slot = slots_[head];
        const blk::ParseError e = blk::parseRequest(chain, limits, slot.iov, slot.request);
        if (e != blk::ParseError::None) {
            warnings_.warn("{}: request (head {}, {} readable / {} writable bytes): {}", name_, head,
                           chain.readableBytes(), chain.writableBytes(), blk::describe(e));
            transport_->deviceNeedsReset();
            break;
        }
        const blk::Request& r = slot.request;
        if (r.op == blk::Request::Op::Complete) {
            // Answered without the image (5.2.6.2): an error status, never a host access.
            if (r.status != blk::kStatusOk)
                warnings_.warn("{}: request type {} sector {} (head {}): {}: status {}", name_, r.type, r.sector, head,
                               r.why, r.status == blk::kStatusUnsupp ? "UNSUPP" : "IOERR");
            *r.statusByte = r.status;
            noteDeviceWrites(slot);
            q.pushUsed(head, r.usedLength(false));
            ++completed_;
            continue;
        }
        ++inFlight_;
        worker_.submit(head);
    }
    poll();
}

void VirtioBlk::execute(std::uint16_t head) {
    Slot& slot = slots_[head];
    const blk::Request& r = slot.request;
    const std::uint64_t offset = r.sector * blk::kSectorSize;
    int err = 0;
    switch (r.op) {
    case blk::Request::Op::Read:
        err = transfer(::preadv, image_.fd(), r.iov, offset);
        break;
    case blk::Request::Op::Write:
        err = transfer(::pwritev, image_.fd(), r.iov, offset);
        break;
    case blk::Request::Op::Flush:
        err = ::fdatasync(image_.fd()) == 0 ? 0 : errno;
        break;
    case blk::Request::Op::GetId: {
        std::size_t at = 0;
        for (const iovec& v : r.iov) {
            std::memcpy(v.iov_base, id_.data() + at, v.iov_len);
            at += v.iov_len;
        }
        break;
    }
    case blk::Request::Op::Complete:
        break;
    }
    if (err)
        ioWarnings_.warn("{}: {} at sector {} ({} bytes) failed: {}: status IOERR", name_,
                         r.op == blk::Request::Op::Flush ? "flush" : r.op == blk::Request::Op::Read ? "read" : "write",
                         r.sector, r.length, std::strerror(err));
    slot.ok = err == 0;
    *r.statusByte = slot.ok ? blk::kStatusOk : blk::kStatusIoErr;
}

void VirtioBlk::noteDeviceWrites(const Slot& slot) const {
    // The interp engine may hold decoded code of these pages (a page-cache page reused):
    // tell it the device changed them. RAM is linear from ramBase().
    auto note = [this](const void* p, std::size_t len) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        if (b >= memory_.ramBase() && b < memory_.ramBase() + memory_.ramSize())
            memory_.noteWrite(static_cast<std::uint64_t>(b - memory_.ramBase()), len);
    };
    const blk::Request& r = slot.request;
    if (r.op == blk::Request::Op::Read || r.op == blk::Request::Op::GetId)
        for (const iovec& v : r.iov) note(v.iov_base, v.iov_len);
    note(r.statusByte, 1);
}

void VirtioBlk::poll() {
    if (!transport_) return;
    SplitVirtqueue& q = queues_[0];
    for (std::size_t n; (n = worker_.takeCompleted(completions_)) > 0;) {
        for (std::size_t i = 0; i < n; ++i) {
            const Slot& slot = slots_[completions_[i]];
            noteDeviceWrites(slot);
            q.pushUsed(completions_[i], slot.request.usedLength(slot.ok));
            --inFlight_;
            ++completed_;
        }
    }
    if (q.takeInterruptNeed()) transport_->interruptQueue();
}

void VirtioBlk::reset() {
    // The worker may still be writing buffers the driver reuses after the reset.
    worker_.drain();
    while (worker_.takeCompleted(completions_) > 0) {
    }
    inFlight_ = 0;
}

}  // namespace cxvm::hw::virtio
