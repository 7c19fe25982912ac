#pragma once
// Host side of the cross-VM connector ABI (guest/include/cxvm/crossvm_abi.h is the one
// definition, shared with the guest modules).
#include "../../../guest/include/cxvm/crossvm_abi.h"

#include <cstdint>
#include <string_view>

namespace cxvm::vmm::crossvm {

inline constexpr std::uint32_t kTokenDataport = CXVM_TOKEN_DATAPORT;
inline constexpr std::uint32_t kTokenEventToGuest = CXVM_TOKEN_EVENT_TO_GUEST;
inline constexpr std::uint32_t kTokenEventFromGuest = CXVM_TOKEN_EVENT_FROM_GUEST;
inline constexpr std::uint32_t kShare = CXVM_DATAPORT_SHARE;
inline constexpr std::uint32_t kInit = CXVM_EVENT_INIT;
inline constexpr std::uint32_t kAck = CXVM_EVENT_ACK;
inline constexpr std::uint32_t kEmit = CXVM_EVENT_EMIT;
inline constexpr std::uint32_t kEventMagic = CXVM_EVENT_MAGIC;
inline constexpr std::uint32_t kEventNone = CXVM_EVENT_NONE;
inline constexpr std::uint64_t kEventPageBytes = sizeof(cxvm_event_page);
static_assert(kEventPageBytes == 8, "crossvm-abi.md: struct { unsigned id; unsigned magic; }");

// A hypercall result (EAX) as the guest sees it.
enum class Result : std::int32_t {
    Ok = CXVM_CROSSVM_OK,
    NoEntry = CXVM_CROSSVM_ENOENT,
    HostIo = CXVM_CROSSVM_EIO,
    Fault = CXVM_CROSSVM_EFAULT,
    Busy = CXVM_CROSSVM_EBUSY,
    Exists = CXVM_CROSSVM_EEXIST,
    Invalid = CXVM_CROSSVM_EINVAL,
    NoMessage = CXVM_CROSSVM_ENOMSG,
    MessageSize = CXVM_CROSSVM_EMSGSIZE,
    NotSupported = CXVM_CROSSVM_EOPNOTSUPP,
};

[[nodiscard]] constexpr std::uint32_t eax(Result r) {
    return static_cast<std::uint32_t>(static_cast<std::int32_t>(r));
}

// "-90 (EMSGSIZE)" for log lines.
[[nodiscard]] constexpr std::string_view resultName(Result r) {
    switch (r) {
    case Result::Ok: return "0";
    case Result::NoEntry: return "-2 (ENOENT)";
    case Result::HostIo: return "-5 (EIO)";
    case Result::Fault: return "-14 (EFAULT)";
    case Result::Busy: return "-16 (EBUSY)";
    case Result::Exists: return "-17 (EEXIST)";
    case Result::Invalid: return "-22 (EINVAL)";
    case Result::NoMessage: return "-42 (ENOMSG)";
    case Result::MessageSize: return "-90 (EMSGSIZE)";
    case Result::NotSupported: return "-95 (EOPNOTSUPP)";
    }
    return "?";
}

}  // namespace cxvm::vmm::crossvm
