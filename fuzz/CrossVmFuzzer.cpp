// libFuzzer target for the cross-VM connectors' hypercalls (tokens 1..3,
// src/vmm/crossvm/): arbitrary sequences of (token, EBX, ECX, EDX, ESI), interleaved with
// consumed events signalled by the "native side", on a small guest memory with two
// dataports. Contract under test: no crash, no throw, and the VMM writes nothing but
// the event page — every other RAM byte and both dataports' memfds keep their contents;
// the IRQ line is raised exactly while an event is in flight; every result is 0 or one
// of crossvm_abi.h's codes.
#include "vmm/crossvm/CrossVmConnectors.h"

#include "util/Log.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace {

using namespace cxvm;
using namespace cxvm::vmm;
using namespace cxvm::vmm::crossvm;

constexpr std::uint64_t kRam = 16 * 4096;  // small: the whole of RAM is checked per input
constexpr std::uint64_t kPortSize[2] = {0x2000, 0x1000};

std::uint8_t pattern(std::uint64_t i) { return static_cast<std::uint8_t>(i * 13 + 5); }

struct Line final : hw::IrqSink {
    bool level = false;
    void setIrqLevel(unsigned, bool l) override { level = l; }
};

int newMemfd(std::uint64_t size, std::uint8_t fill) {
    int fd = ::memfd_create("fuzz-dataport", MFD_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) __builtin_trap();
    std::vector<std::uint8_t> b(size, fill);
    if (::pwrite(fd, b.data(), size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
    return fd;
}

bool memfdIs(int fd, std::uint64_t size, std::uint8_t fill) {
    std::vector<std::uint8_t> b(size);
    if (::pread(fd, b.data(), size, 0) != static_cast<ssize_t>(size)) return false;
    for (auto x : b)
        if (x != fill) return false;
    return true;
}

bool knownResult(std::uint32_t eax) {
    switch (static_cast<std::int32_t>(eax)) {
    case CXVM_CROSSVM_OK: case CXVM_CROSSVM_ENOENT: case CXVM_CROSSVM_EIO:
    case CXVM_CROSSVM_EFAULT: case CXVM_CROSSVM_EBUSY: case CXVM_CROSSVM_EEXIST:
    case CXVM_CROSSVM_EINVAL: case CXVM_CROSSVM_ENOMSG: case CXVM_CROSSVM_EMSGSIZE:
    case CXVM_CROSSVM_EOPNOTSUPP:
        return true;
    default:
        return false;
    }
}

// Values a guest is likely to pick, so that the fuzzer reaches the success paths.
std::uint32_t interesting(std::uint8_t sel, std::uint32_t raw) {
    static constexpr std::uint32_t kValues[] = {
        0, 1, 2, 3, 4, 8, 0x1000, 0x2000, 0x3000, 0x4000, 0x8000, 0xF000, 0xFFF8, 0x10000,
        0x10008, kRam - 8, kRam - 4, kRam, 0xFFFFF000, 0xFFFFFFFF, 0x80000000, 0xFFFFFFF8};
    if (sel & 0x80) return raw;
    return kValues[sel % std::size(kValues)];
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    log::setLevel(log::Level::Error);  // refusals are expected here
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const int memfds[2] = {newMemfd(kPortSize[0], 0xA1), newMemfd(kPortSize[1], 0xB2)};
    static const int emitFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    static const int consFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    hw::GuestMemory mem(kRam);
    auto ram = mem.span(0, kRam);
    for (std::uint64_t i = 0; i < kRam; ++i) ram[i] = pattern(i);
    Line line;
    CrossVmConfig cfg;
    cfg.dataports = {{1, "fuzz.a", kPortSize[0], memfds[0]}, {2, "fuzz.b", kPortSize[1], memfds[1]}};
    cfg.emits = {{1, "fuzz.out", emitFd}};
    cfg.consumes = {{1, "fuzz.in1", consFd}, {2, "fuzz.in2", consFd}};
    CrossVmConnectors c(mem, hw::IrqLine(line, 12), cfg);

    // 12 bytes per step: op, selectors, then raw 32-bit values.
    std::vector<GuestRange> pages;  // every event page ever INITed
    for (std::size_t at = 0; at + 12 <= size && at < 12 * 256; at += 12) {
        const std::uint8_t* p = data + at;
        std::uint32_t raw[2];
        std::memcpy(raw, p + 4, 8);
        const std::uint8_t op = p[0];
        if (op >= 0xF0) {  // the native side signals consumed event 0 or 1
            c.events().latch(op & 1);
            c.events().deliverPending();  // the VM loop's hook
        } else {
            engine::HypercallArgs a{};
            a.token = op % 5;  // 0 and 4: not connector tokens (the table would route them elsewhere)
            a.arg0 = (p[1] & 0x80) ? raw[0] : (p[1] & 3);
            a.arg1 = interesting(p[2], raw[0]);
            a.arg2 = interesting(p[3], raw[1]);
            a.arg3 = interesting(static_cast<std::uint8_t>(p[1] >> 2), raw[1] ^ raw[0]);
            const std::uint32_t eax = c.hypercall(a);
            if (!knownResult(eax)) __builtin_trap();
            if (a.token == 2 && a.arg0 == 1 && eax == 0) pages.push_back({a.arg1, 8});
        }
        if (line.level != (c.events().inFlight() != 0)) __builtin_trap();
    }
    // Nothing but event pages changed outside the shared dataports...
    std::vector<GuestRange> shared;
    for (std::uint32_t id : {1u, 2u})
        if (auto r = c.dataports().sharedAt(id)) shared.push_back(*r);
    for (std::uint64_t i = 0; i < kRam; ++i) {
        bool skip = false;
        for (const auto& r : pages) skip |= r.overlaps(i, 1);
        for (const auto& r : shared) skip |= r.overlaps(i, 1);
        if (!skip && ram[i] != pattern(i)) __builtin_trap();
    }
    // ...and the VMM never wrote into a dataport.
    if (!memfdIs(memfds[0], kPortSize[0], 0xA1) || !memfdIs(memfds[1], kPortSize[1], 0xB2))
        __builtin_trap();
    std::uint64_t drain;
    [[maybe_unused]] ssize_t n = ::read(emitFd, &drain, 8);
    return 0;
}
