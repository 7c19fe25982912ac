#pragma once
// Whole-file reads and atomic whole-file writes (temp file in the same folder + fsync +
// rename), so a reader never sees a half-written output and a failed write leaves no file.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace cxvm {

// Reads the whole file; throws cxvm::Error naming the path.
std::vector<std::uint8_t> readFile(const std::filesystem::path& path);

// Writes `bytes` to `path` atomically with permissions `mode`; throws cxvm::Error naming
// the path (and leaves neither `path` changed nor a temp file behind).
void writeFileAtomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                     unsigned mode = 0644);

}  // namespace cxvm
