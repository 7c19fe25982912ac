#include "hw/Pit8254.h"

#include "hw/MulDiv.h"
#include "util/Log.h"

namespace cxvm::hw {

namespace {
constexpr std::uint64_t kNeverTick = ~std::uint64_t{0};
// The PC's PIT input clock is 14.31818 MHz / 12 = 105/88 MHz (about 1.193182 MHz).
constexpr std::uint64_t kTickNum = 105, kTickDen = 88'000;  // ticks per ns
// Port 0x61 bit 4 toggles with every DRAM refresh request, every 15.085 us.
constexpr std::uint64_t kRefreshNs = 15'085;

std::uint16_t toBcd(std::uint32_t v) {
    v %= 10000;
    return static_cast<std::uint16_t>((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}
std::uint32_t fromBcd(std::uint16_t v) {
    return (v >> 12 & 0xF) * 1000u + (v >> 8 & 0xF) * 100u + (v >> 4 & 0xF) * 10u + (v & 0xF);
}
}  // namespace

std::uint64_t Pit8254::ticksAt(std::uint64_t ns) { return mulDiv(ns, kTickNum, kTickDen); }
std::uint64_t Pit8254::nsAtTick(std::uint64_t ticks) { return mulDivCeil(ticks, kTickDen, kTickNum); }

// --- one channel ----------------------------------------------------------------------

std::uint64_t Pit8254::Channel::elapsed(std::uint64_t nowNs) const {
    const std::uint64_t t = ticksAt(nowNs);
    return elapsedBase + (running && t > startTick ? t - startTick : 0);
}

void Pit8254::Channel::startCounting(std::uint64_t nowNs) {
    triggered = true;
    elapsedBase = 0;
    startTick = ticksAt(nowNs);
    // Modes 1 and 5 are started by the gate itself; the others count only while it is high.
    running = gate || mode == 1 || mode == 5;
}

std::uint16_t Pit8254::Channel::count(std::uint64_t nowNs) const {
    if (!triggered) return static_cast<std::uint16_t>(reload);
    const std::uint64_t d = elapsed(nowNs);
    const std::uint64_t n = reload;
    const std::uint64_t wrap = bcd ? 10000 : 0x10000;
    switch (mode) {
    case 2: return static_cast<std::uint16_t>(n - d % n);
    case 3: {
        // Decrements by two; OUT high for the first ceil(N/2) clocks, low for the rest.
        const std::uint64_t phase = d % n, high = (n + 1) / 2;
        const std::uint64_t c = phase < high ? n - 2 * phase : n - 2 * (phase - high);
        return static_cast<std::uint16_t>(c & ~std::uint64_t{1});
    }
    default:  // 0, 1, 4, 5: counts down and wraps through 0 to the top
        return static_cast<std::uint16_t>((n + wrap - d % wrap) % wrap);
    }
}

bool Pit8254::Channel::out(std::uint64_t nowNs) const {
    if (!triggered) return mode != 0;  // after the control word: low in mode 0, else high
    const std::uint64_t d = elapsed(nowNs);
    const std::uint64_t n = reload;
    switch (mode) {
    case 0: return d >= n;                     // interrupt on terminal count
    case 1: return d >= n;                     // one-shot: low from trigger to terminal count
    case 2: return !gate || d % n != n - 1;    // low for the one clock with count == 1
    case 3: return !gate || d % n < (n + 1) / 2;
    default: return d != n;                    // 4, 5: one-clock low strobe at count 0
    }
}

std::uint64_t Pit8254::Channel::nextRisingEdgeTick(std::uint64_t nowNs) const {
    if (!triggered || !running) return kNeverTick;
    const std::uint64_t d = elapsed(nowNs);
    const std::uint64_t n = reload;
    std::uint64_t edge;
    switch (mode) {
    case 0:
    case 1: edge = n; break;
    case 2:
    case 3: edge = (d / n + 1) * n; break;
    default: edge = n + 1; break;
    }
    if (edge <= d) return kNeverTick;
    return ticksAt(nowNs) + (edge - d);
}

std::uint8_t Pit8254::Channel::status(std::uint64_t nowNs) const {
    // Read-back status byte: OUT, NULL COUNT, RW, M2..M0, BCD (datasheet "Read-Back Command").
    const bool nullCount = !loaded || ((mode == 1 || mode == 5) && !triggered);
    return static_cast<std::uint8_t>((out(nowNs) ? 0x80 : 0) | (nullCount ? 0x40 : 0) |
                                     static_cast<unsigned>(access) << 4 | mode << 1 | (bcd ? 1 : 0));
}

void Pit8254::Channel::setGate(bool level, std::uint64_t nowNs) {
    if (level == gate) return;
    const std::uint64_t d = elapsed(nowNs);
    gate = level;
    switch (mode) {
    case 1:
    case 5:  // a rising edge (re)triggers; the gate level does not matter afterwards
        if (level && loaded) startCounting(nowNs);
        break;
    case 2:
    case 3:  // low stops counting (OUT high); the rising edge reloads
        if (level && loaded) startCounting(nowNs);
        else { elapsedBase = d; running = false; }
        break;
    default:  // 0, 4: the gate pauses and resumes counting
        elapsedBase = d;
        startTick = ticksAt(nowNs);
        running = level && triggered;
        break;
    }
}

// --- ports ----------------------------------------------------------------------------

Pit8254::Pit8254(const Clock& clock, IrqLine irq0) : clock_(clock), irq0_(irq0) {
    channels_[2].gate = false;  // port 0x61 bit 0 resets to 0
}

void Pit8254::attach(IoBus& bus) {
    bus.attach(0x40, 4, *this);
    bus.attach(0x61, 1, *this);
}

void Pit8254::latchCount(Channel& c) {
    if (c.countLatched) return;  // the datasheet ignores further latches until read
    c.latchedCount = c.count(clock_.nowNs());
    c.countLatched = true;
    c.latchMsbNext = false;
}

void Pit8254::writeControl(std::uint8_t v) {
    const unsigned sel = v >> 6;
    if (sel == 3) {
        // Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status; bits 1..3 pick 0..2.
        for (unsigned ch = 0; ch < 3; ++ch) {
            if (!(v >> (ch + 1) & 1)) continue;
            Channel& c = channels_[ch];
            if (!(v & 0x20)) latchCount(c);
            if (!(v & 0x10) && !c.statusLatched) {
                c.latchedStatus = c.status(clock_.nowNs());
                c.statusLatched = true;
            }
        }
        return;
    }
    Channel& c = channels_[sel];
    const auto access = static_cast<Access>(v >> 4 & 3);
    if (access == Access::Latch) {
        latchCount(c);
        return;
    }
    if (sel == 0) advanceTo(clock_.nowNs());
    unsigned mode = v >> 1 & 7;
    if (mode > 5) mode -= 4;  // 6 and 7 are aliases of 2 and 3
    c.mode = mode;
    c.access = access;
    c.bcd = v & 1;
    c.triggered = c.running = c.loaded = false;
    c.writeMsbNext = c.readMsbNext = false;
    c.countLatched = c.statusLatched = false;
    if (sel == 0) advanceTo(clock_.nowNs());
}

void Pit8254::writeCounter(unsigned ch, std::uint8_t v) {
    Channel& c = channels_[ch];
    const std::uint64_t now = clock_.nowNs();
    if (ch == 0) advanceTo(now);
    std::uint16_t raw;
    switch (c.access) {
    case Access::Lsb: raw = v; break;
    case Access::Msb: raw = static_cast<std::uint16_t>(v << 8); break;
    default:
        if (!c.writeMsbNext) {
            c.writeLsb = v;
            c.writeMsbNext = true;
            // Mode 0: writing the first byte stops the count (and OUT stays low).
            if (c.mode == 0) c.triggered = c.running = false;
            return;
        }
        c.writeMsbNext = false;
        raw = static_cast<std::uint16_t>(c.writeLsb | v << 8);
        break;
    }
    std::uint32_t n = c.bcd ? fromBcd(raw) : raw;
    if (n == 0) n = c.bcd ? 10000 : 0x10000;  // 0 is the largest count
    if ((c.mode == 2 || c.mode == 3) && n == 1) {
        log::debug("pit8254: channel {} count 1 is illegal in mode {}; using 2", ch, c.mode);
        n = 2;
    }
    c.reload = n;
    c.loaded = true;
    // A new count (re)starts modes 0, 2, 3 and 4 right away (modes 2 and 3 would wait for
    // the end of the period on real parts; Linux always writes the control word first).
    // Modes 1 and 5 wait for a gate trigger.
    if (c.mode != 1 && c.mode != 5) c.startCounting(now);
    if (ch == 0) advanceTo(now);
}

std::uint8_t Pit8254::readCounter(unsigned ch) {
    Channel& c = channels_[ch];
    if (c.statusLatched) {
        c.statusLatched = false;
        return c.latchedStatus;
    }
    std::uint16_t value = c.countLatched ? c.latchedCount : c.count(clock_.nowNs());
    if (c.bcd) value = toBcd(value);
    bool msb;
    switch (c.access) {
    case Access::Msb: msb = true; break;
    case Access::Lsb: msb = false; break;
    default:
        msb = c.readMsbNext;
        c.readMsbNext = !c.readMsbNext;
        break;
    }
    // A latch holds until it has been read completely.
    if (c.countLatched && (c.access != Access::LsbMsb || msb)) c.countLatched = false;
    return static_cast<std::uint8_t>(msb ? value >> 8 : value);
}

std::uint8_t Pit8254::readPortB() const {
    const std::uint64_t now = clock_.nowNs();
    return static_cast<std::uint8_t>((portB_ & 0x0F) | ((now / kRefreshNs) & 1) << 4 |
                                     (channels_[2].out(now) ? 0x20 : 0));
}

void Pit8254::writePortB(std::uint8_t v) {
    portB_ = v & 0x0F;
    channels_[2].setGate(v & 1, clock_.nowNs());
}

std::uint32_t Pit8254::ioRead(std::uint16_t port, unsigned size) {
    std::uint32_t r = 0;
    for (unsigned i = 0; i < size; ++i) {
        const unsigned p = port + i;
        std::uint8_t b = 0xFF;
        if (p >= 0x40 && p <= 0x42) b = readCounter(p - 0x40);
        else if (p == 0x61) b = readPortB();
        // 0x43 (control word) is write-only; reads float.
        r |= std::uint32_t{b} << (8 * i);
    }
    return r;
}

void Pit8254::ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) {
    for (unsigned i = 0; i < size; ++i) {
        const unsigned p = port + i;
        const auto b = static_cast<std::uint8_t>(value >> (8 * i));
        if (p >= 0x40 && p <= 0x42) writeCounter(p - 0x40, b);
        else if (p == 0x43) writeControl(b);
        else if (p == 0x61) writePortB(b);
    }
}

// --- time -----------------------------------------------------------------------------

void Pit8254::advanceTo(std::uint64_t nowNs) {
    if (nowNs < lastAdvanceNs_) nowNs = lastAdvanceNs_;
    const Channel& c = channels_[0];
    const bool edge = c.nextRisingEdgeTick(lastAdvanceNs_) <= ticksAt(nowNs);
    const bool level = c.out(nowNs);
    // The PIC latches IRQ0 on a rising edge; edges that fell between two advances
    // (the line went low and high again) are coalesced into one, like a late tick.
    if (edge) {
        if (irq0Level_) irq0_.lower();
        irq0_.raise();
        irq0Level_ = true;
    }
    if (level != irq0Level_) {
        irq0_.set(level);
        irq0Level_ = level;
    }
    lastAdvanceNs_ = nowNs;
}

std::uint64_t Pit8254::nextDeadlineNs() const {
    const std::uint64_t tick = channels_[0].nextRisingEdgeTick(lastAdvanceNs_);
    return tick == kNeverTick ? kNever : nsAtTick(tick);
}

}  // namespace cxvm::hw
