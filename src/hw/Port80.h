#pragma once
// POST diagnostic port 0x80. Linux also writes it as an I/O delay (io_delay), so the
// optional callback sees every write: keep it cheap. Counts the writes, so the end of a
// run can say which code a firmware reached last and how many it wrote.
#include "hw/IoBus.h"

#include <cstdint>
#include <functional>

namespace cxvm::hw {

class Port80 final : public IoDevice {
public:
    using Observer = std::function<void(std::uint8_t code)>;
    static constexpr std::uint16_t kPort = 0x80;

    explicit Port80(Observer observer = {}) : observer_(std::move(observer)) {}
    void attach(IoBus& bus) { bus.attach(kPort, 1, *this); }
    void setObserver(Observer observer) { observer_ = std::move(observer); }

    // Reads return the last code written (as on boards with a POST latch).
    std::uint32_t ioRead(std::uint16_t, unsigned size) override {
        return size == 1 ? last_ : (size == 2 ? 0xFF00u : 0xFFFF'FF00u) | last_;
    }
    void ioWrite(std::uint16_t, unsigned, std::uint32_t value) override {
        last_ = static_cast<std::uint8_t>(value);  // a wider OUT latches its low byte
        ++writes_;
        if (observer_) observer_(last_);
    }
    [[nodiscard]] std::string_view name() const override { return "port80"; }
    [[nodiscard]] std::uint8_t lastCode() const { return last_; }
    [[nodiscard]] std::uint64_t writes() const { return writes_; }

private:
    Observer observer_;
    std::uint64_t writes_ = 0;
    std::uint8_t last_ = 0;
};

}  // namespace cxvm::hw
