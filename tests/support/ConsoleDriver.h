#pragma once
// An expect-style driver for a program's console over pipes (tests of cxvm's serial
// console): start a program, wait for text with a timeout, type lines, wait for its exit.
// Everything the program printed is kept; failures come with the full log.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace cxvm::testing {

class ConsoleDriver {
public:
    using Seconds = std::chrono::duration<double>;

    // Starts argv[0] (a path) with stdin and stdout+stderr on pipes.
    explicit ConsoleDriver(std::vector<std::string> argv);
    ~ConsoleDriver();  // kills the program if it still runs
    ConsoleDriver(const ConsoleDriver&) = delete;
    ConsoleDriver& operator=(const ConsoleDriver&) = delete;

    // Waits until `text` appears in the output after the last match. On timeout, program
    // exit or one of the failure texts (e.g. "Kernel panic"), returns false and sets
    // error(). The search continues after the match.
    bool expect(std::string_view text, Seconds timeout);
    // Types `line` followed by "\n".
    void sendLine(std::string_view line);
    void send(std::string_view bytes);
    // Waits for the exit; the exit status, or nullopt on timeout (then error() says so).
    std::optional<int> waitExit(Seconds timeout);
    // Output that, when seen, fails the current expect at once.
    void failOn(std::string text) { failTexts_.push_back(std::move(text)); }

    [[nodiscard]] const std::string& log() const { return log_; }
    [[nodiscard]] const std::string& error() const { return error_; }
    // Output since the previous match up to the current one (what a command printed).
    [[nodiscard]] const std::string& lastChunk() const { return chunk_; }
    // "error\n--- console log ---\n<log>" for test failure messages.
    [[nodiscard]] std::string report() const;

private:
    bool pump(std::chrono::steady_clock::time_point until);  // false: EOF or timeout
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1;
    bool exited_ = false;
    int status_ = 0;
    std::string log_, error_, chunk_;
    std::size_t searchFrom_ = 0;
    std::vector<std::string> failTexts_;
};

}  // namespace cxvm::testing
