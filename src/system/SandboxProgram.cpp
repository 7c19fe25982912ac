#include "system/SandboxProgram.h"

#include "util/Error.h"
#include "util/UniqueFd.h"

extern "C" {
#include <camkes/runtime.h>
}
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <cerrno>
#include <memory>

namespace cxvm::system {

SandboxProgram::SandboxProgram() {
    std::unique_ptr<void, void (*)(void*)> ctx(cxvm_sandbox_filter(CXVM_SANDBOX_EXEC),
                                               [](void* c) { seccomp_release(c); });
    if (!ctx) throw Error("cannot build the components' seccomp allowlist");
    UniqueFd mem(::memfd_create("cxvm:seccomp", MFD_CLOEXEC));
    if (!mem) throwErrno("memfd_create for the seccomp program");
    if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc != 0)
        throw Error::format("cannot export the seccomp program ({})", rc);
    off_t len = ::lseek(mem.get(), 0, SEEK_END);
    if (len <= 0 || len % static_cast<off_t>(sizeof(sock_filter)) != 0)
        throw Error::format("seccomp program has a bad size ({} bytes)", len);
    code_.resize(static_cast<std::size_t>(len) / sizeof(sock_filter));
    if (::pread(mem.get(), code_.data(), static_cast<std::size_t>(len), 0) != len)
        throwErrno("reading the seccomp program");
    prog_.len = static_cast<unsigned short>(code_.size());
    prog_.filter = code_.data();
}

int SandboxProgram::install() const noexcept {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog_) != 0) return errno;
    return 0;
}

}  // namespace cxvm::system
