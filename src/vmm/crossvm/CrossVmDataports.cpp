#include "vmm/crossvm/CrossVmDataports.h"

#include "util/Error.h"
#include "util/Log.h"

#include <sys/stat.h>

#include <exception>

namespace cxvm::vmm::crossvm {
namespace {

constexpr std::uint64_t kPage = hw::GuestMemory::kPageSize;
// The largest dataport a 32-bit guest can SHARE (ESI holds the size).
constexpr std::uint64_t kMaxDataport = 0xFFFF'F000;

std::uint64_t pageRound(std::uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

}  // namespace

CrossVmDataports::CrossVmDataports(hw::GuestMemory& memory, std::vector<CrossVmDataport> dataports,
                                   WarnLimiter& warnings)
    : memory_(memory), ports_(std::move(dataports)), shared_(ports_.size()), warnings_(warnings) {
    for (std::size_t i = 0; i < ports_.size(); ++i) {
        const CrossVmDataport& d = ports_[i];
        if (d.id == 0) throw Error::format("crossvm: dataport {}: id 0 (ids start at 1)", d.name);
        for (std::size_t j = 0; j < i; ++j)
            if (ports_[j].id == d.id)
                throw Error::format("crossvm: dataports {} and {} both have id {}", ports_[j].name,
                                    d.name, d.id);
        if (d.size == 0 || d.size > kMaxDataport)
            throw Error::format("crossvm: dataport {}: size {:#x} out of range (1..{:#x})", d.name,
                                d.size, kMaxDataport);
        struct stat st {};
        if (d.memfd < 0 || ::fstat(d.memfd, &st) != 0)
            throw Error::format("crossvm: dataport {}: no usable memfd (fd {})", d.name, d.memfd);
        if (static_cast<std::uint64_t>(st.st_size) < d.size)
            throw Error::format("crossvm: dataport {}: memfd holds {:#x} bytes, the spec says {:#x}",
                                d.name, st.st_size, d.size);
    }
}

Result CrossVmDataports::share(std::uint32_t id, std::uint32_t gpa, std::uint32_t size,
                               std::optional<GuestRange> eventPage) {
    std::size_t i = 0;
    while (i < ports_.size() && ports_[i].id != id) ++i;
    if (id == 0 || i == ports_.size()) {
        warnings_.warnWith([&] {
            return fmt::format(
                "crossvm: guest SHARE of dataport id {} (gpa {:#x}, size {:#x}): {}; guest gets {}",
                id, gpa, size,
                id == 0 ? std::string("id 0 is invalid (ids start at 1)")
                        : fmt::format("this VM has {} dataport(s), none with that id", ports_.size()),
                resultName(Result::NoEntry));
        });
        return Result::NoEntry;
    }
    const CrossVmDataport& d = ports_[i];
    // `why(...)` names what is wrong; it runs only when the warning is let through.
    auto refuse = [&](Result r, auto why) {
        warnings_.warnWith([&] {
            return fmt::format(
                "crossvm: guest SHARE of dataport {} (id {}) at gpa {:#x}, size {:#x}: {}; guest gets {}",
                d.name, id, gpa, size, why(), resultName(r));
        });
        return r;
    };
    if (shared_[i])
        return refuse(Result::Exists,
                      [&] { return fmt::format("already shared at gpa {:#x}", shared_[i]->gpa); });
    if (size != d.size)
        return refuse(Result::MessageSize,
                      [&] { return fmt::format("the spec's size is {:#x}", d.size); });
    if (gpa % kPage != 0) return refuse(Result::Invalid, [] { return std::string("the address is not page aligned"); });
    const std::uint64_t mapped = pageRound(size);
    // 64-bit arithmetic: a 32-bit gpa + size cannot wrap here, and a range past 4 GiB
    // is simply outside RAM (which ends below the PCI hole).
    if (gpa >= memory_.ramSize() || mapped > memory_.ramSize() - gpa)
        return refuse(Result::Fault, [&] {
            return fmt::format("not inside guest RAM (which ends at {:#x})", memory_.ramSize());
        });
    for (std::size_t j = 0; j < ports_.size(); ++j)
        if (shared_[j] && shared_[j]->overlaps(gpa, mapped))
            return refuse(Result::Busy, [&] {
                return fmt::format("overlaps dataport {} shared at gpa {:#x}", ports_[j].name,
                                   shared_[j]->gpa);
            });
    if (eventPage && eventPage->overlaps(gpa, mapped))
        return refuse(Result::Busy, [&] {
            return fmt::format("covers the consumed-event page at gpa {:#x}", eventPage->gpa);
        });
    try {
        memory_.overlay(gpa, d.memfd, mapped, d.name);
    } catch (const std::exception& e) {
        return refuse(Result::HostIo, [&] { return std::string(e.what()); });
    }
    shared_[i] = GuestRange{gpa, mapped};
    log::info("crossvm: dataport {} (id {}) shared at guest {:#x} (+{:#x})", d.name, id, gpa, size);
    return Result::Ok;
}

bool CrossVmDataports::overlapsShared(std::uint64_t gpa, std::uint64_t size) const {
    for (const auto& s : shared_)
        if (s && s->overlaps(gpa, size)) return true;
    return false;
}

std::optional<GuestRange> CrossVmDataports::sharedAt(std::uint32_t id) const {
    for (std::size_t i = 0; i < ports_.size(); ++i)
        if (ports_[i].id == id) return shared_[i];
    return std::nullopt;
}

}  // namespace cxvm::vmm::crossvm
