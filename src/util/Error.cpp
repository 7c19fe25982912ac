#include "util/Error.h"

#include <cerrno>
#include <cstring>

namespace cxvm {

void throwErrno(std::string_view what) {
    int e = errno;
    throw Error(fmt::format("{}: {}", what, std::strerror(e)));
}

}  // namespace cxvm
