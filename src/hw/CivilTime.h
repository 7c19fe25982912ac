#pragma once
// Unix seconds <-> calendar fields (proleptic Gregorian, UTC) without the C library's
// time zone state. Algorithms: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms".
#include <cstdint>

namespace cxvm::hw {

struct CivilTime {
    int year = 1970;
    unsigned month = 1, day = 1;  // 1..12, 1..31
    unsigned hour = 0, minute = 0, second = 0;
    unsigned weekday = 5;  // 1 = Sunday .. 7 = Saturday (MC146818 register 6)
};

[[nodiscard]] CivilTime civilFromUnix(std::int64_t seconds);
// Fields out of range are carried arithmetically (month 13 = January of the next year).
[[nodiscard]] std::int64_t unixFromCivil(const CivilTime& t);

}  // namespace cxvm::hw
