#include "system/RunApp.h"

#include "system/ConnectionSet.h"
#include "system/Connector.h"
#include "system/SandboxProgram.h"
#include "system/Supervisor.h"
#include "util/Error.h"

#include <unistd.h>

namespace cxvm::system {

namespace {

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
    return launches;
}

}  // namespace

int runApp(const adl::System& system, const RunAppOptions& options) {
    ConnectionSet conns(system);
    std::vector<ComponentLaunch> launches = plan(system, conns, options.buildDir);
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
