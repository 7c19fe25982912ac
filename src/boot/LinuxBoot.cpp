#include "boot/LinuxBoot.h"

#include "boot/E820Map.h"
#include "boot/LinuxBootParams.h"
#include "boot/UnpackedKernel.h"
#include "util/Error.h"

#include <algorithm>
#include <array>
#include <optional>

namespace cxvm::boot {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint8_t kLoaderUndefined = 0xFF;  // boot.rst: type_of_loader, "undefined"
constexpr std::uint32_t kInitrdAddrMaxBefore203 = 0x37FFFFFF;

// Flat 4 GiB descriptors of the protocol's GDT (SDM Vol. 3 3.4.5): base 0, limit
// 0xFFFFF with G=1, D/B=1, P=1, S=1; code execute/read, data read/write; accessed set so
// the CPU does not write them back.
constexpr std::uint64_t kFlatCode = 0x00CF9B000000FFFFull;
constexpr std::uint64_t kFlatData = 0x00CF93000000FFFFull;

std::string mib(std::uint64_t bytes) {
    return bytes % kMiB == 0 ? fmt::format("{} MiB", bytes / kMiB)
                             : fmt::format("{:.1f} MiB", static_cast<double>(bytes) / kMiB);
}

engine::Segment flatSegment(std::uint16_t selector, std::uint8_t type) {
    engine::Segment s;
    s.base = 0;
    s.limit = 0xFFFFFFFF;
    s.selector = selector;
    s.type = type;
    s.present = 1;
    s.dpl = 0;
    s.db = 1;
    s.s = 1;
    s.g = 1;
    return s;
}

void writeGdt(hw::GuestMemory& memory) {
    std::array<std::uint8_t, 32> gdt{};
    auto put = [&](std::size_t index, std::uint64_t d) {
        for (std::size_t i = 0; i < 8; ++i) gdt[index * 8 + i] = static_cast<std::uint8_t>(d >> (8 * i));
    };
    put(LinuxBootLayout::kBootCs / 8, kFlatCode);
    put(LinuxBootLayout::kBootDs / 8, kFlatData);
    memory.write(LinuxBootLayout::kGdtAddr, gdt);
}

void fillEntryState(LinuxBootLayout& l) {
    l.regs = {};
    l.regs.rip = l.entry;
    l.regs.rsi = l.bootParamsAddr;
    l.regs.rflags = 0x2;  // reserved bit 1; IF = 0
    auto& s = l.sregs;
    s = {};
    s.cs = flatSegment(LinuxBootLayout::kBootCs, 0xB);  // execute/read, accessed
    s.ds = s.es = s.fs = s.gs = s.ss = flatSegment(LinuxBootLayout::kBootDs, 0x3);
    // A usable busy 32-bit TSS and an empty LDT: what KVM requires of a protected-mode
    // state; Linux loads its own before it uses either.
    s.tr.type = 0xB;
    s.tr.present = 1;
    s.tr.limit = 0x67;
    s.ldt.type = 0x2;
    s.ldt.present = 1;
    s.ldt.limit = 0xFFFF;
    s.gdt = {LinuxBootLayout::kGdtAddr, 4 * 8 - 1};
    s.idt = {0, 0};
    s.cr0 = 0x1;  // PE only: no paging, caches on
}

// Copies the unpacked kernel's segments to their physical addresses, zero-filling each
// p_memsz tail (the window they lie in was checked against guest RAM).
void writeUnpackedKernel(hw::GuestMemory& memory, const UnpackedKernel& k) {
    for (const VmlinuxSegment& s : k.elf.segments) {
        memory.write(s.paddr, k.bytesOf(s));
        const auto tail = memory.span(s.paddr + s.fileSize, s.memSize - s.fileSize);
        std::fill(tail.begin(), tail.end(), std::uint8_t{0});
    }
}

}  // namespace

std::string KernelLoad::describe() const {
    if (unpacked)
        return fmt::format("unpacked {} payload on the host ({}, {:.2f} s)",
                           payloadFormatName(format), mib(unpackedBytes), unpackSeconds);
    return fmt::format("{}: the kernel decompresses itself", notUnpacked);
}

LinuxBootLayout loadLinux(hw::GuestMemory& memory, const LinuxBootImages& images,
                          const LinuxBootOptions& options) {
    const std::uint64_t ram = memory.ramSize();
    BzImage bz;
    try {
        bz = BzImage::parse(images.kernel);
    } catch (const Error& e) {
        throw e.withContext("kernel image");
    }
    LinuxBootLayout l;
    l.protocol = bz.protocolVersion;
    if (bz.protocolVersion < LinuxBootLayout::kMinProtocol)
        throw Error::format("kernel image: boot protocol {}.{:02} is too old; cxvm needs 2.06 or "
                            "later (Linux 2.6.22+)",
                            bz.protocolMajor(), bz.protocolMinor());
    if (!bz.has(LoadFlag::LoadedHigh))
        throw Error("kernel image: a zImage (protected-mode code at 0x10000) is not supported; "
                    "use a bzImage");
    if (bz.has(XLoadFlag::Kernel64) && !options.cpuHasLongMode)
        throw Error("kernel image: this is a 64-bit (x86_64) kernel; the interp engine is a "
                    "32-bit i686 CPU without long mode: use a 32-bit kernel or --engine kvm");

    // boot.rst: protocol 2.10+ kernels state where they want to be (pref_address) and
    // how much memory from there they need (init_size); before, code32_start (1 MiB).
    const bool has210 = bz.protocolVersion >= 0x020A;
    l.kernelAddr = has210 ? bz.prefAddress : bz.code32Start;
    if (l.kernelAddr < kHighRamStart)
        throw Error::format("kernel image: load address {:#x} is below 1 MiB", l.kernelAddr);
    if (bz.kernel.size() > ram)
        throw Error::format("kernel image: the kernel ({}) is larger than guest RAM ({})",
                            mib(bz.kernel.size()), mib(ram));
    const std::uint64_t need = std::max<std::uint64_t>(bz.kernel.size(), has210 ? bz.initSize : 0);
    l.kernelEnd = l.kernelAddr + need;
    if (l.kernelEnd > ram)
        throw Error::format("kernel image: the kernel needs guest RAM up to {} (load address "
                            "{:#x} + {} it unpacks into) but guest RAM is {}: use a larger --mem",
                            mib(l.kernelEnd), l.kernelAddr, mib(need), mib(ram));

    // Command line: boot.rst "cmdline_size: maximum size of the command line without the
    // terminating zero".
    if (images.cmdline.find('\0') != std::string_view::npos)
        throw Error("kernel command line contains a NUL byte");
    if (images.cmdline.size() > bz.cmdlineSize)
        throw Error::format("kernel command line is {} bytes; this kernel accepts at most {} "
                            "(cmdline_size)",
                            images.cmdline.size(), bz.cmdlineSize);

    // The kernel: unpacked on the host when it can be (boot/UnpackedKernel.h), else the
    // protected-mode code as is.
    std::optional<UnpackedKernel> unpacked;
    if (options.unpackKernel) {
        KernelUnpack u = unpackKernel(bz);
        unpacked = std::move(u.kernel);
        l.kernelLoad.notUnpacked = std::move(u.notUnpacked);
    } else {
        l.kernelLoad.notUnpacked = std::string(options.noUnpackReason);
    }
    if (unpacked) {
        l.kernelLoad.unpacked = true;
        l.kernelLoad.format = unpacked->format;
        l.kernelLoad.unpackedBytes = unpacked->vmlinux.size();
        l.kernelLoad.unpackSeconds = unpacked->took.count();
        // The segments lie in [pref_address, + max(init_size, kernel size)) (checked by
        // VmlinuxElf::parse) == [kernelAddr, kernelEnd): the initrd goes above them.
        l.entry = unpacked->elf.entry;
    } else {
        l.entry = l.kernelAddr;
    }

    // Initrd: as high as possible, below initrd_addr_max and the end of RAM, page aligned,
    // above the kernel's memory.
    if (!images.initrd.empty()) {
        const std::uint64_t size = images.initrd.size();
        if (size > ram)
            throw Error::format("initrd ({}) is larger than guest RAM ({})", mib(size), mib(ram));
        const std::uint64_t addrMax =
            bz.protocolVersion >= 0x0203 ? bz.initrdAddrMax : kInitrdAddrMaxBefore203;
        const std::uint64_t top = std::min<std::uint64_t>(addrMax + 1, ram);
        const std::uint64_t lowest = (l.kernelEnd + 0xFFF) & ~0xFFFull;
        if (top < size || ((top - size) & ~0xFFFull) < lowest)
            throw Error::format(
                "initrd ({}) cannot be placed: it must lie between the kernel's end {:#x} and "
                "{:#x} (min of initrd_addr_max + 1 and the end of guest RAM): use a larger --mem",
                mib(size), lowest, top);
        l.initrdAddr = (top - size) & ~0xFFFull;
        l.initrdSize = size;
        memory.write(l.initrdAddr, images.initrd);
    }

    if (unpacked)
        writeUnpackedKernel(memory, *unpacked);
    else
        memory.write(l.kernelAddr, bz.kernel);

    std::vector<std::uint8_t> cmdline(images.cmdline.begin(), images.cmdline.end());
    cmdline.push_back(0);
    memory.write(l.cmdlineAddr, cmdline);

    LinuxBootParams bp(bz.setupHeader);
    bp.setTypeOfLoader(kLoaderUndefined);
    // KEEP_SEGMENTS is obsolete and CAN_USE_HEAP concerns only the real-mode entry.
    // KASLR_FLAG is the decompressor's report that it randomised the kernel; it clears
    // the flag first (misc.c, extract_kernel), and an unpacked kernel is not randomised.
    bp.setLoadFlags(static_cast<std::uint8_t>(
        bp.loadFlags() & ~(static_cast<std::uint8_t>(LoadFlag::KeepSegments) |
                           static_cast<std::uint8_t>(LoadFlag::CanUseHeap) |
                           static_cast<std::uint8_t>(LoadFlag::KaslrFlag))));
    bp.setCode32Start(static_cast<std::uint32_t>(l.kernelAddr));
    bp.setCommandLine(l.cmdlineAddr);
    bp.setRamdisk(l.initrdAddr, l.initrdSize);
    // Extended memory above 1 MiB in KiB, for kernels that look at the old field.
    bp.setAltMemK(static_cast<std::uint32_t>(std::min<std::uint64_t>((ram - kHighRamStart) / 1024,
                                                                     0xFFFFFFFF)));
    const auto map = pcE820Map(ram);
    bp.setE820(map);
    memory.write(l.bootParamsAddr, bp.bytes());

    writeGdt(memory);
    fillEntryState(l);
    return l;
}

void setLinuxEntryState(engine::Vcpu& vcpu, const LinuxBootLayout& layout) {
    vcpu.setSregs(layout.sregs);
    vcpu.setRegs(layout.regs);
}

}  // namespace cxvm::boot
