#pragma once
// The one definition of a VM instance's cross-VM ids (docs/crossvm.md "Ids"): which
// dataport, emitted event and consumed event of the spec the guest reaches through
// /dev/camkes_<iface> minor N, and what the VMM serves under id N. The VM instance
// process (CrossVmConfig) and the guest's /etc/init.d/S90camkes_init are both derived
// from it, so the two sides cannot disagree.
#include "adl/Model.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cxvm::system {

struct CrossVmEntry {
    std::string iface;       // interface of the VM type, e.g. "data"
    std::uint32_t id = 0;    // 1..n within its kind
    std::uint64_t size = 0;  // dataports: the declared Buf(N); 0 for events
    std::string connection;  // the spec's connection name, for messages
    adl::SourceLoc loc;      // where the id comes from: the `<iface>_id` setting, else the
                             // interface's declaration

    // The guest's device node.
    [[nodiscard]] std::string device() const { return "/dev/camkes_" + iface; }
};

struct CrossVmLayout {
    std::string instance;  // the VM instance, e.g. "vm.vm0"
    // Each in id order (entry k has id k+1).
    std::vector<CrossVmEntry> dataports;
    std::vector<CrossVmEntry> emits;     // guest -> native (`emits`)
    std::vector<CrossVmEntry> consumes;  // native -> guest (`consumes`)

    [[nodiscard]] bool empty() const {
        return dataports.empty() && emits.empty() && consumes.empty();
    }
};

// The cross-VM interfaces of VM instance `vm`. Dataport ids and sizes come from the
// `<iface>_id` / `<iface>_size` attributes the resolver checked or assigned; event ids
// from `<iface>_id` when set, else the declaration order within emits resp. consumes.
// Throws cxvm::Error naming file:line:col for an id that is 0, duplicated or leaves a
// gap, for an interface no connection uses, and for procedure interfaces (a guest has
// no way to reach them).
CrossVmLayout crossVmLayout(const adl::System& system, const adl::Instance& vm);

// The layouts of every VM instance of `system`, in instance order.
std::vector<CrossVmLayout> crossVmLayouts(const adl::System& system);

// The guest's /etc/init.d/S90camkes_init for these VMs: one `case` arm per VM instance,
// picked by `cxvm.instance=<instance>` on the kernel command line (the VM instance
// process appends it), with `dataport_init`, `consumes_event_init` and
// `emits_event_init` lines in id order; then /dev/camkes_* is made usable by every
// guest program. A guest without a matching arm only gets the chmod.
std::string camkesInitScript(std::span<const CrossVmLayout> layouts);

}  // namespace cxvm::system
