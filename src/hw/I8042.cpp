#include "hw/I8042.h"

#include "util/Log.h"

namespace cxvm::hw {

namespace {
// Status register bits.
constexpr std::uint8_t kStOutputFull = 0x01, kStSystem = 0x04, kStCommand = 0x08, kStUnlocked = 0x10,
                       kStAuxData = 0x20, kStTimeout = 0x40;
// Command byte bits.
constexpr std::uint8_t kCtrKbdInt = 0x01, kCtrAuxInt = 0x02, kCtrSystem = 0x04, kCtrKbdDisable = 0x10,
                       kCtrAuxDisable = 0x20;
// A device that does not answer: the controller reports a time-out with 0xFE.
constexpr std::uint8_t kNoDevice = 0xFE;
}  // namespace

I8042::I8042(IrqLine keyboardIrq, IrqLine auxIrq, ResetRequest onReset)
    : kbdIrq_(keyboardIrq), auxIrq_(auxIrq), onReset_(std::move(onReset)) {}

void I8042::attach(IoBus& bus) {
    bus.attach(0x60, 1, *this);
    bus.attach(0x64, 1, *this);
}

void I8042::queue(std::uint8_t value, Source source, bool timeout) {
    if (outCount_ == out_.size()) {
        log::debug("i8042: output queue full, dropping {:#04x}", value);
        return;
    }
    out_[(outHead_ + outCount_) % out_.size()] = Byte{value, source, timeout};
    ++outCount_;
    updateIrq();
}

std::uint8_t I8042::status() const {
    std::uint8_t s = kStUnlocked | (ctr_ & kCtrSystem ? kStSystem : 0) | (lastWasCommand_ ? kStCommand : 0);
    if (outCount_) {
        const Byte& b = out_[outHead_];
        s |= kStOutputFull;
        if (b.source == Source::Aux) s |= kStAuxData;
        if (b.timeout) s |= kStTimeout;
    }
    return s;
}

void I8042::updateIrq() {
    // IRQ1/IRQ12 follow "output buffer full" for the head byte's channel when enabled in
    // the command byte (controller replies count as keyboard data).
    bool kbd = false, aux = false;
    if (outCount_) {
        if (out_[outHead_].source == Source::Aux) aux = ctr_ & kCtrAuxInt;
        else kbd = ctr_ & kCtrKbdInt;
    }
    if (kbd != kbdLevel_) kbdIrq_.set(kbdLevel_ = kbd);
    if (aux != auxLevel_) auxIrq_.set(auxLevel_ = aux);
}

std::uint8_t I8042::readData() {
    if (!outCount_) return lastRead_;  // an empty buffer reads the previous byte again
    const std::uint8_t v = lastRead_ = out_[outHead_].value;
    outHead_ = (outHead_ + 1) % out_.size();
    --outCount_;
    // Release the line first so a following byte makes a fresh edge on the PIC.
    if (kbdLevel_) kbdIrq_.set(kbdLevel_ = false);
    if (auxLevel_) auxIrq_.set(auxLevel_ = false);
    updateIrq();
    return v;
}

void I8042::writeOutputPort(std::uint8_t v) {
    outputPort_ = v;
    // Bit 0 drives the CPU reset line (active low).
    if (!(v & 0x01)) {
        outputPort_ |= 0x01;
        if (onReset_) onReset_();
    }
}

void I8042::command(std::uint8_t cmd) {
    pending_ = 0;
    if (cmd >= 0x20 && cmd <= 0x3F) {  // read controller RAM; 0x20 is the command byte
        queue(cmd == 0x20 ? ctr_ : 0, Source::Controller);
        return;
    }
    if (cmd >= 0x60 && cmd <= 0x7F) {  // write controller RAM: data follows
        pending_ = cmd;
        return;
    }
    if (cmd >= 0xF0) {
        // Pulse output port bits 0..3 low for those clear in the command; bit 0 = reset.
        if (!(cmd & 0x01) && onReset_) onReset_();
        return;
    }
    switch (cmd) {
    case 0xA7: ctr_ |= kCtrAuxDisable; break;
    case 0xA8: ctr_ &= ~kCtrAuxDisable; break;
    case 0xA9: queue(0x00, Source::Controller); break;  // aux interface test: no error
    case 0xAA:  // controller self-test passed; sets the system flag
        ctr_ |= kCtrSystem;
        queue(0x55, Source::Controller);
        break;
    case 0xAB: queue(0x00, Source::Controller); break;  // keyboard interface test: no error
    case 0xAD: ctr_ |= kCtrKbdDisable; break;
    case 0xAE: ctr_ &= ~kCtrKbdDisable; break;
    case 0xC0: queue(0x80, Source::Controller); break;  // input port: keyboard not inhibited
    case 0xD0: queue(outputPort_, Source::Controller); break;
    case 0xE0: queue(0x00, Source::Controller); break;  // test inputs
    case 0xD1:   // write output port
    case 0xD2:   // write keyboard output buffer
    case 0xD3:   // write aux output buffer
    case 0xD4: pending_ = cmd; break;  // write to aux device
    default: log::debug("i8042: unsupported command {:#04x} ignored", cmd); break;
    }
    updateIrq();
}

void I8042::writeData(std::uint8_t v) {
    const std::uint8_t cmd = pending_;
    pending_ = 0;
    switch (cmd) {
    case 0: queue(kNoDevice, Source::Keyboard, true); break;  // to the (absent) keyboard
    case 0x60:
        ctr_ = v;
        updateIrq();
        break;
    case 0xD1: writeOutputPort(v); break;
    case 0xD2: queue(v, Source::Keyboard); break;
    case 0xD3: queue(v, Source::Aux); break;
    case 0xD4: queue(kNoDevice, Source::Aux, true); break;  // to the (absent) mouse
    default: break;  // other controller RAM bytes are not kept
    }
}

std::uint32_t I8042::ioRead(std::uint16_t port, unsigned size) {
    std::uint32_t r = port == 0x60 ? readData() : status();
    if (size > 1) r |= 0xFFFF'FF00u & (size == 2 ? 0xFFFFu : 0xFFFF'FFFFu);  // neighbours float
    return r;
}

void I8042::ioWrite(std::uint16_t port, unsigned, std::uint32_t value) {
    const auto b = static_cast<std::uint8_t>(value);
    lastWasCommand_ = port == 0x64;
    if (port == 0x64) command(b);
    else writeData(b);
}

}  // namespace cxvm::hw
