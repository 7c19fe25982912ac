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
#include <vector>

namespace cxvm::system {

struct ComponentLaunch {
    std::string instance;
    std::string type;
    bool control = false;
    std::filesystem::path executable;
    ConnectionSet::Ends ends;  // interface -> descriptors (duplicated into the child)
};

class Supervisor {
public:
    // Output of the components (and the supervisor's reports) goes to outFd / errFd.
    // Blocks SIGINT, SIGTERM and SIGCHLD in the calling thread until destruction, and
    // takes them through a signalfd.
    Supervisor(int outFd, int errFd, std::chrono::milliseconds stopGrace);
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
        pid_t pid = -1;
        bool exited = false;
        int status = 0;
        std::optional<OutputRelay> out, err;
    };

    void reap();
    void onExit(Child& c);
    void report(std::string_view msg) const;
    void killAll(int sig);

    int outFd_, errFd_;
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
