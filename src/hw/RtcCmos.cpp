#include "hw/RtcCmos.h"

#include "hw/CivilTime.h"
#include "hw/MulDiv.h"

#include <algorithm>
#include <ctime>

namespace cxvm::hw {

namespace {
constexpr std::uint64_t kSecondNs = 1'000'000'000;
// UIP: tBUC (244 us) before the update plus the update cycle itself (1984 us at 32.768 kHz).
constexpr std::uint64_t kUipNs = 244'000 + 1'984'000;
constexpr std::uint64_t kCrystalHz = 32768;
// Register indices and bits (datasheet "Register A".."Register D").
enum : unsigned { RegSec = 0, RegSecAlarm = 1, RegMin = 2, RegMinAlarm = 3, RegHour = 4,
                  RegHourAlarm = 5, RegWeekday = 6, RegDay = 7, RegMonth = 8, RegYear = 9,
                  RegA = 0x0A, RegB = 0x0B, RegC = 0x0C, RegD = 0x0D };
constexpr std::uint8_t kAUip = 0x80;
constexpr std::uint8_t kBSet = 0x80, kBPie = 0x40, kBAie = 0x20, kBUie = 0x10, kBBinary = 0x04, kB24h = 0x02;
constexpr std::uint8_t kCIrqf = 0x80, kCPf = 0x40, kCAf = 0x20, kCUf = 0x10;
constexpr std::uint8_t kDVrt = 0x80;

bool dividerInReset(std::uint8_t regA) { return (regA & 0x60) == 0x60; }  // DV = 11x
}  // namespace

std::int64_t RtcCmos::hostUnixSeconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

RtcCmos::RtcCmos(const Clock& clock, IrqLine irq8, const Config& config) : clock_(clock), irq_(irq8) {
    cmos_[RegA] = 0x26;  // 32.768 kHz time base, 1024 Hz periodic rate (BIOS default)
    cmos_[RegB] = kB24h; // BCD, 24-hour
    cmos_[RegD] = kDVrt;
    baseUnix_ = config.startUnixSeconds;
    baseNs_ = static_cast<std::int64_t>(clock_.nowNs());
    dividerBaseNs_ = clock_.nowNs();

    // Memory size bytes as SeaBIOS reads them (QEMU hw/i386/pc.c pc_cmos_init):
    // 0x15/16 base memory KiB; 0x17/18 and 0x30/31 extended KiB above 1 MiB (max 65535);
    // 0x34/35 64 KiB blocks above 16 MiB (max 65535); 0x5b-5d 64 KiB blocks above 4 GiB.
    const std::uint64_t ram = config.ramBytes;
    auto put16 = [this](unsigned idx, std::uint64_t v) {
        v = std::min<std::uint64_t>(v, 0xFFFF);
        cmos_[idx] = static_cast<std::uint8_t>(v);
        cmos_[idx + 1] = static_cast<std::uint8_t>(v >> 8);
    };
    put16(0x15, 640);
    const std::uint64_t below4g = std::min<std::uint64_t>(ram, std::uint64_t{0xE000'0000});
    const std::uint64_t ext = below4g > (1u << 20) ? (below4g - (1u << 20)) / 1024 : 0;
    put16(0x17, ext);
    put16(0x30, ext);
    put16(0x34, below4g > (16u << 20) ? (below4g - (16u << 20)) / 65536 : 0);
    const std::uint64_t above4g = ram > below4g ? (ram - below4g) / 65536 : 0;
    cmos_[0x5B] = static_cast<std::uint8_t>(above4g);
    cmos_[0x5C] = static_cast<std::uint8_t>(above4g >> 8);
    cmos_[0x5D] = static_cast<std::uint8_t>(above4g >> 16);
    cmos_[0x5F] = static_cast<std::uint8_t>(config.cpus ? config.cpus - 1 : 0);
    storeTime(baseUnix_);
}

void RtcCmos::attach(IoBus& bus) { bus.attach(0x70, 2, *this); }

// --- time and format ------------------------------------------------------------------

bool RtcCmos::running() const { return !(cmos_[RegB] & kBSet) && !dividerInReset(cmos_[RegA]); }

std::uint64_t RtcCmos::updatesAt(std::uint64_t nowNs) const {
    const auto now = static_cast<std::int64_t>(nowNs);
    return now > baseNs_ ? static_cast<std::uint64_t>(now - baseNs_) / kSecondNs : 0;
}

std::int64_t RtcCmos::unixTime(std::uint64_t nowNs) const {
    return running() ? baseUnix_ + static_cast<std::int64_t>(updatesAt(nowNs)) : registersToUnix();
}

std::uint8_t RtcCmos::encode(unsigned v) const {
    v %= 100;
    return static_cast<std::uint8_t>((cmos_[RegB] & kBBinary) ? v : (v / 10) << 4 | v % 10);
}

unsigned RtcCmos::decode(std::uint8_t v) const {
    return (cmos_[RegB] & kBBinary) ? v : (v >> 4) * 10u + (v & 0xF);
}

std::uint8_t RtcCmos::encodeHour(unsigned hour24) const {
    if (cmos_[RegB] & kB24h) return encode(hour24);
    // 12-hour mode: 12, 1..11 with bit 7 = PM.
    const unsigned h12 = hour24 % 12 == 0 ? 12 : hour24 % 12;
    return static_cast<std::uint8_t>(encode(h12) | (hour24 >= 12 ? 0x80 : 0));
}

void RtcCmos::storeTime(std::int64_t unixSeconds) {
    const CivilTime t = civilFromUnix(unixSeconds);
    cmos_[RegSec] = encode(t.second);
    cmos_[RegMin] = encode(t.minute);
    cmos_[RegHour] = encodeHour(t.hour);
    cmos_[RegWeekday] = encode(t.weekday);
    cmos_[RegDay] = encode(t.day);
    cmos_[RegMonth] = encode(t.month);
    cmos_[RegYear] = encode(static_cast<unsigned>(t.year % 100));
    cmos_[kCenturyIndex] = encode(static_cast<unsigned>(t.year / 100));
}

std::int64_t RtcCmos::registersToUnix() const {
    CivilTime t;
    t.second = std::min(decode(cmos_[RegSec]), 59u);
    t.minute = std::min(decode(cmos_[RegMin]), 59u);
    const std::uint8_t h = cmos_[RegHour];
    if (cmos_[RegB] & kB24h) {
        t.hour = std::min(decode(h), 23u);
    } else {
        const unsigned h12 = std::min(decode(h & 0x7F), 12u);
        t.hour = h12 % 12 + ((h & 0x80) ? 12 : 0);
    }
    t.day = std::clamp(decode(cmos_[RegDay]), 1u, 31u);
    t.month = std::clamp(decode(cmos_[RegMonth]), 1u, 12u);
    unsigned century = decode(cmos_[kCenturyIndex]);
    if (century < 19 || century > 99) century = 20;
    t.year = static_cast<int>(century * 100 + std::min(decode(cmos_[RegYear]), 99u));
    return unixFromCivil(t);
}

// --- interrupts -----------------------------------------------------------------------

std::uint64_t RtcCmos::periodCycles() const {
    // Rate select RS3..0 at 32.768 kHz (datasheet table 5): 1 and 2 alias 8 and 9.
    const unsigned rs = cmos_[RegA] & 0x0F;
    if (rs == 0) return 0;
    if (rs <= 2) return std::uint64_t{1} << (rs + 6);
    return std::uint64_t{1} << (rs - 1);
}

std::uint64_t RtcCmos::periodsAt(std::uint64_t nowNs) const {
    const std::uint64_t cycles = periodCycles();
    if (!cycles || dividerInReset(cmos_[RegA]) || nowNs < dividerBaseNs_) return 0;
    return mulDiv(nowNs - dividerBaseNs_, kCrystalHz, kSecondNs) / cycles;
}

void RtcCmos::catchUp(std::uint64_t nowNs) {
    const std::uint64_t periods = periodsAt(nowNs);
    if (periods > periodsDone_) flags_ |= kCPf;
    periodsDone_ = periods;
    if (!running()) return;
    const std::uint64_t updates = updatesAt(nowNs);
    if (updates <= updatesDone_) return;
    flags_ |= kCUf;
    // Alarm: compare each new second with the alarm registers; 0xC0-0xFF is "don't care".
    // A day of seconds covers every pattern, so longer gaps need not be walked.
    if (!(flags_ & kCAf)) {
        const std::uint64_t first = std::max(updatesDone_ + 1, updates > 86400 ? updates - 86400 : 0);
        auto matches = [](std::uint8_t alarm, std::uint8_t value) { return (alarm & 0xC0) == 0xC0 || alarm == value; };
        for (std::uint64_t u = first; u <= updates; ++u) {
            const CivilTime t = civilFromUnix(baseUnix_ + static_cast<std::int64_t>(u));
            if (matches(cmos_[RegSecAlarm], encode(t.second)) && matches(cmos_[RegMinAlarm], encode(t.minute)) &&
                matches(cmos_[RegHourAlarm], encodeHour(t.hour))) {
                flags_ |= kCAf;
                break;
            }
        }
    }
    updatesDone_ = updates;
}

void RtcCmos::updateIrq() {
    const std::uint8_t enabled = cmos_[RegB] & (kBPie | kBAie | kBUie);  // same bit positions as PF/AF/UF
    const bool level = (flags_ & enabled) != 0;
    if (level != irqLevel_) {
        irqLevel_ = level;
        irq_.set(level);
    }
}

void RtcCmos::advanceTo(std::uint64_t nowNs) {
    catchUp(nowNs);
    updateIrq();
}

std::uint64_t RtcCmos::nextDeadlineNs() const {
    // Only enabled interrupts need a wake-up; flags alone are caught up when read. While
    // IRQ8 is asserted nothing new can happen until register C is read.
    if (irqLevel_) return kNever;
    std::uint64_t next = kNever;
    const std::uint8_t b = cmos_[RegB];
    if ((b & kBPie) && periodCycles() && !dividerInReset(cmos_[RegA])) {
        const std::uint64_t cycles = (periodsDone_ + 1) * periodCycles();
        next = dividerBaseNs_ + mulDivCeil(cycles, kSecondNs, kCrystalHz);
    }
    if ((b & (kBAie | kBUie)) && running()) {
        const auto boundary = baseNs_ + static_cast<std::int64_t>((updatesDone_ + 1) * kSecondNs);
        if (boundary > 0) next = std::min(next, static_cast<std::uint64_t>(boundary));
    }
    return next;
}

// --- ports ----------------------------------------------------------------------------

std::uint8_t RtcCmos::readData(unsigned index) {
    const std::uint64_t now = clock_.nowNs();
    switch (index) {
    case RegA: {
        std::uint8_t a = cmos_[RegA] & 0x7F;
        if (running()) {
            const auto intoSecond = static_cast<std::uint64_t>(static_cast<std::int64_t>(now) - baseNs_) % kSecondNs;
            if (intoSecond >= kSecondNs - kUipNs) a |= kAUip;
        }
        return a;
    }
    case RegC: {
        catchUp(now);
        const std::uint8_t enabled = cmos_[RegB] & (kBPie | kBAie | kBUie);
        const std::uint8_t c = static_cast<std::uint8_t>(flags_ | ((flags_ & enabled) ? kCIrqf : 0));
        flags_ = 0;  // reading C clears every flag and releases IRQ8
        updateIrq();
        return c;
    }
    case RegD: return kDVrt;
    default:
        if (index <= RegYear && index != RegSecAlarm && index != RegMinAlarm && index != RegHourAlarm && running())
            storeTime(unixTime(now));
        return cmos_[index];
    }
}

void RtcCmos::writeData(unsigned index, std::uint8_t v) {
    const std::uint64_t now = clock_.nowNs();
    catchUp(now);
    switch (index) {
    case RegA: {
        const bool wasReset = dividerInReset(cmos_[RegA]);
        const bool wasRunning = running();
        if (wasRunning) storeTime(unixTime(now));
        cmos_[RegA] = v & 0x7F;  // UIP is read-only
        if (wasReset && !dividerInReset(cmos_[RegA])) {
            // Leaving divider reset: the first update comes half a second later.
            dividerBaseNs_ = now;
            baseNs_ = static_cast<std::int64_t>(now) - static_cast<std::int64_t>(kSecondNs / 2);
            baseUnix_ = registersToUnix();
            updatesDone_ = 0;
        } else if (!wasRunning && running()) {
            baseNs_ = static_cast<std::int64_t>(now);
            baseUnix_ = registersToUnix();
            updatesDone_ = 0;
        }
        periodsDone_ = periodsAt(now);  // a new rate starts a new period count
        break;
    }
    case RegB: {
        const bool wasRunning = running();
        if (wasRunning) storeTime(unixTime(now));
        if (v & kBSet) v &= ~kBUie;  // SET clears UIE (datasheet register B bit 4)
        // DM and 24/12 apply to what is stored from now on: keep the stored time intact.
        const std::int64_t t = registersToUnix();
        cmos_[RegB] = v;
        storeTime(t);
        if (!wasRunning && running()) {
            // SET cleared: the clock runs from the registers, next update one second later.
            baseNs_ = static_cast<std::int64_t>(now);
            baseUnix_ = t;
            updatesDone_ = 0;
        }
        break;
    }
    case RegC:
    case RegD: break;  // read-only
    default:
        if (index <= RegYear && index != RegSecAlarm && index != RegMinAlarm && index != RegHourAlarm) {
            // Setting the time: while running, the clock continues from the new value.
            if (running()) storeTime(unixTime(now));
            cmos_[index] = v;
            if (running()) baseUnix_ = registersToUnix() - static_cast<std::int64_t>(updatesAt(now));
        } else {
            cmos_[index] = v;
        }
        break;
    }
    updateIrq();
}

std::uint32_t RtcCmos::ioRead(std::uint16_t port, unsigned size) {
    std::uint32_t r = 0;
    for (unsigned i = 0; i < size; ++i) {
        // 0x70 is write-only and floats on reads.
        const std::uint8_t b = (port + i == 0x71) ? readData(index_) : 0xFF;
        r |= std::uint32_t{b} << (8 * i);
    }
    return r;
}

void RtcCmos::ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) {
    for (unsigned i = 0; i < size; ++i) {
        const auto b = static_cast<std::uint8_t>(value >> (8 * i));
        if (port + i == 0x70) {
            index_ = b & 0x7F;
            nmiMasked_ = b & 0x80;
        } else if (port + i == 0x71) {
            writeData(index_, b);
        }
    }
}

}  // namespace cxvm::hw
