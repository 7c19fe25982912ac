// `cxvm inspect-kernel FILE`: the bzImage setup header, field by field.
#include "boot/BzImage.h"
#include "cli/Command.h"
#include "util/Error.h"
#include "util/File.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace cxvm::cli {
namespace {

template <typename Flag, std::size_t N>
std::string flagNames(const boot::BzImage& k, const std::array<std::pair<Flag, const char*>, N>& t) {
    std::string s;
    for (auto [f, name] : t)
        if (k.has(f)) s += fmt::format("{}{}", s.empty() ? "" : " ", name);
    return s.empty() ? "-" : s;
}

constexpr std::array<std::pair<boot::LoadFlag, const char*>, 5> kLoadFlags = {{
    {boot::LoadFlag::LoadedHigh, "LOADED_HIGH"},
    {boot::LoadFlag::KaslrFlag, "KASLR_FLAG"},
    {boot::LoadFlag::QuietFlag, "QUIET_FLAG"},
    {boot::LoadFlag::KeepSegments, "KEEP_SEGMENTS"},
    {boot::LoadFlag::CanUseHeap, "CAN_USE_HEAP"},
}};
constexpr std::array<std::pair<boot::XLoadFlag, const char*>, 7> kXLoadFlags = {{
    {boot::XLoadFlag::Kernel64, "XLF_KERNEL_64"},
    {boot::XLoadFlag::CanBeLoadedAbove4G, "XLF_CAN_BE_LOADED_ABOVE_4G"},
    {boot::XLoadFlag::EfiHandover32, "XLF_EFI_HANDOVER_32"},
    {boot::XLoadFlag::EfiHandover64, "XLF_EFI_HANDOVER_64"},
    {boot::XLoadFlag::EfiKexec, "XLF_EFI_KEXEC"},
    {boot::XLoadFlag::Has5LevelPaging, "XLF_5LEVEL"},
    {boot::XLoadFlag::MemEncryption, "XLF_MEM_ENCRYPTION"},
}};

std::string describe(const boot::BzImage& k) {
    std::string o;
    auto row = [&o](std::string_view name, const std::string& value) {
        o += fmt::format("{:<18} {}\n", name, value);
    };
    row("kernel_version", k.kernelVersion.empty() ? "-" : k.kernelVersion);
    row("protocol", fmt::format("{}.{:02}", k.protocolMajor(), k.protocolMinor()));
    row("boot_flag", fmt::format("{:#06x}", k.bootFlag));
    row("header", "HdrS");
    row("setup_sects", fmt::format("{} ({} bytes of setup)", k.setupSects, k.setupSize()));
    row("syssize", fmt::format("{:#x} ({} bytes)", k.sysSize, std::uint64_t{k.sysSize} * 16));
    row("protected-mode", fmt::format("{} bytes", k.kernel.size()));
    row("loadflags", fmt::format("{:#04x} {}", k.loadFlags, flagNames(k, kLoadFlags)));
    row("code32_start", fmt::format("{:#010x}", k.code32Start));
    row("initrd_addr_max", fmt::format("{:#010x}", k.initrdAddrMax));
    row("kernel_alignment", fmt::format("{:#x}", k.kernelAlignment));
    row("relocatable", k.relocatable ? "yes" : "no");
    row("min_alignment", fmt::format("{} ({:#x})", k.minAlignment,
                                     k.minAlignment < 32 ? 1u << k.minAlignment : 0u));
    row("xloadflags", fmt::format("{:#06x} {}", k.xloadFlags, flagNames(k, kXLoadFlags)));
    row("entry", k.has(boot::XLoadFlag::Kernel64) ? "32-bit at code32_start, 64-bit at +0x200"
                                                  : "32-bit at code32_start");
    row("cmdline_size", fmt::format("{}", k.cmdlineSize));
    row("hardware_subarch", fmt::format("{}", k.hardwareSubarch));
    row("payload", fmt::format("offset {:#x}, {} bytes", k.payloadOffset, k.payloadLength));
    row("pref_address", fmt::format("{:#x}", k.prefAddress));
    row("init_size", fmt::format("{:#x} ({} KiB)", k.initSize, k.initSize / 1024));
    row("handover_offset", fmt::format("{:#x}", k.handoverOffset));
    row("setup_header", fmt::format("{} bytes at 0x1f1", k.setupHeader.size()));
    return o;
}

CommandRegistration reg{"inspect-kernel", [](CLI::App& app, int& exitCode) {
    auto* cmd = app.add_subcommand("inspect-kernel",
                                   "Print the Linux boot-protocol setup header of a bzImage");
    auto file = std::make_shared<std::string>();
    cmd->add_option("FILE", *file, "The kernel image (bzImage)")->required();
    cmd->callback([file, &exitCode] {
        const auto bytes = readFile(*file);
        try {
            const auto out = describe(boot::BzImage::parse(bytes));
            std::fwrite(out.data(), 1, out.size(), stdout);
        } catch (const Error& e) {
            throw e.withContext(*file);
        }
        exitCode = 0;
    });
}};

}  // namespace
}  // namespace cxvm::cli
