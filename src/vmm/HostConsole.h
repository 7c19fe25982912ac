#pragma once
// The host side of the guest's serial console.
//  - Output: the guest's bytes are buffered and written in chunks (at the end of every
//    vCPU slice, or when the buffer fills) to stdout and the --serial-log file — never one
//    syscall per byte.
//  - Input: on a terminal, raw mode (TerminalRawMode) with QEMU's escape: Ctrl-A x quits,
//    Ctrl-A h prints help, Ctrl-A Ctrl-A sends one Ctrl-A. With pipes, stdin EOF only
//    stops reading: the guest keeps running.
#include "util/UniqueFd.h"
#include "vmm/TerminalRawMode.h"

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cxvm::vmm {

class HostConsole {
public:
    struct Options {
        int inFd = 0;                // -1: no input
        int outFd = 1;               // -1: no output (log only)
        std::string serialLogPath;   // empty: none
        bool rawTerminal = true;     // raw mode + escape when inFd is a terminal
        bool escapeOnPipes = false;  // Ctrl-A escapes on non-terminal input too (tests)
    };
    explicit HostConsole(const Options& o);
    ~HostConsole();
    HostConsole(const HostConsole&) = delete;
    HostConsole& operator=(const HostConsole&) = delete;

    // Guest output.
    void write(std::span<const std::uint8_t> bytes);
    void write(std::uint8_t byte) {
        out_.push_back(byte);
        if (out_.size() >= kFlushThreshold) flush();
    }
    void flush();

    // Host input. pollInput() reads whatever is ready without blocking and handles the
    // escape; the bytes for the guest queue up in pendingInput(). inputFd() is the fd to
    // wait on while the guest idles (-1 after EOF).
    void pollInput();
    [[nodiscard]] int inputFd() const { return inFd_; }
    [[nodiscard]] std::deque<std::uint8_t>& pendingInput() { return in_; }
    // Ctrl-A x was typed.
    [[nodiscard]] bool quitRequested() const { return quit_; }
    [[nodiscard]] bool interactive() const { return raw_.has_value() && raw_->active(); }

    // Feeds bytes as if typed (tests; also the path pollInput() uses).
    void feedInput(std::span<const std::uint8_t> bytes);

    // A note for the user on stderr, on its own line, that works in raw mode too.
    void note(std::string_view text);

private:
    static constexpr std::size_t kFlushThreshold = 4096;
    static constexpr std::uint8_t kEscape = 0x01;  // Ctrl-A
    void writeAll(int fd, std::span<const std::uint8_t> bytes, bool& failed);

    int inFd_;
    int outFd_;
    UniqueFd log_;
    std::optional<TerminalRawMode> raw_;
    std::vector<std::uint8_t> out_;
    std::deque<std::uint8_t> in_;
    bool escapes_ = false;
    bool escapePending_ = false;
    bool quit_ = false;
    bool outFailed_ = false, logFailed_ = false;
};

}  // namespace cxvm::vmm
