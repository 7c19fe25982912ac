#pragma once
// Choosing the engine for `cxvm run --engine auto|interp|kvm` (docs/kvm.md "Engine
// choice"). `auto` uses kvm only when /dev/kvm runs guest code at hardware-assisted
// speed, measured by a short protected-mode calibration guest: a KVM that merely
// accepts guests (e.g. a paravirtual, page-table based one) is slower than interp.
#include "engine/Vcpu.h"

#include <optional>
#include <string>
#include <string_view>

namespace cxvm::engine {

enum class EngineChoice : std::uint8_t { Auto, Interp, Kvm };

// "auto", "interp", "kvm"; nullopt for anything else.
std::optional<EngineChoice> parseEngineChoice(std::string_view);

struct KvmProbe {
    bool opened = false;           // the device opened and has the API cxvm needs
    bool hardwareSpeed = false;    // the calibration loop ran at least kMinGuestIps
    double guestIps = 0;           // measured guest instructions per second
    std::string detail;            // why not, when !opened or the guest misbehaved
};

// Guest instructions per second below which KVM is not hardware-assisted. Measured:
// a page-table-based PVM KVM ~5e5/s; hardware VT-x/SVM >= 1e9/s; KVM nested in QEMU TCG
// 1e7..5e8/s depending on host load. The threshold sits 40x above PVM and 50x below
// hardware, so host noise cannot flip the answer on either.
inline constexpr double kMinGuestIps = 2e7;

// Runs the calibration guest on `device` (tens of microseconds on hardware, tens of
// milliseconds on a slow KVM). Never throws: failures are reported in the result.
KvmProbe probeKvm(const std::string& device = "/dev/kvm");

struct EngineSelection {
    EngineKind kind = EngineKind::Interp;
    std::string reason;  // one line for the user, e.g. why auto did not pick kvm
};

// Interp and Kvm are taken as asked (kvm errors surface when the engine is created);
// Auto probes.
EngineSelection selectEngine(EngineChoice choice, const std::string& device = "/dev/kvm");

}  // namespace cxvm::engine
