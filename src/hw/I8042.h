#pragma once
// Intel 8042-compatible PS/2 keyboard controller (IBM PS/2 Technical Reference,
// "Keyboard/Auxiliary Device Controller") at ports 0x60 (data) and 0x64 (status/command),
// IRQ1 (keyboard) and IRQ12 (auxiliary). Enough for Linux's i8042 probe: controller
// self-test (0xAA -> 0x55), interface tests (0xAB/0xA9 -> 0x00), the command byte, the
// output port, loopback writes (0xD2/0xD3) — and system reset by pulsing the CPU reset
// line (command 0xFE, or an output port write with bit 0 clear).
//
// No keyboard or mouse is attached: bytes sent to either device are answered the way a
// controller reports a device that does not respond — 0xFE with the time-out status bit
// (Linux's serio treats that as "no device" without waiting for its own timeout).
// A20 (output port bit 1) is recorded but not emulated: memory never wraps at 1 MiB.
#include "hw/Irq.h"
#include "hw/IoBus.h"

#include <array>
#include <cstdint>
#include <functional>

namespace cxvm::hw {

class I8042 final : public IoDevice {
public:
    using ResetRequest = std::function<void()>;
    static constexpr unsigned kKeyboardIrq = 1, kAuxIrq = 12;

    I8042(IrqLine keyboardIrq, IrqLine auxIrq, ResetRequest onReset);
    // Claims 0x60 and 0x64.
    void attach(IoBus& bus);

    std::uint32_t ioRead(std::uint16_t port, unsigned size) override;
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override;
    [[nodiscard]] std::string_view name() const override { return "i8042"; }

    [[nodiscard]] std::uint8_t commandByte() const { return ctr_; }
    [[nodiscard]] std::uint8_t outputPort() const { return outputPort_; }

private:
    enum class Source : std::uint8_t { Controller, Keyboard, Aux };
    struct Byte {
        std::uint8_t value;
        Source source;
        bool timeout;
    };
    void command(std::uint8_t cmd);
    void writeData(std::uint8_t v);
    std::uint8_t readData();
    [[nodiscard]] std::uint8_t status() const;
    void queue(std::uint8_t value, Source source, bool timeout = false);
    void writeOutputPort(std::uint8_t v);
    void updateIrq();

    IrqLine kbdIrq_, auxIrq_;
    ResetRequest onReset_;
    std::array<Byte, 16> out_{};  // output buffer queue; the head is what 0x60 reads
    unsigned outHead_ = 0, outCount_ = 0;
    std::uint8_t ctr_ = 0x65;  // command byte: KBDINT | SYS | AUXDIS | XLATE (after a BIOS)
    std::uint8_t outputPort_ = 0x03;  // reset line inactive (bit 0 = 1), A20 on
    std::uint8_t lastRead_ = 0;
    std::uint8_t pending_ = 0;        // command waiting for its data byte, or 0
    bool lastWasCommand_ = false;     // status bit 3 (A2)
    bool kbdLevel_ = false, auxLevel_ = false;
};

}  // namespace cxvm::hw
