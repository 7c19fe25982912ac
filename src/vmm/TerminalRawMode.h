#pragma once
// Puts a terminal into raw mode for the guest console and restores it on every exit
// path: the destructor (normal return, exceptions), and — because a destructor does not
// run when the process dies from a signal — a process-wide handler for fatal signals
// that restores the saved termios (tcsetattr is async-signal-safe) and re-raises.
#include <termios.h>

namespace cxvm::vmm {

class TerminalRawMode {
public:
    // No-op when `fd` is not a terminal (active() is then false).
    explicit TerminalRawMode(int fd);
    ~TerminalRawMode();
    TerminalRawMode(const TerminalRawMode&) = delete;
    TerminalRawMode& operator=(const TerminalRawMode&) = delete;

    [[nodiscard]] bool active() const { return active_; }
    // Restores the saved mode now (idempotent).
    void restore();

private:
    int fd_;
    bool active_ = false;
    termios saved_{};
};

}  // namespace cxvm::vmm
