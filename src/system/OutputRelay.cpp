#include "system/OutputRelay.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace cxvm::system {

namespace {
// A line longer than this is passed on in pieces rather than held back.
constexpr std::size_t kMaxLine = 16 * 1024;

void writeAll(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t r = ::write(fd, s.data(), s.size());
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;  // the supervisor's own output is gone: nothing to do
        s.remove_prefix(static_cast<std::size_t>(r));
    }
}
}  // namespace

OutputRelay::OutputRelay(UniqueFd in, std::string prefix, int out)
    : in_(std::move(in)), prefix_(std::move(prefix)), out_(out), terminal_(::isatty(out) == 1) {
    ::fcntl(in_.get(), F_SETFL, ::fcntl(in_.get(), F_GETFL) | O_NONBLOCK);
}

void OutputRelay::emit(std::string_view line) {
    // One write per line, so lines of different components never interleave.
    std::string s;
    s.reserve(prefix_.size() + line.size() + 3);
    s.append(prefix_).append(": ").append(line);
    // A console VM may hold the terminal in raw mode (no output processing): CR LF
    // keeps the next line at the left margin; in cooked mode the CR is harmless.
    s.append(terminal_ ? "\r\n" : "\n");
    writeAll(out_, s);
}

void OutputRelay::finish() {
    if (!pending_.empty()) emit(pending_);
    pending_.clear();
    in_.reset();
}

bool OutputRelay::pump() {
    if (!in_) return false;
    char buf[4096];
    for (;;) {
        ssize_t r = ::read(in_.get(), buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return true;
        if (r <= 0) {
            finish();
            return false;
        }
        pending_.append(buf, static_cast<std::size_t>(r));
        std::size_t start = 0;
        for (std::size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1)
            emit(std::string_view(pending_).substr(start, nl - start));
        pending_.erase(0, start);
        while (pending_.size() >= kMaxLine) {
            emit(std::string_view(pending_).substr(0, kMaxLine));
            pending_.erase(0, kMaxLine);
        }
    }
}

void OutputRelay::drain() {
    // The writer has exited, so the end of the stream is near; the timeout only guards
    // against a descriptor that leaked to some other process.
    while (pump()) {
        pollfd p{in_.get(), POLLIN, 0};
        if (::poll(&p, 1, 1000) == 0) {
            finish();
            return;
        }
    }
}

}  // namespace cxvm::system
