#pragma once
// What a VM instance's cross-VM connectors are (docs/crossvm.md "VMM side"): the
// system layer derives it from the spec (system/CrossVmLayout) and the connection
// objects it created; vmm::CrossVm puts it on a Vm. The descriptors stay owned by the
// caller and must outlive the CrossVm.
#include <cstdint>
#include <string>
#include <vector>

namespace cxvm::vmm {

struct CrossVmDataport {
    std::uint32_t id = 0;  // 1..n; the guest's SHARE names it
    std::string name;      // for messages: "vm0.data (conn_data, apps/x/x.camkes:9:5)"
    std::uint64_t size = 0;  // the spec's Buf(N): SHARE must give exactly this
    int memfd = -1;          // at least `size` bytes
};

struct CrossVmEvent {
    std::uint32_t id = 0;  // 1..n, per direction
    std::string name;
    int eventfd = -1;  // emits: the VMM writes it; consumes: the VMM reads it
};

struct CrossVmConfig {
    std::vector<CrossVmDataport> dataports;
    std::vector<CrossVmEvent> emits;     // guest -> native (token 3)
    std::vector<CrossVmEvent> consumes;  // native -> guest (token 2, IRQ `irq`)
    unsigned irq = 12;                   // ISA IRQ of consumed events (crossvm-abi.md)
};

}  // namespace cxvm::vmm
