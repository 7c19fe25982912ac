#pragma once
// Subcommand registry: each src/cli/<command>.cpp defines one subcommand and registers
// it with a static CommandRegistration, so adding a command touches no shared file.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace cxvm::cli {

// Called once at startup: add the subcommand to `app` and set its callback. The
// callback returns the process exit status through `exitCode`.
using CommandSetup = std::function<void(CLI::App& app, int& exitCode)>;

struct CommandEntry {
    std::string name;
    CommandSetup setup;
};

std::vector<CommandEntry>& commandRegistry();

struct CommandRegistration {
    CommandRegistration(std::string name, CommandSetup setup) {
        commandRegistry().push_back({std::move(name), std::move(setup)});
    }
};

}  // namespace cxvm::cli
