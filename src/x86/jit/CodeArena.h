#pragma once
// Executable memory for compiled blocks, never writable and executable at once (W^X):
// one memfd mapped twice, a read/write view the compiler writes through and a
// read/execute view the CPU runs. Filled front to back; emptied as a whole, together
// with the decoded blocks that own the code.
#include "util/Mapping.h"
#include "util/UniqueFd.h"

#include <cstddef>
#include <cstdint>

namespace cxvm::x86::jit {

class CodeArena {
public:
    explicit CodeArena(std::size_t bytes);

    [[nodiscard]] std::uint8_t* writePtr() const { return rw_.data() + used_; }
    [[nodiscard]] std::size_t free() const { return rw_.size() - used_; }
    // Commits `bytes` written at writePtr(); returns where they run.
    const std::uint8_t* commit(std::size_t bytes);
    void clear() { used_ = 0; }
    [[nodiscard]] std::size_t used() const { return used_; }
    [[nodiscard]] const std::uint8_t* execBase() const { return rx_.data(); }
    // The writable view of committed code at `exec` (patching a jump in place).
    [[nodiscard]] std::uint8_t* writable(const std::uint8_t* exec) const {
        return rw_.data() + (exec - rx_.data());
    }
    [[nodiscard]] std::size_t size() const { return rx_.size(); }

private:
    UniqueFd fd_;
    Mapping rw_, rx_;
    std::size_t used_ = 0;
};

}  // namespace cxvm::x86::jit
