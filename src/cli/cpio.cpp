// `cxvm cpio list FILE`: the entries of a newc archive, like `ls -l`.
#include "boot/Cpio.h"
#include "cli/Command.h"
#include "util/Error.h"
#include "util/File.h"

#include <fmt/format.h>

namespace cxvm::cli {
namespace {

std::string listLine(const boot::CpioEntry& e) {
    using boot::CpioFileType;
    std::string size = (e.type() == CpioFileType::CharDevice || e.type() == CpioFileType::BlockDevice)
                           ? fmt::format("{},{}", e.rdevMajor, e.rdevMinor)
                           : fmt::format("{}", e.data.size());
    std::string line = fmt::format("{} {:>4} {:>4} {:>9} {}", boot::formatCpioMode(e.mode), e.uid,
                                   e.gid, size, e.name);
    if (e.type() == CpioFileType::Symlink) line += fmt::format(" -> {}", e.symlinkTarget());
    return line;
}

CommandRegistration reg{"cpio", [](CLI::App& app, int& exitCode) {
    auto* cmd = app.add_subcommand("cpio", "Work with cpio newc archives (initramfs images)");
    cmd->require_subcommand(1);
    auto* list = cmd->add_subcommand("list", "List the entries of a newc archive: mode, uid, gid, "
                                             "size (or major,minor), name");
    auto file = std::make_shared<std::string>();
    list->add_option("FILE", *file, "The archive")->required();
    list->callback([file, &exitCode] {
        const auto bytes = readFile(*file);
        std::vector<boot::CpioEntry> entries;
        try {
            entries = boot::readCpio(bytes);
        } catch (const Error& e) {
            throw e.withContext(*file);
        }
        std::string out;
        for (const auto& entry : entries) out += listLine(entry) + '\n';
        std::fwrite(out.data(), 1, out.size(), stdout);
        exitCode = 0;
    });
}};

}  // namespace
}  // namespace cxvm::cli
