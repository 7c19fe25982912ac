// bench_boot: how long the default guest (or --kernel/--initrd) takes from start to the
// "login:" prompt on cxvm's interp engine and on QEMU TCG (`qemu-system-i386 -accel tcg
// -cpu pentium3`), measured back to back in the same run, and the ratio. Also cxvm's
// resident memory beyond guest RAM at the prompt: VmRSS minus RssShmem (guest RAM is a
// memfd, counted as shared memory).
#include "ConsoleDriver.h"
#include "ProcStatus.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace {

using cxvm::testing::ConsoleDriver;
using Clock = std::chrono::steady_clock;

struct Result {
    std::optional<double> seconds;  // nullopt: did not reach the prompt
    std::string why;
    std::map<std::string, long> memKiB;  // /proc/<pid>/status fields at the prompt
};

using cxvm::testing::procStatus;

Result timeToPrompt(std::vector<std::string> argv, const std::string& prompt, double timeout) {
    Result r;
    const auto t0 = Clock::now();
    ConsoleDriver c(std::move(argv));
    c.failOn("Kernel panic");
    if (!c.expect(prompt, std::chrono::duration<double>(timeout))) {
        r.why = c.error();
        const auto& log = c.log();
        r.why += "\n  last output: " + log.substr(log.size() > 400 ? log.size() - 400 : 0);
        return r;
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.memKiB = procStatus(c.pid());
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bench_boot: boot-to-login time, cxvm interp vs QEMU TCG"};
    const char* cacheEnv = std::getenv("CXVM_CACHE");
    const std::filesystem::path cache =
        cacheEnv && *cacheEnv ? std::filesystem::path(cacheEnv)
                              : std::filesystem::path(CXVM_SOURCE_DIR) / ".cache";
    std::string kernel = (cache / "kit/bzImage").string();
    std::string initrd = (cache / "guest/rootfs.cpio").string();
    std::string append = "console=ttyS0 reboot=k";
    std::string prompt = "login:";
    std::string engine = "interp";
    unsigned memMiB = 128;
    double timeout = 600;
    bool skipQemu = false;
    bool noUnpackKernel = false;
    std::string cxvmExe = CXVM_EXE;
    app.add_option("--cxvm", cxvmExe, "cxvm binary to measure (default: this build's)")
        ->check(CLI::ExistingFile);
    app.add_option("--kernel", kernel, "bzImage (default: the guest kit's)");
    app.add_option("--initrd", initrd, "initrd (default: the default rootfs)");
    app.add_option("--append", append, "kernel command line (both VMs)");
    app.add_option("--prompt", prompt, "text that ends the boot");
    app.add_option("--engine", engine, "cxvm engine");
    app.add_option("--mem", memMiB, "guest RAM in MiB (both VMs)");
    app.add_option("--timeout", timeout, "seconds per boot");
    app.add_flag("--no-qemu", skipQemu, "measure cxvm only");
    app.add_flag("--no-unpack-kernel", noUnpackKernel,
                 "cxvm runs the bzImage's own decompressor in the guest (cxvm run "
                 "--no-unpack-kernel)");
    CLI11_PARSE(app, argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each result as soon as it is measured
    for (const auto& f : {kernel, initrd})
        if (!std::filesystem::exists(f)) {
            fmt::print(stderr, "bench_boot: {} missing: run ./setup\n", f);
            return 1;
        }

    fmt::print("bench_boot: {} + {} , {} MiB, \"{}\", until \"{}\"; cxvm kernel {}\n", kernel,
               initrd, memMiB, append, prompt,
               noUnpackKernel ? "decompressed in the guest" : "unpacked on the host");
    Result qemu;
    if (!skipQemu) {
        qemu = timeToPrompt({"/usr/bin/qemu-system-i386", "-accel", "tcg", "-cpu", "pentium3", "-m",
                             std::to_string(memMiB), "-nographic", "-no-reboot", "-monitor", "none",
                             "-kernel", kernel, "-initrd", initrd, "-append", append},
                            prompt, timeout);
        if (qemu.seconds)
            fmt::print("qemu-tcg (pentium3): {:7.2f} s to \"{}\"\n", *qemu.seconds, prompt);
        else
            fmt::print("qemu-tcg (pentium3): no prompt: {}\n", qemu.why);
    }
    std::vector<std::string> cxArgv{cxvmExe, "-q", "run", "--engine", engine, "--mem",
                                    std::to_string(memMiB) + "M", "--kernel", kernel, "--initrd",
                                    initrd, "--append", append};
    if (noUnpackKernel) cxArgv.emplace_back("--no-unpack-kernel");
    Result cx = timeToPrompt(std::move(cxArgv), prompt, timeout);
    if (!cx.seconds) {
        fmt::print("cxvm ({}):          no prompt: {}\n", engine, cx.why);
        return 2;
    }
    fmt::print("cxvm ({}):        {:7.2f} s to \"{}\"\n", engine, *cx.seconds, prompt);
    if (qemu.seconds)
        fmt::print("ratio cxvm/qemu:      {:7.2f}x  (target: <= 3x; goal: < 1x)\n",
                   *cx.seconds / *qemu.seconds);
    const long rss = cx.memKiB["VmRSS"], shmem = cx.memKiB["RssShmem"], hwm = cx.memKiB["VmHWM"];
    fmt::print("cxvm memory at the prompt: RSS {} MiB, of which guest RAM touched {} MiB; "
               "beyond guest RAM {:.1f} MiB (peak RSS {} MiB)\n",
               rss / 1024, shmem / 1024, static_cast<double>(rss - shmem) / 1024.0, hwm / 1024);
    if (qemu.seconds) {
        const long qrss = qemu.memKiB["VmRSS"];
        fmt::print("qemu RSS at the prompt: {} MiB\n", qrss / 1024);
    }
    return 0;
}
