#pragma once
// Putting a guest into a fresh Vm: a Linux direct boot from kernel + initrd files, or a
// firmware ROM started from the reset vector.
#include <filesystem>
#include <string>

namespace cxvm::vmm {

class Vm;

struct GuestBootSpec {
    std::filesystem::path kernel;    // bzImage (direct boot) ...
    std::filesystem::path initrd;    // ... with this initrd (optional)
    std::string cmdline;
    // Decompress the bzImage's kernel on the host and start the guest in it (default);
    // false: the kernel's own decompressor runs in the guest (`--no-unpack-kernel`).
    bool unpackKernel = true;
    std::filesystem::path firmware;  // or: a ROM image run from the reset vector
};

// Throws cxvm::Error naming the file and what is wrong with it.
void bootGuest(Vm& vm, const GuestBootSpec& spec);

}  // namespace cxvm::vmm
