#pragma once
// The exec-stage seccomp allowlist of a component process (runtime/src/sandbox.c),
// compiled to a BPF program in the supervisor before it forks, so that the child only
// has to make two prctl() calls between fork and exec (async-signal-safe).
#include <linux/filter.h>

#include <vector>

namespace cxvm::system {

class SandboxProgram {
public:
    // Throws cxvm::Error when libseccomp cannot build or export the filter.
    SandboxProgram();

    // Installs the filter in the calling process (no-new-privs first). Only raw system
    // calls: safe in a child between fork and exec. Returns 0 or an errno value.
    [[nodiscard]] int install() const noexcept;

private:
    std::vector<sock_filter> code_;
    sock_fprog prog_{};
};

}  // namespace cxvm::system
