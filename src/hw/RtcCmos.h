#pragma once
// Motorola MC146818A real-time clock with 128 bytes of CMOS RAM (datasheet: MC146818A,
// Motorola) at ports 0x70 (index; bit 7 masks NMI) and 0x71 (data), IRQ8.
//
// Time: the wall-clock time given at construction (the host's, or a fixed one for
// --deterministic), then advancing with the device Clock. Registers 0-9 are computed
// from that time when read, in the format register B selects (BCD/binary, 12/24 h).
// The update cycle is instantaneous at each second boundary; UIP reads 1 during the
// 244 us before it plus the 1984 us the update takes on a 32.768 kHz part (so the time
// registers change at the end of the UIP window, as software that waits for UIP=0
// expects). Periodic, alarm and update-ended interrupts set PF/AF/UF in register C
// and drive IRQ8 through IRQF; reading register C clears them and releases IRQ8.
//
// CMOS memory sizes are set like SeaBIOS/QEMU do (0x15-0x18, 0x30-0x31, 0x34-0x35,
// 0x5b-0x5d), the century at 0x32 and the CPU count - 1 at 0x5f.
#include "hw/Clock.h"
#include "hw/Irq.h"
#include "hw/IoBus.h"

#include <array>
#include <cstdint>

namespace cxvm::hw {

class RtcCmos final : public IoDevice, public TimedDevice {
public:
    struct Config {
        std::int64_t startUnixSeconds = 0;  // wall time at clock 0; hostUnixSeconds() for real time
        std::uint64_t ramBytes = 0;         // guest RAM, for the CMOS memory size bytes
        unsigned cpus = 1;
    };
    static constexpr unsigned kIrq = 8;
    static constexpr unsigned kCenturyIndex = 0x32;
    // The host's current wall-clock time (UTC).
    [[nodiscard]] static std::int64_t hostUnixSeconds();

    RtcCmos(const Clock& clock, IrqLine irq8, const Config& config);
    // Claims 0x70-0x71.
    void attach(IoBus& bus);

    std::uint32_t ioRead(std::uint16_t port, unsigned size) override;
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override;
    [[nodiscard]] std::string_view name() const override { return "rtc-cmos"; }

    void advanceTo(std::uint64_t nowNs) override;
    [[nodiscard]] std::uint64_t nextDeadlineNs() const override;

    [[nodiscard]] bool nmiMasked() const { return nmiMasked_; }
    // Raw CMOS byte (the VMM's firmware tables, tests). Time registers read as stored.
    [[nodiscard]] std::uint8_t cmos(unsigned index) const { return cmos_[index & 0x7F]; }
    // The RTC's current time in Unix seconds (as the guest would read it).
    [[nodiscard]] std::int64_t unixTime(std::uint64_t nowNs) const;

private:
    std::uint8_t readData(unsigned index);
    void writeData(unsigned index, std::uint8_t v);
    [[nodiscard]] bool running() const;
    // Stores the time at `nowNs` into registers 0,2,4,6-9 and the century byte.
    void storeTime(std::int64_t unixSeconds);
    [[nodiscard]] std::int64_t registersToUnix() const;
    [[nodiscard]] std::uint8_t encode(unsigned v) const;
    [[nodiscard]] unsigned decode(std::uint8_t v) const;
    [[nodiscard]] std::uint8_t encodeHour(unsigned hour24) const;
    // Raises PF/AF/UF for everything due up to `nowNs`.
    void catchUp(std::uint64_t nowNs);
    [[nodiscard]] std::uint64_t periodCycles() const;  // 32.768 kHz cycles, 0 = off
    [[nodiscard]] std::uint64_t periodsAt(std::uint64_t nowNs) const;
    [[nodiscard]] std::uint64_t updatesAt(std::uint64_t nowNs) const;
    void updateIrq();

    const Clock& clock_;
    IrqLine irq_;
    std::array<std::uint8_t, 128> cmos_{};
    unsigned index_ = 0;
    bool nmiMasked_ = false;

    // Time base: the second `baseUnix_` ends (update cycle) at baseNs_ + 1 s.
    std::int64_t baseUnix_ = 0;
    std::int64_t baseNs_ = 0;
    std::uint64_t updatesDone_ = 0;      // update cycles already accounted since baseNs_
    std::uint64_t dividerBaseNs_ = 0;    // periodic interrupts count from here
    std::uint64_t periodsDone_ = 0;
    std::uint8_t flags_ = 0;             // register C bits 6..4 (PF, AF, UF)
    bool irqLevel_ = false;
};

}  // namespace cxvm::hw
