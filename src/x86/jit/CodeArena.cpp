#include "x86/jit/CodeArena.h"

#include "util/Error.h"

#include <sys/mman.h>
#include <unistd.h>

namespace cxvm::x86::jit {

CodeArena::CodeArena(std::size_t bytes) {
    fd_ = UniqueFd(::memfd_create("cxvm-jit", MFD_CLOEXEC));
    if (!fd_) throwErrno("memfd_create(jit code)");
    if (::ftruncate(fd_.get(), static_cast<off_t>(bytes)) != 0) throwErrno("ftruncate(jit code)");
    rw_ = Mapping::map(bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get());
    rx_ = Mapping::map(bytes, PROT_READ | PROT_EXEC, MAP_SHARED, fd_.get());
}

const std::uint8_t* CodeArena::commit(std::size_t bytes) {
    const std::uint8_t* at = rx_.data() + used_;
    used_ += (bytes + 15) & ~std::size_t{15};  // blocks start 16-byte aligned
    if (used_ > rw_.size()) used_ = rw_.size();
    // x86 keeps instruction fetch coherent with stores (SDM Vol. 3 11.6), also through
    // another virtual mapping of the same page: no cache maintenance is needed.
    return at;
}

}  // namespace cxvm::x86::jit
