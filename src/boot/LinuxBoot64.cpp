#include "boot/LinuxBoot64.h"

#include "util/Error.h"

#include <array>
#include <vector>

namespace cxvm::boot {
namespace {

// Page-table entry bits (SDM Vol. 3A 4.5, Tables 4-15..4-18).
constexpr std::uint64_t kPresent = 1u << 0;
constexpr std::uint64_t kWritable = 1u << 1;
constexpr std::uint64_t kLargePage = 1u << 7;  // PS in a PDE: 2 MiB page
constexpr std::uint64_t kTwoMiB = 2ull << 20;
constexpr std::uint64_t kOneGiB = 1ull << 30;

// Descriptors (SDM Vol. 3A 3.4.5): 64-bit code has L=1, D=0; data stays flat 4 GiB.
constexpr std::uint64_t kCode64 = 0x00AF9B000000FFFFull;
constexpr std::uint64_t kData = 0x00CF93000000FFFFull;

// Control bits (SDM Vol. 3A 2.5, 2.2.1).
constexpr std::uint64_t kCr0Pe = 1u << 0, kCr0Et = 1u << 4, kCr0Pg = 1ull << 31;
constexpr std::uint64_t kCr4Pae = 1u << 5;
constexpr std::uint64_t kEferLme = 1u << 8, kEferLma = 1u << 10;

void put64(std::vector<std::uint8_t>& buf, std::size_t index, std::uint64_t v) {
    for (std::size_t i = 0; i < 8; ++i) buf[index * 8 + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

engine::Segment segment64(std::uint16_t selector, std::uint8_t type, bool code) {
    engine::Segment s;
    s.limit = 0xFFFFFFFF;
    s.selector = selector;
    s.type = type;
    s.present = 1;
    s.s = 1;
    s.g = 1;
    s.l = code ? 1 : 0;
    s.db = code ? 0 : 1;
    return s;
}

}  // namespace

void writeLongModeTables(hw::GuestMemory& memory) {
    constexpr std::size_t kGib = LongModeLayout::kIdentityMapped / kOneGiB;
    std::vector<std::uint8_t> page(4096);
    put64(page, 0, LongModeLayout::kPdptAddr | kPresent | kWritable);
    memory.write(LongModeLayout::kPml4Addr, page);
    std::fill(page.begin(), page.end(), 0);
    for (std::size_t g = 0; g < kGib; ++g)
        put64(page, g, (LongModeLayout::kPdAddr + g * 4096) | kPresent | kWritable);
    memory.write(LongModeLayout::kPdptAddr, page);
    for (std::size_t g = 0; g < kGib; ++g) {
        for (std::size_t e = 0; e < 512; ++e)
            put64(page, e, (g * kOneGiB + e * kTwoMiB) | kPresent | kWritable | kLargePage);
        memory.write(LongModeLayout::kPdAddr + g * 4096, page);
    }
    std::vector<std::uint8_t> gdt(4 * 8, 0);
    put64(gdt, LinuxBootLayout::kBootCs / 8, kCode64);
    put64(gdt, LinuxBootLayout::kBootDs / 8, kData);
    memory.write(LinuxBootLayout::kGdtAddr, gdt);
}

void setLongModeEntryState(engine::Vcpu& vcpu, std::uint64_t rip, std::uint64_t rsi) {
    engine::Sregs s = vcpu.sregs();
    s.cs = segment64(LinuxBootLayout::kBootCs, 0xB, true);
    s.ds = s.es = s.fs = s.gs = s.ss = segment64(LinuxBootLayout::kBootDs, 0x3, false);
    s.tr = {};
    s.tr.type = 0xB;  // busy 64-bit TSS: what VM entry checks in long mode
    s.tr.present = 1;
    s.tr.limit = 0x67;
    s.ldt = {};
    s.ldt.type = 0x2;
    s.ldt.present = 1;
    s.ldt.limit = 0xFFFF;
    s.ldt.unusable = 1;
    s.gdt = {LinuxBootLayout::kGdtAddr, 4 * 8 - 1};
    s.idt = {0, 0};
    s.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
    s.cr3 = LongModeLayout::kPml4Addr;
    s.cr4 = kCr4Pae;
    s.efer = kEferLme | kEferLma;
    vcpu.setSregs(s);
    engine::Regs r{};
    r.rip = rip;
    r.rsi = rsi;
    r.rflags = 0x2;
    vcpu.setRegs(r);
}

namespace {
std::uint16_t xloadflags(const hw::GuestMemory& memory, const LinuxBootLayout& layout) {
    std::array<std::uint8_t, 2> xlf{};
    memory.read(layout.bootParamsAddr + LongModeLayout::kXloadflags, xlf);
    return static_cast<std::uint16_t>(xlf[0] | (xlf[1] << 8));
}
}  // namespace

bool hasLinux64Entry(const hw::GuestMemory& memory, const LinuxBootLayout& layout) {
    return layout.protocol >= 0x020C && (xloadflags(memory, layout) & LongModeLayout::kXlfKernel64);
}

void setLinux64EntryState(hw::GuestMemory& memory, engine::Vcpu& vcpu, const LinuxBootLayout& layout) {
    if (!hasLinux64Entry(memory, layout))
        throw Error::format("kernel at {:#x} has no 64-bit entry point (boot protocol {:x}.{:02x}, "
                            "xloadflags {:#x}: XLF_KERNEL_64 needs protocol 2.12+)",
                            layout.kernelAddr, layout.protocol >> 8, layout.protocol & 0xFF,
                            xloadflags(memory, layout));
    // startup_64 is the bzImage's (its decompressor's) 64-bit entry; 64-bit kernels are
    // never unpacked on the host (boot/UnpackedKernel.h).
    if (layout.kernelLoad.unpacked)
        throw Error("an unpacked kernel has no bzImage startup_64: boot it with host "
                    "unpacking off");
    if (layout.kernelEnd > LongModeLayout::kIdentityMapped)
        throw Error::format("kernel [{:#x}, {:#x}) lies beyond the 4 GiB identity map", layout.kernelAddr,
                            layout.kernelEnd);
    writeLongModeTables(memory);
    setLongModeEntryState(vcpu, layout.kernelAddr + LongModeLayout::kStartup64Offset, layout.bootParamsAddr);
}

}  // namespace cxvm::boot
