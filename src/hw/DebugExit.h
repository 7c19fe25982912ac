#pragma once
// Test exit port, compatible with QEMU's isa-debug-exit (default port 0x501): a guest
// write of V requests that cxvm exit with status (V << 1) | 1, truncated to 8 bits —
// so tests written for QEMU (e.g. `outb 0x31, 0x501` -> status 99) behave the same.
// Status 0 cannot be requested this way (QEMU's choice, to tell it from a clean exit);
// a clean exit is a guest poweroff. Any access width; the value written is used whole.
#include "hw/IoBus.h"

#include <cstdint>
#include <functional>

namespace cxvm::hw {

class DebugExit final : public IoDevice {
public:
    static constexpr std::uint16_t kDefaultPort = 0x501;
    struct Request {
        std::uint32_t value;  // as written by the guest
        int status;           // ((value << 1) | 1) & 0xFF
    };
    using ExitRequest = std::function<void(const Request&)>;

    explicit DebugExit(ExitRequest onExit) : onExit_(std::move(onExit)) {}
    void attach(IoBus& bus, std::uint16_t port = kDefaultPort) { bus.attach(port, 1, *this); }

    [[nodiscard]] static int statusFor(std::uint32_t value) { return static_cast<int>(((value << 1) | 1) & 0xFF); }

    std::uint32_t ioRead(std::uint16_t, unsigned size) override {
        return size == 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1;
    }
    void ioWrite(std::uint16_t, unsigned, std::uint32_t value) override {
        if (onExit_) onExit_(Request{value, statusFor(value)});
    }
    [[nodiscard]] std::string_view name() const override { return "debug-exit"; }

private:
    ExitRequest onExit_;
};

}  // namespace cxvm::hw
