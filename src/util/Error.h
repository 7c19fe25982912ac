#pragma once
// One error type for the host-side layers: a message that already names the place
// (file:line:col, device and register, guest address). Layers add context as it
// propagates with withContext().
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace cxvm {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}

    template <typename... Args>
    static Error format(fmt::format_string<Args...> f, Args&&... args) {
        return Error(fmt::format(f, std::forward<Args>(args)...));
    }

    // "context: original message"
    [[nodiscard]] Error withContext(std::string_view context) const {
        return Error(fmt::format("{}: {}", context, what()));
    }
};

// Throws Error with errno's text appended: "what: strerror(errno)".
[[noreturn]] void throwErrno(std::string_view what);

}  // namespace cxvm
