#include "util/Subprocess.h"

#include "util/Error.h"
#include "util/UniqueFd.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace cxvm {
namespace {

struct Pipe {
    UniqueFd read, write;
};

Pipe makePipe() {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) throwErrno("pipe2");
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

ProcessResult runProcess(const std::vector<std::string>& argv, std::string_view input,
                         std::size_t maxOutput) {
    if (argv.empty()) throw Error("runProcess: empty command");
    Pipe in = makePipe(), out = makePipe(), err = makePipe(), exec = makePipe();
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) throwErrno("fork");
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        ::dup2(in.read.get(), 0);
        ::dup2(out.write.get(), 1);
        ::dup2(err.write.get(), 2);
        ::execvp(args[0], args.data());
        int e = errno;
        [[maybe_unused]] auto n = ::write(exec.write.get(), &e, sizeof e);
        ::_exit(127);
    }
    in.read.reset();
    out.write.reset();
    err.write.reset();
    exec.write.reset();

    int execErrno = 0;
    if (::read(exec.read.get(), &execErrno, sizeof execErrno) == sizeof execErrno) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        throw Error::format("cannot run '{}': {}", argv[0], std::strerror(execErrno));
    }

    ProcessResult result;
    std::size_t written = 0;
    if (input.empty()) in.write.reset();
    // A writer that closes stdin early must not kill us.
    struct sigaction ignore{}, old{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old);
    bool tooMuch = false;
    while (out.read || err.read) {
        std::array<pollfd, 3> pfd{};
        int n = 0;
        pollfd* pin = nullptr;
        pollfd* pout = nullptr;
        pollfd* perr = nullptr;
        if (in.write) { pfd[n] = {in.write.get(), POLLOUT, 0}; pin = &pfd[n++]; }
        if (out.read) { pfd[n] = {out.read.get(), POLLIN, 0}; pout = &pfd[n++]; }
        if (err.read) { pfd[n] = {err.read.get(), POLLIN, 0}; perr = &pfd[n++]; }
        if (::poll(pfd.data(), static_cast<nfds_t>(n), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pin && pin->revents) {
            ssize_t w = ::write(in.write.get(), input.data() + written,
                                std::min<std::size_t>(input.size() - written, 65536));
            if (w > 0) written += static_cast<std::size_t>(w);
            if (w < 0 || written == input.size()) in.write.reset();
        }
        auto drain = [&](pollfd* p, UniqueFd& fd, std::string& into) {
            if (!p || !p->revents) return;
            char buf[65536];
            ssize_t r = ::read(fd.get(), buf, sizeof buf);
            if (r <= 0) { fd.reset(); return; }
            into.append(buf, static_cast<std::size_t>(r));
            if (into.size() > maxOutput) { tooMuch = true; fd.reset(); }
        };
        drain(pout, out.read, result.out);
        drain(perr, err.read, result.err);
    }
    in.write.reset();
    ::sigaction(SIGPIPE, &old, nullptr);
    if (tooMuch) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (tooMuch) throw Error::format("'{}' produced more than {} bytes of output", argv[0], maxOutput);
    result.exitStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

}  // namespace cxvm
