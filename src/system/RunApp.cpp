#include "system/RunApp.h"

#include "system/ConnectionSet.h"
#include "system/Connector.h"
#include "system/SandboxProgram.h"
#include "system/Supervisor.h"
#include "util/Error.h"

#include <unistd.h>

#include <algorithm>

namespace cxvm::system {

namespace {

// Where the app's component executables are: the folder the caller named if it has
// them, else the app's folder in the build tree this cxvm belongs to.
std::filesystem::path findBuildDir(const adl::System& system, const RunAppOptions& o) {
    auto hasAll = [&](const std::filesystem::path& dir) {
        if (dir.empty()) return false;
        for (const auto& inst : system.instances) {
            const adl::ComponentType* t = system.findType(inst.type);
            if (t && !t->isVm && ::access((dir / t->name).c_str(), X_OK) != 0) return false;
        }
        return true;
    };
    if (hasAll(o.buildDir)) return o.buildDir;
    std::filesystem::path inTree;
    if (!o.appDir.empty()) inTree = appBuildDir(o.appDir, CXVM_SOURCE_DIR, CXVM_BINARY_DIR);
    if (hasAll(inTree)) return inTree;
    // Neither has them: name the folder a build of this tree would fill.
    return inTree.empty() ? o.buildDir : inTree;
}

std::vector<ComponentLaunch> plan(const adl::System& system, const ConnectionSet& conns,
                                  const std::filesystem::path& buildDir) {
    std::vector<ComponentLaunch> launches;
    for (const auto& inst : system.instances) {
        const adl::ComponentType* type = system.findType(inst.type);
        if (!type)
            throw Error::format("{}: error: instance {} has unknown type {}", where(inst.loc),
                                inst.name, inst.type);
        if (type->isVm)
            throw Error::format("{}: error: instance {} is a VM; VM components are not "
                                "supported by runApp yet",
                                where(inst.loc), inst.name);
        if (type->hardware)
            throw Error::format("{}: error: instance {} is a hardware component, which has no "
                                "native process",
                                where(inst.loc), inst.name);
        std::filesystem::path exe = buildDir / type->name;
        if (::access(exe.c_str(), X_OK) != 0)
            throw Error::format("component type {} (instance {}) is not built: no executable "
                                "{}; build the app first",
                                type->name, inst.name, exe.string());
        launches.push_back({inst.name, type->name, type->control, exe, conns.endsOf(inst.name)});
    }
    if (launches.empty()) throw Error("the system has no component instances to run");
    // Passive components (servers) first, so that they are up when the control
    // components start calling; the order does not matter for correctness, as calls
    // and signals wait in their connection objects.
    std::stable_partition(launches.begin(), launches.end(),
                          [](const ComponentLaunch& l) { return !l.control; });
    return launches;
}

}  // namespace

int runApp(const adl::System& system, const RunAppOptions& options) {
    ConnectionSet conns(system);
    std::vector<ComponentLaunch> launches = plan(system, conns, findBuildDir(system, options));
    SandboxProgram sandbox;
    Supervisor sup(options.stdoutFd, options.stderrFd, options.stopGrace);
    for (const auto& l : launches) {
        try {
            sup.start(l, sandbox);
        } catch (const Error& e) {
            sup.stop("a component could not be started");
            sup.run();
            throw e.withContext("starting " + l.instance);
        }
    }
    return sup.run();
}

std::filesystem::path appBuildDir(const std::filesystem::path& appDir,
                                  const std::filesystem::path& sourceDir,
                                  const std::filesystem::path& binaryDir) {
    std::error_code ec;
    auto app = std::filesystem::weakly_canonical(appDir, ec);
    auto src = std::filesystem::weakly_canonical(sourceDir, ec);
    auto rel = app.lexically_relative(src);
    if (rel.empty() || *rel.begin() == "..") return {};
    return binaryDir / rel;
}

}  // namespace cxvm::system
