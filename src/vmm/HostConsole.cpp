#include "vmm/HostConsole.h"

#include "util/Error.h"
#include "util/Log.h"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace cxvm::vmm {
namespace {

constexpr std::string_view kHelp =
    "C-a h    print this help\r\n"
    "C-a x    exit cxvm\r\n"
    "C-a C-a  send C-a to the guest\r\n";

}  // namespace

HostConsole::HostConsole(const Options& o) : inFd_(o.inFd), outFd_(o.outFd) {
    if (!o.serialLogPath.empty()) {
        log_.reset(::open(o.serialLogPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                          0644));
        if (!log_) throwErrno(fmt::format("--serial-log {}", o.serialLogPath));
    }
    if (o.rawTerminal && inFd_ >= 0 && isatty(inFd_)) raw_.emplace(inFd_);
    escapes_ = interactive() || o.escapeOnPipes;
    out_.reserve(kFlushThreshold * 2);
}

HostConsole::~HostConsole() {
    try {
        flush();
    } catch (...) {  // a destructor must not throw; the bytes are lost either way
    }
}

void HostConsole::write(std::span<const std::uint8_t> bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    if (out_.size() >= kFlushThreshold) flush();
}

void HostConsole::writeAll(int fd, std::span<const std::uint8_t> bytes, bool& failed) {
    while (!bytes.empty() && !failed) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            // A non-blocking console nobody reads (a VM's pty): the guest must not wait;
            // this chunk is dropped there and the console log still has it.
            if (errno == EAGAIN) return;
            // A closed stdout (e.g. `| head`) must not stop the guest: report once, drop.
            log::warn("console: write to fd {} failed ({}); further output dropped", fd,
                      std::strerror(errno));
            failed = true;
            return;
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

void HostConsole::flush() {
    if (out_.empty()) return;
    if (outFd_ >= 0) writeAll(outFd_, out_, outFailed_);
    if (log_) writeAll(log_.get(), out_, logFailed_);
    out_.clear();
}

void HostConsole::note(std::string_view text) {
    flush();
    std::string line = fmt::format("\r\n[cxvm] {}\r\n", text);
    bool failed = false;
    writeAll(2, {reinterpret_cast<const std::uint8_t*>(line.data()), line.size()}, failed);
}

void HostConsole::pollInput() {
    if (inFd_ < 0) return;
    for (;;) {
        pollfd p{inFd_, POLLIN, 0};
        int r = ::poll(&p, 1, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        std::uint8_t buf[256];
        ssize_t n = ::read(inFd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // EOF (or a dead terminal): stop reading; the guest runs on.
            if (n < 0) log::warn("console: reading input: {}", std::strerror(errno));
            inFd_ = -1;
            return;
        }
        feedInput({buf, static_cast<std::size_t>(n)});
        if (static_cast<std::size_t>(n) < sizeof buf) return;
    }
}

void HostConsole::feedInput(std::span<const std::uint8_t> bytes) {
    for (std::uint8_t b : bytes) {
        if (!escapes_) {
            in_.push_back(b);
            continue;
        }
        if (escapePending_) {
            escapePending_ = false;
            switch (b) {
            case 'x':
            case 'X':
                note("terminated by C-a x");
                quit_ = true;
                return;
            case 'h':
            case 'H':
            case '?': {
                flush();
                bool failed = false;
                writeAll(2, {reinterpret_cast<const std::uint8_t*>(kHelp.data()), kHelp.size()},
                         failed);
                break;
            }
            case kEscape:
                in_.push_back(kEscape);
                break;
            default:  // unknown escape: ignored, as QEMU does
                break;
            }
            continue;
        }
        if (b == kEscape) {
            escapePending_ = true;
            continue;
        }
        in_.push_back(b);
    }
}

}  // namespace cxvm::vmm
