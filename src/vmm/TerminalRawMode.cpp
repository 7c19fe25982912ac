#include "vmm/TerminalRawMode.h"

#include "util/Error.h"

#include <csignal>
#include <unistd.h>

namespace cxvm::vmm {
namespace {

// State for the signal handler: plain globals, written before the handlers are set.
int gSavedFd = -1;
termios gSavedTermios{};
volatile std::sig_atomic_t gSaved = 0;

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT};

void restoreFromSignal(int sig) {
    if (gSaved) tcsetattr(gSavedFd, TCSAFLUSH, &gSavedTermios);
    // SA_RESETHAND restored the default action: re-raise to die as the signal says.
    std::raise(sig);
}

void installFatalHandlers() {
    struct sigaction sa {};
    sa.sa_handler = restoreFromSignal;
    sa.sa_flags = static_cast<int>(SA_RESETHAND | SA_NODEFER);
    sigemptyset(&sa.sa_mask);
    for (int s : kFatalSignals) sigaction(s, &sa, nullptr);
}

}  // namespace

TerminalRawMode::TerminalRawMode(int fd) : fd_(fd) {
    if (!isatty(fd_)) return;
    if (tcgetattr(fd_, &saved_) != 0) throwErrno("console: tcgetattr");
    termios raw = saved_;
    // cfmakeraw: no echo, no line editing, no signals from ^C/^Z (they go to the guest,
    // as with QEMU's -nographic). Output keeps NL -> CR NL: the guest sends CR LF anyway
    // (CR CR LF looks the same), but cxvm's own log lines and the printf of an app's
    // hypercall handler (the tutorial's "POKE!!!\n") end in a bare LF and would
    // otherwise leave the cursor mid-line.
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    gSavedFd = fd_;
    gSavedTermios = saved_;
    gSaved = 1;
    installFatalHandlers();
    if (tcsetattr(fd_, TCSAFLUSH, &raw) != 0) {
        gSaved = 0;
        throwErrno("console: tcsetattr(raw)");
    }
    active_ = true;
}

TerminalRawMode::~TerminalRawMode() { restore(); }

void TerminalRawMode::restore() {
    if (!active_) return;
    tcsetattr(fd_, TCSAFLUSH, &saved_);
    gSaved = 0;
    active_ = false;
}

}  // namespace cxvm::vmm
