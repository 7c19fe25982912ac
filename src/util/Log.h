#pragma once
// Minimal leveled logging to stderr. The level is process-wide, set once by the CLI.
#include <fmt/format.h>

#include <cstdio>

namespace cxvm::log {

enum class Level { Error = 0, Warn = 1, Info = 2, Debug = 3 };

Level level();
void setLevel(Level l);
void write(Level l, std::string_view msg);

template <typename... A>
void error(fmt::format_string<A...> f, A&&... a) {
    write(Level::Error, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void warn(fmt::format_string<A...> f, A&&... a) {
    if (level() >= Level::Warn) write(Level::Warn, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void info(fmt::format_string<A...> f, A&&... a) {
    if (level() >= Level::Info) write(Level::Info, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void debug(fmt::format_string<A...> f, A&&... a) {
    if (level() >= Level::Debug) write(Level::Debug, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace cxvm::log
