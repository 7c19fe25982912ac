#pragma once
// Relays one component's output stream (the read end of its stdout or stderr pipe) to
// the supervisor's, a whole line at a time, each prefixed with the instance name. A
// last line without a newline is still delivered when the stream ends.
#include "util/UniqueFd.h"

#include <string>

namespace cxvm::system {

class OutputRelay {
public:
    OutputRelay(UniqueFd in, std::string prefix, int out);

    // Reads what is available (non-blocking) and writes complete lines. Returns false
    // once the stream has ended (the remainder has then been written).
    bool pump();
    // Reads until the end of the stream; used after the writer has exited.
    void drain();

    [[nodiscard]] int fd() const { return in_.get(); }
    [[nodiscard]] bool open() const { return in_.valid(); }

private:
    void emit(std::string_view line);
    void finish();

    UniqueFd in_;
    std::string prefix_;
    int out_;
    bool terminal_;  // out_ is a terminal: lines end in CR LF
    std::string pending_;
};

}  // namespace cxvm::system
