#pragma once
// A pseudo-terminal for a guest console that is not on cxvm's own terminal (the second
// VM of an app, ...): the VMM reads and writes the master side; a user attaches to the
// slave with any serial terminal program (`screen /dev/pts/N`, `picocom`, ...) or a
// script opens it. The VMM keeps the slave open itself, so that the master never
// reports EIO/HUP while nobody is attached, and the slave is raw, so that bytes pass
// unchanged as on a serial line. The master is non-blocking: while nobody reads, the
// console output that does not fit in the pty's buffer is dropped there (the console
// log keeps everything), and the guest never waits for a reader.
#include "util/UniqueFd.h"

#include <filesystem>
#include <string>

namespace cxvm::vmm {

class PtyConsole {
public:
    // Throws cxvm::Error when the host has no pseudo-terminals to give.
    PtyConsole();

    [[nodiscard]] int masterFd() const { return master_.get(); }
    // "/dev/pts/N"
    [[nodiscard]] const std::string& path() const { return path_; }

    // Points `link` at the slave (replacing an older link), so that a script can find
    // the console of a named VM at a fixed place (<log dir>/<instance>.pty).
    void linkAs(const std::filesystem::path& link) const;

private:
    UniqueFd master_, slave_;
    std::string path_;
};

}  // namespace cxvm::vmm
