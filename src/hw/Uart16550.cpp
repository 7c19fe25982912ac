#include "hw/Uart16550.h"

#include "hw/MulDiv.h"
#include "util/Log.h"

#include <algorithm>

namespace cxvm::hw {

namespace {
// Register offsets (datasheet table II).
enum Reg : unsigned { RbrThrDll = 0, IerDlm = 1, IirFcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7 };
// IER
constexpr std::uint8_t kIerRda = 0x01, kIerThre = 0x02, kIerLsi = 0x04, kIerMsi = 0x08;
// LSR
constexpr std::uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;
// MCR
constexpr std::uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
// MSR lines
constexpr std::uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
// IIR interrupt identification, highest priority first.
constexpr std::uint8_t kIirNone = 0x01, kIirLsi = 0x06, kIirRda = 0x04, kIirTimeout = 0x0C,
                       kIirThre = 0x02, kIirMsi = 0x00;
constexpr std::uint8_t kIirFifoEnabled = 0xC0;
}  // namespace

Uart16550::Uart16550(std::string name, const Clock& clock, IrqLine irq, OutputSink sink)
    : name_(std::move(name)), clock_(clock), irq_(irq), sink_(std::move(sink)) {
    msrLines_ = modemInputs();
}

void Uart16550::attach(IoBus& bus, std::uint16_t base) { bus.attach(base, 8, *this); }

// --- FIFOs ----------------------------------------------------------------------------

// In loopback the serial input pin is disconnected: host input waits (rxSpace 0)
// instead of landing in the FIFO the guest's loopback test is using.
std::size_t Uart16550::rxSpace() const { return (mcr_ & kMcrLoop) ? 0 : rxCapacity() - rxCount_; }

unsigned Uart16550::rxTrigger() const {
    static constexpr std::array<unsigned, 4> kLevels{1, 4, 8, 14};  // FCR bits 7..6
    return fifoEnabled() ? kLevels[fcr_ >> 6] : 1;
}

void Uart16550::pushRx(std::uint8_t byte) {
    if (rxCount_ == rxCapacity()) {
        // Overrun: FIFO mode keeps the FIFO and loses the new character; character mode
        // overwrites the holding register (datasheet LSR bit 1).
        lsrErrors_ |= kLsrOe;
        if (!fifoEnabled()) rx_[rxHead_] = byte;
    } else {
        rx_[(rxHead_ + rxCount_) % kFifoSize] = byte;
        ++rxCount_;
    }
    rxActivityNs_ = clock_.nowNs();
    timeoutPending_ = false;
}

std::uint8_t Uart16550::popRx() {
    if (rxCount_ == 0) return rx_[rxHead_];  // RBR keeps the last character
    std::uint8_t b = rx_[rxHead_];
    if (--rxCount_ != 0) rxHead_ = (rxHead_ + 1) % kFifoSize;
    rxActivityNs_ = clock_.nowNs();
    timeoutPending_ = false;
    return b;
}

std::size_t Uart16550::receive(std::span<const std::uint8_t> bytes) {
    const std::size_t n = std::min(bytes.size(), rxSpace());
    for (std::size_t i = 0; i < n; ++i) pushRx(bytes[i]);
    if (n) updateIrq();
    return n;
}

void Uart16550::transmit(std::uint8_t byte) {
    if (mcr_ & kMcrLoop) {
        pushRx(byte);  // loopback: the transmitter feeds the receiver, nothing goes out
        return;
    }
    if (txCount_ == tx_.size()) flush();
    tx_[txCount_++] = byte;
}

void Uart16550::flush() {
    if (txCount_ == 0) return;
    if (sink_) sink_(std::span<const std::uint8_t>(tx_.data(), txCount_));
    txCount_ = 0;
}

// --- registers ------------------------------------------------------------------------

std::uint8_t Uart16550::modemInputs() const {
    if (!(mcr_ & kMcrLoop)) return kMsrCts | kMsrDsr | kMsrDcd;  // a terminal is attached
    return static_cast<std::uint8_t>(((mcr_ & kMcrDtr) ? kMsrDsr : 0) | ((mcr_ & kMcrRts) ? kMsrCts : 0) |
                                     ((mcr_ & kMcrOut1) ? kMsrRi : 0) | ((mcr_ & kMcrOut2) ? kMsrDcd : 0));
}

std::uint8_t Uart16550::interruptId() const {
    const bool rda = rxCount_ >= rxTrigger();
    if ((ier_ & kIerLsi) && lsrErrors_) return kIirLsi;
    if ((ier_ & kIerRda) && rda) return kIirRda;
    if ((ier_ & kIerRda) && timeoutPending_) return kIirTimeout;
    if ((ier_ & kIerThre) && threPending_) return kIirThre;
    if ((ier_ & kIerMsi) && msrDelta_) return kIirMsi;
    return kIirNone;
}

void Uart16550::updateIrq() {
    // INTR reaches the PIC only through the OUT2-controlled buffer of the PC serial card.
    const bool level = interruptId() != kIirNone && (mcr_ & kMcrOut2) && !(mcr_ & kMcrLoop);
    if (level != irqLevel_) {
        irqLevel_ = level;
        irq_.set(level);
    }
}

void Uart16550::writeFcr(std::uint8_t v) {
    // Toggling the FIFO enable clears both FIFOs (datasheet FCR bit 0).
    if ((v ^ fcr_) & 0x01) v |= 0x06;
    if (v & 0x02) {
        rxCount_ = rxHead_ = 0;
        timeoutPending_ = false;
    }
    // Bit 2 clears the TX FIFO, which is always empty here (instant transmission).
    fcr_ = v & 0xC9;
}

void Uart16550::writeMcr(std::uint8_t v) {
    mcr_ = v & 0x1F;
    const std::uint8_t lines = modemInputs();
    const std::uint8_t changed = lines ^ msrLines_;
    // Delta bits: DCTS, DDSR, TERI (RI trailing edge only), DDCD.
    if (changed & kMsrCts) msrDelta_ |= 0x01;
    if (changed & kMsrDsr) msrDelta_ |= 0x02;
    if ((changed & kMsrRi) && !(lines & kMsrRi)) msrDelta_ |= 0x04;
    if (changed & kMsrDcd) msrDelta_ |= 0x08;
    msrLines_ = lines;
}

std::uint8_t Uart16550::readRegister(unsigned reg) {
    const bool dlab = lcr_ & 0x80;
    switch (reg) {
    case RbrThrDll: return dlab ? static_cast<std::uint8_t>(divisor_) : popRx();
    case IerDlm: return dlab ? static_cast<std::uint8_t>(divisor_ >> 8) : ier_;
    case IirFcr: {
        checkTimeout(clock_.nowNs());
        const std::uint8_t id = interruptId();
        // Reading IIR while it reports THRE is what acknowledges that interrupt.
        if (id == kIirThre) threPending_ = false;
        return static_cast<std::uint8_t>(id | (fifoEnabled() ? kIirFifoEnabled : 0));
    }
    case Lcr: return lcr_;
    case Mcr: return mcr_;
    case Lsr: {
        std::uint8_t lsr = static_cast<std::uint8_t>((rxCount_ ? kLsrDr : 0) | lsrErrors_ | kLsrThre | kLsrTemt);
        lsrErrors_ = 0;  // OE (and PE/FE/BI) clear on read
        return lsr;
    }
    case Msr: {
        std::uint8_t msr = static_cast<std::uint8_t>(msrLines_ | msrDelta_);
        msrDelta_ = 0;
        return msr;
    }
    default: return scr_;
    }
}

void Uart16550::writeRegister(unsigned reg, std::uint8_t v) {
    const bool dlab = lcr_ & 0x80;
    switch (reg) {
    case RbrThrDll:
        if (dlab) {
            divisor_ = static_cast<std::uint16_t>((divisor_ & 0xFF00) | v);
        } else {
            threPending_ = false;
            transmit(v);
            // The byte left at once: THR is empty again, which re-arms THRE.
            threPending_ = ier_ & kIerThre;
        }
        break;
    case IerDlm:
        if (dlab) {
            divisor_ = static_cast<std::uint16_t>((divisor_ & 0x00FF) | v << 8);
        } else {
            // Enabling ETBEI while THR is empty raises THRE even if it was acknowledged
            // before; Linux's 8250 startup test (UART_BUG_THRE) relies on this re-arm.
            const std::uint8_t newIer = v & 0x0F;
            if ((newIer & ~ier_) & kIerThre) threPending_ = true;
            if (!(newIer & kIerThre)) threPending_ = false;
            ier_ = newIer;
        }
        break;
    case IirFcr: writeFcr(v); break;
    case Lcr: lcr_ = v; break;
    case Mcr: writeMcr(v); break;
    case Scr: scr_ = v; break;
    default: break;  // LSR and MSR writes are factory-test only
    }
}

std::uint32_t Uart16550::ioRead(std::uint16_t port, unsigned size) {
    std::uint32_t r = 0;
    for (unsigned i = 0; i < size; ++i) {
        const unsigned reg = (port + i) & 7;
        r |= std::uint32_t{readRegister(reg)} << (8 * i);
    }
    updateIrq();
    return r;
}

void Uart16550::ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) {
    for (unsigned i = 0; i < size; ++i) writeRegister((port + i) & 7, static_cast<std::uint8_t>(value >> (8 * i)));
    updateIrq();
}

// --- time -----------------------------------------------------------------------------

std::uint64_t Uart16550::charTimeNs() const {
    // start bit + 5..8 data bits + optional parity + 1 or 2 (1.5 with 5 bits: round up) stop bits
    const unsigned bits = 1 + 5 + (lcr_ & 3) + ((lcr_ & 0x08) ? 1 : 0) + ((lcr_ & 0x04) ? 2 : 1);
    const std::uint64_t divisor = divisor_ ? divisor_ : 0x10000;  // divisor 0 acts as 65536
    return mulDivCeil(bits * divisor, 1'000'000'000, kBaseBaud);
}

void Uart16550::checkTimeout(std::uint64_t nowNs) {
    const std::uint64_t deadline = nextDeadlineNs();
    if (deadline != kNever && nowNs >= deadline) timeoutPending_ = true;
}

void Uart16550::advanceTo(std::uint64_t nowNs) {
    flush();
    checkTimeout(nowNs);
    updateIrq();
}

std::uint64_t Uart16550::nextDeadlineNs() const {
    // Character timeout: FIFO mode, data below the trigger level waiting (datasheet: "no
    // characters have been removed from or input to the RCVR FIFO during the last 4
    // character times and there is at least 1 character in it").
    if (!fifoEnabled() || rxCount_ == 0 || timeoutPending_) return kNever;
    return rxActivityNs_ + 4 * charTimeNs();
}

}  // namespace cxvm::hw
