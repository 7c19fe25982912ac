#pragma once
// The C handler API of <vmm/vmm.h> on cxvm's VMM: while a HandlerWindow is open, the
// global `vmm` stands for one Vm and reg_new_handler() registers app handlers on its
// hypercall table. Registration errors are reported at once ("file.c:12: hypercall
// token 4 (f): ...") and counted, so that the VM instance can refuse to start the guest.
#include <string>

namespace cxvm::vmm {
class Vm;
}

namespace cxvm::system {

class HandlerWindow {
public:
    // Binds `vmm` to `vm` and opens registration. One window at a time.
    HandlerWindow(vmm::Vm& vm, std::string instance);
    // Unbinds `vmm`; registered handlers stay on the Vm's table.
    ~HandlerWindow();
    HandlerWindow(const HandlerWindow&) = delete;
    HandlerWindow& operator=(const HandlerWindow&) = delete;

    // Ends registration (the guest is about to run: the table must not change under
    // the vCPU). Later reg_new_handler calls fail with -1 and a report.
    void close();
    // Registration errors so far.
    [[nodiscard]] int errors() const;
};

}  // namespace cxvm::system
