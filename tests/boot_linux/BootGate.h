#pragma once
// Whether the Linux boot tests can run here, and if not, why (printed as SKIPPED).
// They need the default guest (./setup) and a build whose engine and PC devices exist;
// they are slow (a full boot on the interp engine), so they also need CXVM_TEST_BOOT=1
// (or ./test --full, which sets CXVM_TEST_FULL=1) until the interp engine boots Linux in
// CI time — then flip kOnByDefault.
#include "ConsoleDriver.h"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace cxvm::testing {

inline constexpr bool kOnByDefault = false;

inline std::filesystem::path guestCache() {
    const char* c = std::getenv("CXVM_CACHE");
    return c && *c ? std::filesystem::path(c) : std::filesystem::path(CXVM_SOURCE_DIR) / ".cache";
}

inline bool envSet(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::string(v) != "0";
}

// nullopt: go; else the reason to skip.
inline std::optional<std::string> bootTestsBlocked() {
    const auto cache = guestCache();
    for (const char* f : {"kit/bzImage", "guest/rootfs.cpio"})
        if (!std::filesystem::exists(cache / f))
            return "default guest missing (" + (cache / f).string() + "): run ./setup";
    if (!kOnByDefault && !envSet("CXVM_TEST_BOOT") && !envSet("CXVM_TEST_FULL"))
        return "Linux boot tests are off by default until the interp engine boots Linux in CI "
               "time: set CXVM_TEST_BOOT=1";
    // Fast check that this build has an engine and the PC devices: a run that stops after
    // one instruction.
    ConsoleDriver probe({CXVM_EXE, "run", "--engine", "interp", "--max-instructions", "1"});
    auto st = probe.waitExit(std::chrono::seconds(30));
    if (!st) return "probe run did not finish: " + probe.report();
    if (*st != 0) {
        auto nl = probe.log().find('\n');
        return "this build cannot boot a guest yet: " + probe.log().substr(0, nl);
    }
    return std::nullopt;
}

inline double bootTimeoutSeconds() {
    const char* t = std::getenv("CXVM_BOOT_TIMEOUT");
    return t && *t ? std::atof(t) : 600.0;
}

}  // namespace cxvm::testing
