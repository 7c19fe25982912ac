#pragma once
// The PC's two cascaded Intel 8259A programmable interrupt controllers (datasheet:
// Intel 8259A, order 231468) plus the EISA/PIIX edge/level control registers (ELCR).
//
//   master: ports 0x20-0x21, IRQ 0-7, slave INT on IR2, drives the CPU's INTR pin
//   slave:  ports 0xA0-0xA1, IRQ 8-15
//   ELCR:   ports 0x4D0 (IRQ 0-7) and 0x4D1 (IRQ 8-15); bit set = level triggered.
//           IRQ 0, 1, 2, 8 and 13 are always edge (PIIX4 datasheet 4.1.11).
//
// Inputs 0..15 come in through IrqSink::setIrqLevel; the CPU's INTA cycle is
// InterruptAcknowledge::acknowledge(). All calls come from the VMM thread.
#include "hw/Irq.h"
#include "hw/IoBus.h"

#include <array>
#include <cstdint>
#include <functional>

namespace cxvm::hw {

// One 8259A. Its priority logic follows the datasheet; the pair wires the cascade.
class Pic8259 {
public:
    explicit Pic8259(bool master, std::uint8_t elcrMask) : master_(master), elcrMask_(elcrMask) {}

    void setInput(unsigned irq, bool level);
    // The IR line the chip would report now (INT output), or -1.
    [[nodiscard]] int pendingIrq() const;
    // First/second INTA pulse for `irq`: sets ISR (unless auto-EOI), clears edge IRR.
    void acknowledge(unsigned irq);

    void writeCommand(std::uint8_t value);  // A0 = 0: ICW1, OCW2, OCW3
    void writeData(std::uint8_t value);     // A0 = 1: ICW2-4, OCW1
    std::uint8_t readCommand();             // IRR/ISR or the poll word
    [[nodiscard]] std::uint8_t readData() const { return imr_; }

    [[nodiscard]] std::uint8_t elcr() const { return elcr_; }
    void setElcr(std::uint8_t value) { elcr_ = value & elcrMask_; }
    [[nodiscard]] std::uint8_t vectorBase() const { return vectorBase_; }
    [[nodiscard]] std::uint8_t irr() const { return irr_; }
    [[nodiscard]] std::uint8_t isr() const { return isr_; }
    [[nodiscard]] std::uint8_t imr() const { return imr_; }

private:
    // 0..7 = how many steps below the highest priority the lowest set bit of `mask`
    // sits after rotation; 8 = none.
    [[nodiscard]] unsigned priorityOf(std::uint8_t mask) const;
    [[nodiscard]] bool levelTriggered(unsigned irq) const { return ltim_ || (elcr_ >> irq & 1); }

    bool master_;
    std::uint8_t elcrMask_;
    std::uint8_t irr_ = 0, isr_ = 0, imr_ = 0;
    std::uint8_t inputs_ = 0;  // current input levels (edge detection)
    std::uint8_t elcr_ = 0;
    std::uint8_t vectorBase_ = 0;
    std::uint8_t highest_ = 0;  // rotation: the IR that currently has the highest priority
    enum class InitStep : std::uint8_t { Ready, Icw2, Icw3, Icw4 };
    InitStep init_ = InitStep::Ready;
    bool icw4Needed_ = false, single_ = false, ltim_ = false;
    bool autoEoi_ = false, rotateOnAutoEoi_ = false, specialFullyNested_ = false;
    bool readIsr_ = false, poll_ = false, specialMask_ = false;
};

class Pic8259Pair final : public IrqSink, public InterruptAcknowledge, public IoDevice {
public:
    static constexpr unsigned kLines = 16;
    static constexpr unsigned kCascadeIrq = 2;

    explicit Pic8259Pair(CpuInterruptPins& pins);
    // Claims 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1.
    void attach(IoBus& bus);

    void setIrqLevel(unsigned line, bool level) override;
    std::uint8_t acknowledge() override;

    std::uint32_t ioRead(std::uint16_t port, unsigned size) override;
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override;
    [[nodiscard]] std::string_view name() const override { return "pic8259"; }

    [[nodiscard]] const Pic8259& master() const { return master_; }
    [[nodiscard]] const Pic8259& slave() const { return slave_; }
    // Lines 0..15: an IrqLine for devices.
    [[nodiscard]] IrqLine line(unsigned irq) { return IrqLine(*this, irq); }

    // Called (VM thread) with each IRQ 0..15 whose in-service bit a guest command write
    // cleared: an EOI (OCW2, 8259A datasheet) or a re-initialisation. A level-triggered
    // source that waits for the guest to finish with an interrupt resamples here (VFIO
    // INTx: docs/passthrough.md). The cascade's own EOI on the master reports IRQ 2.
    // Auto-EOI mode sets no in-service bit, so it reports nothing.
    std::function<void(unsigned irq)> onEoi;

private:
    // Recomputes the cascade (slave INT -> master IR2) and the CPU's INTR pin.
    void update();
    std::uint8_t accessByte(std::uint16_t port, bool write, std::uint8_t value);

    CpuInterruptPins& pins_;
    Pic8259 master_{true, 0xF8};
    Pic8259 slave_{false, 0xDE};
};

}  // namespace cxvm::hw
