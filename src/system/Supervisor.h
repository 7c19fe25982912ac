#pragma once
// Starts component processes and supervises them: relays their output, reports a crash
// (instance, signal, exit status) and stops the whole system on a crash, on Ctrl-C or
// SIGTERM, or when a `control` component's run() returns.
#include "system/ConnectionSet.h"
#include "system/OutputRelay.h"
#include "system/SandboxProgram.h"
#include "util/UniqueFd.h"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <signal.h>
#include <string>
#include <termios.h>
#include <vector>

namespace cxvm::system {

struct ComponentLaunch {
    std::string instance;
    std::string type;
    bool control = false;
    std::filesystem::path executable;
    std::vector<std::string> args;  // argv[1..]
    ConnectionSet::Ends ends;  // interface -> descriptors (duplicated into the child)
    // A VM instance: it gets no exec-stage sandbox, as it opens /dev/kvm, its guest's
    // files and its console log first; it enters its own allowlist before it runs any
    // app or guest code (src/system/vm/VmInstance.cpp).
    bool vm = false;
    // The console VM: stdin, stdout and stderr are the supervisor's (the terminal), not
    // relayed, and it stays in the terminal's foreground process group so that it may
    // read the terminal and put it in raw mode.
    bool ownsTerminal = false;
};

class Supervisor {
public:
    // Output of the components (and the supervisor's reports) goes to outFd / errFd;
    // inFd is the terminal a console VM reads (when it is one, its state is saved now
    // and restored whenever the console VM ends, even by SIGKILL).
    // Blocks SIGINT, SIGTERM and SIGCHLD in the calling thread until destruction, and
    // takes them through a signalfd.
    Supervisor(int inFd, int outFd, int errFd, std::chrono::milliseconds stopGrace);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // fork + exec of one instance with only its own descriptors, in its own process
    // group, under the sandbox. Throws cxvm::Error if the process cannot be created.
    void start(const ComponentLaunch& launch, const SandboxProgram& sandbox);

    // Supervises until every process has exited; returns cxvm's exit status: the
    // control component's run() result, 1 after a crash, 130 after Ctrl-C.
    int run();

    // Asks every process to stop (SIGTERM, SIGKILL after the grace period).
    void stop(std::string_view why);

private:
    struct Child {
        std::string instance, type;
        bool control = false;
        bool vm = false;
        bool ownsTerminal = false;
        pid_t pid = -1;
        // Readable when the process has exited. SIGCHLD alone is not enough: another
        // thread of the supervisor's process that does not block it may take it, and a
        // console VM has no output pipes whose end would wake the loop.
        UniqueFd pidfd;
        bool exited = false;
        int status = 0;
        std::optional<OutputRelay> out, err;
    };

    void reap();
    void onExit(Child& c);
    void report(std::string_view msg) const;
    void killAll(int sig);
    void restoreTerminal();

    int inFd_, outFd_, errFd_;
    std::optional<termios> terminal_;  // inFd's state at start, when it is a terminal
    std::chrono::milliseconds grace_;
    sigset_t oldMask_{};
    UniqueFd signalFd_;
    UniqueFd devNull_;
    std::vector<Child> children_;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point killAt_{};
    int result_ = 0;
};

}  // namespace cxvm::system
