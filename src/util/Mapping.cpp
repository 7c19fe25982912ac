#include "util/Mapping.h"

#include "util/Error.h"

namespace cxvm {

Mapping Mapping::map(std::size_t len, int prot, int flags, int fd, off_t offset, void* hint) {
    void* p = ::mmap(hint, len, prot, flags, fd, offset);
    if (p == MAP_FAILED) throwErrno(fmt::format("mmap of {} bytes", len));
    Mapping m;
    m.ptr_ = p;
    m.len_ = len;
    return m;
}

void Mapping::reset() {
    if (ptr_) ::munmap(ptr_, len_);
    ptr_ = nullptr;
    len_ = 0;
}

}  // namespace cxvm
