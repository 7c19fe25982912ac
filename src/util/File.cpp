#include "util/File.h"

#include "util/Error.h"
#include "util/UniqueFd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace cxvm {

std::vector<std::uint8_t> readFile(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throwErrno(fmt::format("cannot open '{}'", path.string()));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throwErrno(fmt::format("cannot stat '{}'", path.string()));
    if (S_ISDIR(st.st_mode)) throw Error::format("'{}' is a directory, not a file", path.string());
    std::vector<std::uint8_t> data;
    data.reserve(S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 0);
    std::uint8_t buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno(fmt::format("cannot read '{}'", path.string()));
        }
        if (n == 0) break;
        data.insert(data.end(), buf, buf + n);
    }
    return data;
}

void writeFileAtomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                     unsigned mode) {
    const std::string tmp = path.string() + ".tmp-XXXXXX";
    std::string name = tmp;
    UniqueFd fd(::mkstemp(name.data()));
    if (!fd) throwErrno(fmt::format("cannot write '{}'", path.string()));
    // Removes the temp file on every failure path.
    struct TempGuard {
        std::string name;
        bool armed = true;
        ~TempGuard() {
            if (armed) ::unlink(name.c_str());
        }
    } guard{name};
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno(fmt::format("cannot write '{}'", path.string()));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0)
        throwErrno(fmt::format("cannot write '{}'", path.string()));
    fd.reset();
    if (::rename(name.c_str(), path.c_str()) != 0)
        throwErrno(fmt::format("cannot write '{}'", path.string()));
    guard.armed = false;
}

}  // namespace cxvm
