#include "boot/E820Map.h"

#include "util/Error.h"

namespace cxvm::boot {

std::vector<E820Entry> pcE820Map(std::uint64_t ramBytes) {
    if (ramBytes <= kHighRamStart)
        throw Error::format("guest RAM of {} KiB is too small for a PC: at least 1 MiB of "
                            "RAM above the 640 KiB..1 MiB hole is needed",
                            ramBytes / 1024);
    return {
        {0, kLowRamEnd, E820Type::Ram},
        {kLowRamEnd, kHighRamStart - kLowRamEnd, E820Type::Reserved},
        {kHighRamStart, ramBytes - kHighRamStart, E820Type::Ram},
    };
}

}  // namespace cxvm::boot
