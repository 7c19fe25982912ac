#include "hw/CivilTime.h"

namespace cxvm::hw {

namespace {
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
}  // namespace

CivilTime civilFromUnix(std::int64_t seconds) {
    std::int64_t days = seconds / 86400, rem = seconds % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    CivilTime t;
    t.hour = static_cast<unsigned>(rem / 3600);
    t.minute = static_cast<unsigned>(rem / 60 % 60);
    t.second = static_cast<unsigned>(rem % 60);
    t.weekday = static_cast<unsigned>(((days % 7) + 7 + 4) % 7) + 1;  // 1970-01-01 was a Thursday
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    t.day = doy - (153 * mp + 2) / 5 + 1;
    t.month = mp < 10 ? mp + 3 : mp - 9;
    t.year = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (t.month <= 2));
    return t;
}

std::int64_t unixFromCivil(const CivilTime& t) {
    const unsigned m0 = t.month == 0 ? 0 : t.month - 1;
    const std::int64_t y = t.year + m0 / 12;
    const unsigned m = m0 % 12 + 1;
    return daysFromCivil(y, m, 1) * 86400 + (static_cast<std::int64_t>(t.day) - 1) * 86400 +
           std::int64_t{t.hour} * 3600 + std::int64_t{t.minute} * 60 + t.second;
}

}  // namespace cxvm::hw
