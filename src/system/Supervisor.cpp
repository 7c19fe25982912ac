#include "system/Supervisor.h"

#include "util/Error.h"
#include "util/Log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cxvm::system {

namespace {

using Clock = std::chrono::steady_clock;

void writeStr(int fd, const char* s) {
    ssize_t r = ::write(fd, s, std::strlen(s));
    (void)r;
}

// Between fork and exec: raw system calls only (the parent may have other threads).
[[noreturn]] void childFail(const char* what, int err) {
    writeStr(2, "cxvm: cannot start component: ");
    writeStr(2, what);
    writeStr(2, ": ");
    writeStr(2, strerrordesc_np(err) ? strerrordesc_np(err) : "error");
    writeStr(2, "\n");
    ::_exit(127);
}

std::string describeStatus(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char* abbrev = sigabbrev_np(sig);
        return fmt::format("killed by signal {} (SIG{}: {}){}", sig, abbrev ? abbrev : "?",
                           strsignal(sig), WCOREDUMP(status) ? ", core dumped" : "");
    }
    return fmt::format("exited with status {}", WEXITSTATUS(status));
}

}  // namespace

Supervisor::Supervisor(int inFd, int outFd, int errFd, std::chrono::milliseconds stopGrace)
    : inFd_(inFd), outFd_(outFd), errFd_(errFd), grace_(stopGrace) {
    // A console VM puts the terminal in raw mode and restores it when it ends; a VM
    // that dies of SIGKILL (or of a bug in its restore) cannot, so this is the backstop.
    if (termios t{}; ::isatty(inFd_) && ::tcgetattr(inFd_, &t) == 0) terminal_ = t;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGCHLD);
    if (int e = pthread_sigmask(SIG_BLOCK, &mask, &oldMask_); e != 0) {
        errno = e;
        throwErrno("pthread_sigmask");
    }
    signalFd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signalFd_) {
        pthread_sigmask(SIG_SETMASK, &oldMask_, nullptr);
        throwErrno("signalfd");
    }
    devNull_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devNull_) throwErrno("/dev/null");
}

Supervisor::~Supervisor() {
    // Never leave a component behind, whatever path got us here.
    for (auto& c : children_) {
        if (c.exited) continue;
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, nullptr, 0);
    }
    restoreTerminal();
    // Swallow the SIGCHLDs we caused before unblocking.
    signalfd_siginfo si;
    while (::read(signalFd_.get(), &si, sizeof si) == sizeof si) {
    }
    pthread_sigmask(SIG_SETMASK, &oldMask_, nullptr);
}

void Supervisor::restoreTerminal() {
    if (!terminal_) return;
    // Not from the background: tcsetattr on our controlling terminal would stop us
    // (SIGTTOU), and then the terminal is not ours to fix. (-1: not our controlling
    // terminal, which has no such rule.)
    if (pid_t fg = ::tcgetpgrp(inFd_); fg >= 0 && fg != ::getpgrp()) return;
    ::tcsetattr(inFd_, TCSANOW, &*terminal_);
}

void Supervisor::report(std::string_view msg) const {
    std::string line = fmt::format("cxvm: {}\n", msg);
    ssize_t r = ::write(errFd_, line.data(), line.size());
    (void)r;
}

void Supervisor::start(const ComponentLaunch& launch, const SandboxProgram& sandbox) {
    // Everything the child needs is prepared here: after fork it only moves
    // descriptors, installs the sandbox and execs.
    int outPipe[2], errPipe[2];
    if (::pipe2(outPipe, O_CLOEXEC) != 0) throwErrno("pipe");
    UniqueFd outR(outPipe[0]), outW(outPipe[1]);
    if (::pipe2(errPipe, O_CLOEXEC) != 0) throwErrno("pipe");
    UniqueFd errR(errPipe[0]), errW(errPipe[1]);

    // The console VM talks to the terminal itself; everyone else's output is relayed,
    // prefixed with its instance name.
    std::vector<int> sources{devNull_.get(), outW.get(), errW.get()};
    if (launch.ownsTerminal) sources = {inFd_, outFd_, errFd_};
    std::string ifaces;
    for (const auto& [iface, fds] : launch.ends) {
        if (!ifaces.empty()) ifaces += ';';
        ifaces += iface + '=';
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (i) ifaces += ',';
            ifaces += std::to_string(sources.size());  // its number in the child
            sources.push_back(fds[i]);
        }
    }
    std::string exe = launch.executable.string();
    std::vector<std::string> env{"CXVM_INSTANCE=" + launch.instance, "CXVM_IFACES=" + ifaces};
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args{exe};
    args.insert(args.end(), launch.args.begin(), launch.args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const bool ownGroup = !launch.ownsTerminal;
    const bool execSandbox = !launch.vm;
    const int count = static_cast<int>(sources.size());
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) throwErrno("fork for " + launch.instance);
    if (pid == 0) {
        // Its own process group: a Ctrl-C at the terminal reaches only the supervisor,
        // which then stops the components in order. The console VM stays in the
        // foreground group: a background group may not read the terminal or change its
        // mode (SIGTTIN/SIGTTOU); its raw mode passes Ctrl-C to the guest anyway.
        if (ownGroup) ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        // Move every source above the target range, then into place: 0..count-1.
        int moved[1024];
        if (count > 1024) ::_exit(126);
        for (int i = 0; i < count; ++i) {
            moved[i] = ::fcntl(sources[static_cast<std::size_t>(i)], F_DUPFD_CLOEXEC, count);
            if (moved[i] < 0) childFail("moving descriptors", errno);
        }
        for (int i = 0; i < count; ++i)
            if (::dup2(moved[i], i) < 0) childFail("moving descriptors", errno);
        // No inherited strays: everything above its own descriptors goes.
        if (::close_range(static_cast<unsigned>(count), ~0U, 0) != 0)
            childFail("close_range", errno);
        if (execSandbox)
            if (int e = sandbox.install(); e != 0) childFail("installing the seccomp filter", e);
        ::execve(exe.c_str(), argv.data(), envp.data());
        childFail(exe.c_str(), errno);
    }
    if (ownGroup) ::setpgid(pid, pid);  // also from this side, so kill() never races the child
    Child c;
    c.instance = launch.instance;
    c.type = launch.type;
    c.control = launch.control;
    c.vm = launch.vm;
    c.ownsTerminal = launch.ownsTerminal;
    c.pid = pid;
    c.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!c.pidfd) log::debug("pidfd_open({}): {}", pid, std::strerror(errno));
    outW.reset();
    errW.reset();
    if (!launch.ownsTerminal) {
        c.out.emplace(std::move(outR), launch.instance, outFd_);
        c.err.emplace(std::move(errR), launch.instance, errFd_);
    }
    children_.push_back(std::move(c));
    log::debug("started {} ({}) as pid {}", launch.instance, launch.type, pid);
}

void Supervisor::killAll(int sig) {
    for (auto& c : children_)
        if (!c.exited) ::kill(c.pid, sig);
}

void Supervisor::stop(std::string_view why) {
    if (stopping_) return;
    stopping_ = true;
    log::info("stopping the system: {}", why);
    killAll(SIGTERM);
    killAt_ = Clock::now() + grace_;
}

void Supervisor::onExit(Child& c) {
    // Its last words first, then the verdict.
    if (c.out) c.out->drain();
    if (c.err) c.err->drain();
    // The terminal is sane again before anyone reports anything on it.
    if (c.ownsTerminal) restoreTerminal();
    const int st = c.status;
    const bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (stopping_) return;  // we asked it to go
    if (c.control && WIFEXITED(st)) {
        result_ = WEXITSTATUS(st);
        if (!clean) report(fmt::format("{} ({}) {}", c.instance, c.type, describeStatus(st)));
        stop(c.vm ? fmt::format("{}'s guest stopped", c.instance)
                  : fmt::format("{}'s run() returned", c.instance));
        return;
    }
    if (clean) {
        log::info("{} ({}) finished", c.instance, c.type);
        return;
    }
    // The console VM may still hold the terminal in raw mode: the report must be
    // readable, and the system is going down anyway.
    restoreTerminal();
    report(fmt::format("{} ({}, pid {}) crashed: {}; stopping the system", c.instance, c.type,
                       c.pid, describeStatus(st)));
    result_ = 1;
    stop(c.instance + " crashed");
}

void Supervisor::reap() {
    for (auto& c : children_) {
        if (c.exited) continue;
        int st = 0;
        pid_t r = ::waitpid(c.pid, &st, WNOHANG);
        if (r != c.pid) continue;
        c.exited = true;
        c.status = st;
        onExit(c);
    }
}

int Supervisor::run() {
    std::vector<pollfd> fds;
    std::vector<OutputRelay*> relays;
    for (;;) {
        reap();
        bool anyAlive = false;
        fds.clear();
        relays.clear();
        // relays[i] pumps fds[i]; nullptr for the signalfd and the pidfds (reap() at the
        // top of the loop handles what they announce).
        fds.push_back({signalFd_.get(), POLLIN, 0});
        relays.push_back(nullptr);
        for (auto& c : children_) {
            anyAlive |= !c.exited;
            if (!c.exited && c.pidfd) {
                fds.push_back({c.pidfd.get(), POLLIN, 0});
                relays.push_back(nullptr);
            }
            for (auto* r : {&c.out, &c.err})
                if (*r && (*r)->open()) {
                    fds.push_back({(*r)->fd(), POLLIN, 0});
                    relays.push_back(&**r);
                }
        }
        if (!anyAlive) break;
        int timeout = -1;
        if (stopping_) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(killAt_ - Clock::now());
            if (left.count() <= 0) {
                log::warn("components did not stop within {} ms: killing them", grace_.count());
                killAll(SIGKILL);
                killAt_ = Clock::now() + std::chrono::hours(1);
                left = std::chrono::milliseconds(0);
            }
            timeout = static_cast<int>(left.count());
        }
        if (::poll(fds.data(), fds.size(), timeout) < 0) {
            if (errno == EINTR) continue;
            throwErrno("poll");
        }
        for (std::size_t i = 1; i < fds.size(); ++i)
            if (fds[i].revents && relays[i]) relays[i]->pump();
        if (fds[0].revents) {
            signalfd_siginfo si;
            while (::read(signalFd_.get(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
                    if (stopping_) {
                        killAll(SIGKILL);  // asked twice: no more grace
                    } else {
                        report(si.ssi_signo == SIGINT ? "interrupted: stopping the system"
                                                      : "terminated: stopping the system");
                        result_ = 128 + static_cast<int>(si.ssi_signo);
                        stop("signal");
                    }
                }
            }
        }
    }
    for (auto& c : children_) {
        if (c.out) c.out->drain();
        if (c.err) c.err->drain();
    }
    restoreTerminal();
    return result_;
}

}  // namespace cxvm::system
