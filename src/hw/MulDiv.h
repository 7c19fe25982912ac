#pragma once
// a * b / c without intermediate overflow (time-base conversions: ns <-> PIT ticks, TSC).
#include <cstdint>

namespace cxvm::hw {

__extension__ using Uint128 = unsigned __int128;

[[nodiscard]] constexpr std::uint64_t mulDiv(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    return static_cast<std::uint64_t>(static_cast<Uint128>(a) * b / c);
}
// Rounded up: the first instant at which a tick count has been reached.
[[nodiscard]] constexpr std::uint64_t mulDivCeil(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    return static_cast<std::uint64_t>((static_cast<Uint128>(a) * b + c - 1) / c);
}

}  // namespace cxvm::hw
