#pragma once
// National Semiconductor PC16550D UART with 16-byte FIFOs (datasheet: PC16550D, June
// 1995), as a PC COM port: COM1 at 0x3F8 on IRQ4 (the console), COM2 at 0x2F8 on IRQ3.
//
// Semantics chosen (docs/devices.md):
//  - Transmission is instantaneous: a THR write hands the byte on at once, so THRE and
//    TEMT read 1 and a THRE interrupt is re-armed right away. Bytes are collected in a
//    buffer and given to the output sink in chunks: when it fills, on flush() and on
//    every advanceTo() (after each vCPU slice), never one call per byte.
//  - Input: receive() puts bytes in the RX FIFO and returns how many fitted; the VMM
//    keeps the rest and offers them again (like hardware flow control, nothing lost).
//    In loopback mode the input pin is disconnected and nothing is accepted.
//  - The RX character timeout (IIR 0xC, FIFO mode) fires 4 character times after the
//    last RX FIFO activity, the character time following LCR and the divisor latch.
//  - The modem inputs of a connected terminal are CTS, DSR and DCD asserted; in loopback
//    they follow MCR (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD) as Linux's probe expects.
//  - The PC gates the INTR pin with MCR OUT2 (an open OUT2 pin or loopback mode, which
//    forces the pin inactive, disconnects the IRQ); Linux sets OUT2 when it opens a port.
#include "hw/Clock.h"
#include "hw/Irq.h"
#include "hw/IoBus.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace cxvm::hw {

class Uart16550 final : public IoDevice, public TimedDevice {
public:
    using OutputSink = std::function<void(std::span<const std::uint8_t>)>;
    static constexpr std::uint16_t kCom1Port = 0x3F8, kCom2Port = 0x2F8;
    static constexpr unsigned kCom1Irq = 4, kCom2Irq = 3;
    static constexpr unsigned kFifoSize = 16;
    static constexpr std::uint32_t kBaseBaud = 115200;  // 1.8432 MHz / 16

    // `name` appears in logs ("com1"); `sink` receives transmitted bytes (may be empty:
    // output is dropped).
    Uart16550(std::string name, const Clock& clock, IrqLine irq, OutputSink sink);
    // Claims [base, base+8).
    void attach(IoBus& bus, std::uint16_t base);

    // Host -> guest input. Returns how many bytes fitted into the RX FIFO.
    std::size_t receive(std::span<const std::uint8_t> bytes);
    [[nodiscard]] std::size_t rxSpace() const;
    // Hands buffered output to the sink.
    void flush();

    std::uint32_t ioRead(std::uint16_t port, unsigned size) override;
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override;
    [[nodiscard]] std::string_view name() const override { return name_; }

    void advanceTo(std::uint64_t nowNs) override;
    [[nodiscard]] std::uint64_t nextDeadlineNs() const override;

    // One character's time on the wire at the programmed rate and frame format.
    [[nodiscard]] std::uint64_t charTimeNs() const;

private:
    std::uint8_t readRegister(unsigned reg);
    void writeRegister(unsigned reg, std::uint8_t v);
    void transmit(std::uint8_t byte);
    void pushRx(std::uint8_t byte);
    std::uint8_t popRx();
    void writeFcr(std::uint8_t v);
    void writeMcr(std::uint8_t v);
    [[nodiscard]] std::uint8_t modemInputs() const;
    [[nodiscard]] std::uint8_t interruptId() const;  // IIR bits 3..0
    [[nodiscard]] bool fifoEnabled() const { return fcr_ & 0x01; }
    [[nodiscard]] unsigned rxCapacity() const { return fifoEnabled() ? kFifoSize : 1; }
    [[nodiscard]] unsigned rxTrigger() const;
    void checkTimeout(std::uint64_t nowNs);
    void updateIrq();

    std::string name_;
    const Clock& clock_;
    IrqLine irq_;
    OutputSink sink_;

    std::array<std::uint8_t, kFifoSize> rx_{};
    unsigned rxHead_ = 0, rxCount_ = 0;
    std::uint64_t rxActivityNs_ = 0;  // last byte received or read (timeout timer)
    bool timeoutPending_ = false;
    bool threPending_ = false;  // THRE interrupt armed (cleared by IIR read / THR write)

    std::array<std::uint8_t, 4096> tx_{};
    std::size_t txCount_ = 0;

    std::uint16_t divisor_ = 12;  // 9600 baud until the guest programs it
    std::uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, lsrErrors_ = 0, msrDelta_ = 0, scr_ = 0, fcr_ = 0;
    std::uint8_t msrLines_;  // MSR bits 7..4 as last seen (for the delta bits)
    bool irqLevel_ = false;
};

}  // namespace cxvm::hw
