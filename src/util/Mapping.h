#pragma once
// RAII owner of an mmap()ed range.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace cxvm {

class Mapping {
public:
    Mapping() = default;
    // Maps `len` bytes; throws cxvm::Error on failure.
    static Mapping map(std::size_t len, int prot, int flags, int fd = -1, off_t offset = 0,
                       void* hint = nullptr);
    Mapping(Mapping&& o) noexcept
        : ptr_(std::exchange(o.ptr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
    Mapping& operator=(Mapping&& o) noexcept {
        if (this != &o) {
            reset();
            ptr_ = std::exchange(o.ptr_, nullptr);
            len_ = std::exchange(o.len_, 0);
        }
        return *this;
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() { reset(); }

    [[nodiscard]] std::uint8_t* data() const { return static_cast<std::uint8_t*>(ptr_); }
    [[nodiscard]] std::size_t size() const { return len_; }
    [[nodiscard]] std::span<std::uint8_t> bytes() const { return {data(), len_}; }
    void reset();

private:
    void* ptr_ = nullptr;
    std::size_t len_ = 0;
};

}  // namespace cxvm
