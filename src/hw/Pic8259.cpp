#include "hw/Pic8259.h"

#include "util/Log.h"

namespace cxvm::hw {

// --- one 8259A ------------------------------------------------------------------------

unsigned Pic8259::priorityOf(std::uint8_t mask) const {
    if (mask == 0) return 8;
    unsigned p = 0;
    while (!(mask >> ((p + highest_) & 7) & 1)) ++p;
    return p;
}

void Pic8259::setInput(unsigned irq, bool level) {
    const auto bit = static_cast<std::uint8_t>(1u << irq);
    if (levelTriggered(irq)) {
        // Level mode: IRR follows the line (datasheet "LTIM"; a request that goes away
        // before INTA becomes a spurious IR7).
        if (level) irr_ |= bit; else irr_ &= ~bit;
    } else if (level && !(inputs_ & bit)) {
        irr_ |= bit;  // edge mode: a rising edge latches the request
    }
    if (level) inputs_ |= bit; else inputs_ &= ~bit;
}

int Pic8259::pendingIrq() const {
    unsigned req = priorityOf(irr_ & ~imr_);
    if (req == 8) return -1;
    // In-service levels block requests of equal or lower priority; special mask mode
    // lets masked in-service levels not block (datasheet "Special Mask Mode").
    std::uint8_t inService = isr_;
    if (specialMask_) inService &= ~imr_;
    // Special fully nested mode: the master lets a further slave request through
    // while the cascade IR is in service (the slave arbitrates it).
    if (master_ && specialFullyNested_) inService &= ~(1u << 2);
    if (req < priorityOf(inService)) return static_cast<int>((req + highest_) & 7);
    return -1;
}

void Pic8259::acknowledge(unsigned irq) {
    const auto bit = static_cast<std::uint8_t>(1u << irq);
    if (autoEoi_) {
        if (rotateOnAutoEoi_) highest_ = (irq + 1) & 7;
    } else {
        isr_ |= bit;
    }
    // A level-triggered request stays in IRR while the line is high.
    if (!levelTriggered(irq)) irr_ &= ~bit;
}

void Pic8259::writeCommand(std::uint8_t v) {
    if (v & 0x10) {
        // ICW1: resets the edge sense, clears IMR and ISR, IR7 lowest priority, special
        // mask off, status read = IRR; without IC4 every ICW4 function is 0.
        icw4Needed_ = v & 0x01;
        single_ = v & 0x02;
        ltim_ = v & 0x08;
        inputs_ = 0;
        irr_ &= elcr_;  // edge requests are forgotten; level ones re-latch from the line
        imr_ = isr_ = 0;
        highest_ = 0;
        readIsr_ = poll_ = specialMask_ = false;
        autoEoi_ = rotateOnAutoEoi_ = specialFullyNested_ = false;
        init_ = InitStep::Icw2;
        return;
    }
    if (v & 0x08) {  // OCW3
        if (v & 0x04) poll_ = true;
        if (v & 0x02) readIsr_ = v & 0x01;
        if (v & 0x40) specialMask_ = v & 0x20;
        return;
    }
    // OCW2: R SL EOI in bits 7..5, level in 2..0.
    const unsigned level = v & 7;
    switch (v >> 5) {
    case 0: rotateOnAutoEoi_ = false; break;
    case 4: rotateOnAutoEoi_ = true; break;
    case 1:    // non-specific EOI: clears the highest-priority in-service level
    case 5: {  // ... and rotates it to lowest priority
        unsigned p = priorityOf(isr_);
        if (p == 8) break;
        unsigned irq = (p + highest_) & 7;
        isr_ &= ~(1u << irq);
        if (v >> 5 == 5) highest_ = (irq + 1) & 7;
        break;
    }
    case 3: isr_ &= ~(1u << level); break;  // specific EOI
    case 7:                                 // rotate on specific EOI
        isr_ &= ~(1u << level);
        highest_ = (level + 1) & 7;
        break;
    case 6: highest_ = (level + 1) & 7; break;  // set priority: `level` becomes lowest
    default: break;                             // 2: no operation
    }
}

void Pic8259::writeData(std::uint8_t v) {
    switch (init_) {
    case InitStep::Ready: imr_ = v; break;  // OCW1
    case InitStep::Icw2:
        vectorBase_ = v & 0xF8;
        init_ = single_ ? (icw4Needed_ ? InitStep::Icw4 : InitStep::Ready) : InitStep::Icw3;
        break;
    case InitStep::Icw3:  // cascade wiring is fixed on the PC (slave on IR2, ID 2)
        init_ = icw4Needed_ ? InitStep::Icw4 : InitStep::Ready;
        break;
    case InitStep::Icw4:
        if (!(v & 0x01)) log::warn("pic8259: ICW4 without 8086 mode ({:#04x}); using 8086 mode", v);
        autoEoi_ = v & 0x02;
        specialFullyNested_ = v & 0x10;
        init_ = InitStep::Ready;
        break;
    }
}

std::uint8_t Pic8259::readCommand() {
    if (poll_) {
        // Poll command: the read acts as INTA; bit 7 = request present, bits 2..0 level.
        poll_ = false;
        int irq = pendingIrq();
        if (irq < 0) return 0;
        acknowledge(static_cast<unsigned>(irq));
        return static_cast<std::uint8_t>(0x80 | irq);
    }
    return readIsr_ ? isr_ : irr_;
}

// --- the cascaded pair ----------------------------------------------------------------

Pic8259Pair::Pic8259Pair(CpuInterruptPins& pins) : pins_(pins) { pins_.controller = this; }

void Pic8259Pair::attach(IoBus& bus) {
    bus.attach(0x20, 2, *this);
    bus.attach(0xA0, 2, *this);
    bus.attach(0x4D0, 2, *this);
}

void Pic8259Pair::setIrqLevel(unsigned line, bool level) {
    if (line >= kLines) {
        log::warn("pic8259: IRQ {} out of range (0..15) ignored", line);
        return;
    }
    if (line < 8) master_.setInput(line, level);
    else slave_.setInput(line - 8, level);
    update();
}

void Pic8259Pair::update() {
    master_.setInput(kCascadeIrq, slave_.pendingIrq() >= 0);
    pins_.intr.store(master_.pendingIrq() >= 0, std::memory_order_release);
}

std::uint8_t Pic8259Pair::acknowledge() {
    std::uint8_t vector;
    int irq = master_.pendingIrq();
    if (irq < 0) {
        // The request went away between INTR and INTA: the 8259A answers IR7 without
        // setting ISR (datasheet "spurious interrupt"; Linux counts these).
        vector = master_.vectorBase() | 7;
    } else {
        master_.acknowledge(static_cast<unsigned>(irq));
        if (irq == static_cast<int>(kCascadeIrq)) {
            int slaveIrq = slave_.pendingIrq();
            if (slaveIrq < 0) {
                vector = slave_.vectorBase() | 7;  // spurious IRQ15; master IR2 stays in service
            } else {
                slave_.acknowledge(static_cast<unsigned>(slaveIrq));
                vector = static_cast<std::uint8_t>(slave_.vectorBase() | slaveIrq);
            }
        } else {
            vector = static_cast<std::uint8_t>(master_.vectorBase() | irq);
        }
    }
    update();
    return vector;
}

std::uint8_t Pic8259Pair::accessByte(std::uint16_t port, bool write, std::uint8_t value) {
    Pic8259* chip = nullptr;
    switch (port) {
    case 0x20: case 0x21: chip = &master_; break;
    case 0xA0: case 0xA1: chip = &slave_; break;
    case 0x4D0: case 0x4D1: {
        Pic8259& c = port == 0x4D0 ? master_ : slave_;
        if (!write) return c.elcr();
        c.setElcr(value);
        update();
        return 0;
    }
    default: return 0xFF;  // a wide access running past our ports
    }
    if (!write) {
        std::uint8_t r = (port & 1) ? chip->readData() : chip->readCommand();
        update();  // a poll read acknowledges
        return r;
    }
    if (port & 1) {
        chip->writeData(value);
    } else {
        const std::uint8_t before = chip->isr();
        chip->writeCommand(value);
        // In-service bits the command cleared (an EOI, OCW2; or a re-initialisation):
        // tell the listener before the cascade and INTR are recomputed, so that a source
        // it lowers there does not first re-raise the slave's INT (which the master's
        // edge-triggered IR2 would latch into a spurious IRQ 15).
        if (const std::uint8_t ended = before & ~chip->isr(); ended && onEoi) {
            for (unsigned i = 0; i < 8; ++i)
                if (ended >> i & 1) onEoi(i + (chip == &slave_ ? 8 : 0));
        }
    }
    update();
    return 0;
}

std::uint32_t Pic8259Pair::ioRead(std::uint16_t port, unsigned size) {
    std::uint32_t r = 0;
    for (unsigned i = 0; i < size; ++i)
        r |= std::uint32_t{accessByte(static_cast<std::uint16_t>(port + i), false, 0)} << (8 * i);
    return r;
}

void Pic8259Pair::ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) {
    for (unsigned i = 0; i < size; ++i)
        accessByte(static_cast<std::uint16_t>(port + i), true, static_cast<std::uint8_t>(value >> (8 * i)));
}

}  // namespace cxvm::hw
