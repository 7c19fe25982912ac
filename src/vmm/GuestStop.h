#pragma once
// Why a VM stopped running and what cxvm's exit status is.
#include <cstdint>
#include <string>

namespace cxvm::vmm {

enum class StopKind : std::uint8_t {
    Halted,       // cli; hlt — Linux's poweroff/halt on a PC without ACPI
    Reset,        // reset request (i8042 0xFE, port 0xCF9, reboot): "guest asked to stop"
    DebugExit,    // the test device's exit port
    TripleFault,  // engine Shutdown: register dump, non-zero status
    UserQuit,     // Ctrl-A x
    Signal,       // SIGINT/SIGTERM/SIGHUP on the host
    InstructionLimit,  // --max-instructions reached (tests, benchmarks)
    HandlerFailed,     // a register-level hypercall handler returned non-zero: status 1
};

struct GuestStop {
    StopKind kind = StopKind::Halted;
    int exitStatus = 0;
    std::string detail;
};

// Devices and signal handlers report a stop request here; the VM loop checks it after
// every slice (device callbacks run inside a slice and must not unwind the engine).
class StopLatch {
public:
    void request(StopKind k, int status, std::string detail) {
        if (pending_) return;  // the first reason wins
        pending_ = true;
        stop_ = {k, status, std::move(detail)};
    }
    [[nodiscard]] bool pending() const { return pending_; }
    [[nodiscard]] const GuestStop& stop() const { return stop_; }

private:
    bool pending_ = false;
    GuestStop stop_;
};

}  // namespace cxvm::vmm
