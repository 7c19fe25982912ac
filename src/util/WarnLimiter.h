#pragma once
// Rate-limited warnings for guest-caused errors: a guest that makes bad hypercalls in a
// loop must not flood the host's log (or spend host time formatting lines nobody
// reads). Used by the cross-VM connectors and the virtio devices. A token bucket: up
// to kBurst lines at once, then one per kRefill; the first line after a suppressed
// spell says how many were dropped. Suppressed calls format nothing and allocate
// nothing. Not thread-safe: one limiter per thread (the VM thread, an I/O thread).
#include "util/Log.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace cxvm {

class WarnLimiter {
public:
    static constexpr unsigned kBurst = 20;
    static constexpr std::chrono::milliseconds kRefill{1000};

    template <typename... A>
    void warn(fmt::format_string<A...> f, A&&... a) {
        warnWith([&] { return fmt::format(f, std::forward<A>(a)...); });
    }
    // `makeLine()` -> std::string runs only when the line is let through.
    template <typename F>
    void warnWith(F&& makeLine) {
        if (!admit()) {
            ++suppressed_;
            ++suppressedTotal_;
            return;
        }
        ++logged_;
        if (log::level() < log::Level::Warn) return;
        std::string line = makeLine();
        if (suppressed_)
            line += fmt::format(" ({} similar line(s) suppressed before this one)",
                                std::exchange(suppressed_, 0));
        log::write(log::Level::Warn, line);
    }

    [[nodiscard]] std::uint64_t logged() const { return logged_; }
    [[nodiscard]] std::uint64_t suppressed() const { return suppressedTotal_; }

private:
    bool admit() {
        const auto now = std::chrono::steady_clock::now();
        if (tokens_ < kBurst) {
            const auto refills = (now - lastRefill_) / kRefill;
            if (refills > 0) {
                tokens_ = static_cast<unsigned>(
                    std::min<std::int64_t>(kBurst, tokens_ + static_cast<std::int64_t>(refills)));
                lastRefill_ = now;
            }
        } else {
            lastRefill_ = now;
        }
        if (tokens_ == 0) return false;
        --tokens_;
        return true;
    }

    unsigned tokens_ = kBurst;
    std::chrono::steady_clock::time_point lastRefill_ = std::chrono::steady_clock::now();
    std::uint64_t suppressed_ = 0, suppressedTotal_ = 0, logged_ = 0;
};

}  // namespace cxvm
