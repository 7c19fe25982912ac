#pragma once
// Reading sysfs attribute files: one value per file, newline-terminated.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace cxvm::host::pci {

// The file's text without its trailing newline; nullopt when it does not exist.
// Throws cxvm::Error naming the path when it exists but cannot be read.
std::optional<std::string> readSysfsText(const std::filesystem::path& path);

// The file's text; throws cxvm::Error naming the path when missing or unreadable.
std::string readSysfsTextRequired(const std::filesystem::path& path);

// A number in the kernel's formats: "0x8086" (hex) or "19" (decimal). Throws
// cxvm::Error naming the path for a missing file or anything else in it.
std::uint64_t readSysfsNumber(const std::filesystem::path& path);

// The last component of a symlink's target (`driver` -> "ahci", `iommu_group` -> "5"),
// nullopt when the link does not exist.
std::optional<std::string> readSysfsLinkName(const std::filesystem::path& path);

}  // namespace cxvm::host::pci
