#include "vmm/PtyConsole.h"

#include "util/Error.h"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

namespace cxvm::vmm {

PtyConsole::PtyConsole() {
    master_.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
    if (!master_) throwErrno("console: posix_openpt");
    if (::grantpt(master_.get()) != 0 || ::unlockpt(master_.get()) != 0)
        throwErrno("console: unlocking the pseudo-terminal");
    char name[128];
    if (::ptsname_r(master_.get(), name, sizeof name) != 0) throwErrno("console: ptsname");
    path_ = name;
    slave_.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave_) throwErrno("console: opening " + path_);
    termios t{};
    if (::tcgetattr(slave_.get(), &t) != 0) throwErrno("console: tcgetattr " + path_);
    ::cfmakeraw(&t);
    if (::tcsetattr(slave_.get(), TCSANOW, &t) != 0) throwErrno("console: tcsetattr " + path_);
}

void PtyConsole::linkAs(const std::filesystem::path& link) const {
    std::error_code ec;
    std::filesystem::remove(link, ec);
    std::filesystem::create_symlink(path_, link, ec);
    if (ec)
        throw Error::format("console: cannot link {} to {}: {}", link.string(), path_,
                            ec.message());
}

}  // namespace cxvm::vmm
