#include "ConsoleDriver.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cxvm::testing {

using Clock = std::chrono::steady_clock;

ConsoleDriver::ConsoleDriver(std::vector<std::string> argv) {
    int inPipe[2], outPipe[2];
    if (pipe2(inPipe, O_CLOEXEC) != 0 || pipe2(outPipe, O_CLOEXEC) != 0) {
        error_ = std::string("pipe: ") + std::strerror(errno);
        return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, inPipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outPipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, outPipe[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(inPipe[0]);
    close(outPipe[1]);
    in_ = inPipe[1];
    out_ = outPipe[0];
    if (rc != 0) {
        pid_ = -1;
        error_ = "spawn " + argv[0] + ": " + std::strerror(rc);
    }
}

ConsoleDriver::~ConsoleDriver() {
    if (pid_ > 0 && !exited_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (in_ >= 0) close(in_);
    if (out_ >= 0) close(out_);
}

bool ConsoleDriver::pump(Clock::time_point until) {
    if (out_ < 0) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 200)));
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) return true;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) {
        close(out_);
        out_ = -1;
        return false;
    }
    log_.append(buf, static_cast<std::size_t>(n));
    return true;
}

bool ConsoleDriver::expect(std::string_view text, Seconds timeout) {
    if (pid_ < 0) return false;
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
    for (;;) {
        if (auto at = log_.find(text, searchFrom_); at != std::string::npos) {
            chunk_ = log_.substr(searchFrom_, at - searchFrom_);
            searchFrom_ = at + text.size();
            return true;
        }
        for (const auto& f : failTexts_)
            if (log_.find(f, searchFrom_) != std::string::npos) {
                error_ = "saw \"" + f + "\" while waiting for \"" + std::string(text) + "\"";
                return false;
            }
        if (!pump(until)) {
            error_ = (out_ < 0 ? "program ended" : "timed out") + std::string(" after ") +
                     std::to_string(timeout.count()) + " s waiting for \"" + std::string(text) + "\"";
            return false;
        }
    }
}

void ConsoleDriver::send(std::string_view bytes) {
    while (!bytes.empty() && in_ >= 0) {
        ssize_t n = write(in_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void ConsoleDriver::sendLine(std::string_view line) {
    send(line);
    send("\n");
}

std::optional<int> ConsoleDriver::waitExit(Seconds timeout) {
    if (pid_ < 0) return std::nullopt;
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
    while (!exited_) {
        int st = 0;
        pid_t r = waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            exited_ = true;
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (Clock::now() >= until) {
            error_ = "timed out after " + std::to_string(timeout.count()) + " s waiting for exit";
            return std::nullopt;
        }
        if (!pump(std::min(until, Clock::now() + std::chrono::milliseconds(50))))
            usleep(10000);  // output closed: just wait for the exit status
    }
    while (pump(Clock::now() + std::chrono::milliseconds(50))) {
    }
    return status_;
}

std::string ConsoleDriver::report() const {
    return error_ + "\n--- console log ---\n" + log_ + "\n--- end of log ---";
}

}  // namespace cxvm::testing
