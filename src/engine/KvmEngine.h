#pragma once
// The kvm engine: one KVM VM (Documentation/virt/kvm/api.rst) over the VM's
// GuestMemory, buses and interrupt pins. Guest RAM is the same memfd-backed mapping the
// interp engine and the devices use, registered as KVM memory slots.
#include "engine/KvmSystem.h"
#include "engine/Vcpu.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cxvm::engine {

// Where the guest's interrupt controller lives (docs/kvm.md "Interrupts").
enum class IrqChipMode : std::uint8_t {
    // cxvm's own 8259 pair drives CpuInterruptPins; the engine injects with KVM_INTERRUPT
    // when the guest can take it. Same devices and semantics as interp (the default).
    Userspace,
    // KVM_CREATE_IRQCHIP: the kernel's PIC/IOAPIC/LAPIC. Devices drive inKernelIrqSink().
    InKernel,
};

struct KvmOptions {
    std::string device = KvmSystem::kDefaultPath;
    IrqChipMode irqchip = IrqChipMode::Userspace;
    // With InKernel: also the kernel's 8254 (KVM_CREATE_PIT2); else the PIT is cxvm's.
    bool inKernelPit = false;
    // Guest TSC rate in kHz (KVM_SET_TSC_KHZ); 0 keeps the host's rate.
    std::uint32_t tscKhz = 0;
};

class KvmEngine final : public Engine {
public:
    KvmEngine(const MachineBus& bus, KvmOptions options = {});
    ~KvmEngine() override;
    KvmEngine(const KvmEngine&) = delete;
    KvmEngine& operator=(const KvmEngine&) = delete;

    [[nodiscard]] EngineKind kind() const override { return EngineKind::Kvm; }
    std::unique_ptr<Vcpu> createVcpu(unsigned index) override;

    // With IrqChipMode::InKernel: the sink whose line N is the kernel irqchip's GSI N
    // (ISA IRQs 0..15 reach both the PIC and the IOAPIC); nullptr in Userspace mode.
    [[nodiscard]] hw::IrqSink* inKernelIrqSink();

    [[nodiscard]] const KvmOptions& options() const { return options_; }
    [[nodiscard]] const KvmSystem& system() const { return system_; }
    [[nodiscard]] const MachineBus& bus() const { return bus_; }
    [[nodiscard]] int vmFd() const { return vm_.get(); }

    // Registers every GuestMemory region as a memory slot and drops vanished ones.
    // Cheap when GuestMemory::generation() is unchanged (vCPUs call it before KVM_RUN).
    void syncMemory() {
        if (bus_.memory.generation() != syncedGeneration_.load(std::memory_order_acquire))
            resyncMemory();
    }

private:
    struct Slot {
        std::uint32_t id;
        std::uint64_t gpa, size;
        std::uint8_t* host;
        bool readOnly;
    };
    class IrqLineSink;
    void resyncMemory();
    void setSlot(std::uint32_t id, std::uint64_t gpa, std::uint64_t size, std::uint8_t* host,
                 bool readOnly);

    MachineBus bus_;
    KvmOptions options_;
    KvmSystem system_;
    UniqueFd vm_;
    std::unique_ptr<IrqLineSink> irqSink_;
    std::mutex memoryLock_;
    std::vector<Slot> slots_;
    std::uint32_t maxSlots_ = 0;
    bool readOnlySlots_ = false;
    std::atomic<std::uint64_t> syncedGeneration_{~0ull};
};

}  // namespace cxvm::engine
