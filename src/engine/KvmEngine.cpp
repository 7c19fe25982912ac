#include "engine/KvmEngine.h"

#include "engine/KvmVcpu.h"
#include "util/Error.h"
#include "util/Log.h"

#include <sys/ioctl.h>

#include <algorithm>

namespace cxvm::engine {

// Devices' IRQ lines -> KVM_IRQ_LINE on the in-kernel irqchip (GSI = line number).
class KvmEngine::IrqLineSink final : public hw::IrqSink {
public:
    explicit IrqLineSink(int vmFd) : vmFd_(vmFd) {}
    void setIrqLevel(unsigned line, bool level) override {
        kvm_irq_level irq{};
        irq.irq = line;
        irq.level = level ? 1 : 0;
        kvmIoctl(vmFd_, KVM_IRQ_LINE, &irq, "KVM_IRQ_LINE");
    }

private:
    int vmFd_;
};

namespace {
// Addresses KVM needs for its own use on Intel (real-mode TSS, EPT identity map); kept
// just below the 4 GiB BIOS ROM window, away from RAM (< 3.5 GiB) and the PCI hole
// devices use, as QEMU does.
constexpr std::uint64_t kIdentityMapAddr = 0xFEFFC000;
constexpr std::uint64_t kTssAddr = 0xFEFFD000;  // 3 pages
}  // namespace

KvmEngine::KvmEngine(const MachineBus& bus, KvmOptions options)
    : bus_(bus), options_(std::move(options)), system_(options_.device) {
    vm_ = system_.createVm();
    maxSlots_ = static_cast<std::uint32_t>(std::max(system_.capability(KVM_CAP_NR_MEMSLOTS), 32));
    readOnlySlots_ = system_.capability(KVM_CAP_READONLY_MEM) > 0;
    if (system_.capability(KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
        std::uint64_t addr = kIdentityMapAddr;
        kvmIoctl(vm_.get(), KVM_SET_IDENTITY_MAP_ADDR, &addr, "KVM_SET_IDENTITY_MAP_ADDR");
    }
    if (system_.capability(KVM_CAP_SET_TSS_ADDR) > 0)
        kvmIoctl(vm_.get(), KVM_SET_TSS_ADDR, kTssAddr, "KVM_SET_TSS_ADDR");
    if (options_.irqchip == IrqChipMode::InKernel) {
        if (system_.capability(KVM_CAP_IRQCHIP) <= 0)
            throw Error::format("{}: no in-kernel irqchip (KVM_CAP_IRQCHIP)", system_.path());
        kvmIoctl(vm_.get(), KVM_CREATE_IRQCHIP, 0ul, "KVM_CREATE_IRQCHIP");
        if (options_.inKernelPit) {
            kvm_pit_config pit{};
            pit.flags = KVM_PIT_SPEAKER_DUMMY;  // port 0x61 answered in the kernel too
            kvmIoctl(vm_.get(), KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
        }
        irqSink_ = std::make_unique<IrqLineSink>(vm_.get());
    } else if (options_.inKernelPit) {
        throw Error("kvm engine: the in-kernel PIT needs the in-kernel irqchip");
    }
    if (options_.tscKhz != 0 && system_.capability(KVM_CAP_VM_TSC_CONTROL) > 0)
        kvmIoctl(vm_.get(), KVM_SET_TSC_KHZ, static_cast<unsigned long>(options_.tscKhz),
                 "KVM_SET_TSC_KHZ (VM)");
    syncMemory();
}

KvmEngine::~KvmEngine() = default;

hw::IrqSink* KvmEngine::inKernelIrqSink() { return irqSink_.get(); }

std::unique_ptr<Vcpu> KvmEngine::createVcpu(unsigned index) {
    return std::make_unique<KvmVcpu>(*this, index);
}

void KvmEngine::setSlot(std::uint32_t id, std::uint64_t gpa, std::uint64_t size,
                        std::uint8_t* host, bool readOnly) {
    kvm_userspace_memory_region r{};
    r.slot = id;
    r.flags = readOnly && readOnlySlots_ ? KVM_MEM_READONLY : 0;
    r.guest_phys_addr = gpa;
    r.memory_size = size;
    r.userspace_addr = reinterpret_cast<std::uint64_t>(host);
    if (::ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &r) != 0)
        throwErrno(fmt::format("KVM_SET_USER_MEMORY_REGION slot {} [{:#x}, +{:#x})", id, gpa, size));
}

void KvmEngine::resyncMemory() {
    std::lock_guard lock(memoryLock_);
    const std::uint64_t generation = bus_.memory.generation();
    if (generation == syncedGeneration_.load(std::memory_order_relaxed)) return;
    const auto& regions = bus_.memory.regions();
    auto same = [](const Slot& s, const hw::MemoryRegion& r) {
        return r.gpa == s.gpa && r.size == s.size && r.host == s.host && r.readOnly == s.readOnly;
    };
    auto wanted = [&](const Slot& s) {
        return std::any_of(regions.begin(), regions.end(), [&](const hw::MemoryRegion& r) { return same(s, r); });
    };
    // Deleting a slot is setting its size to 0 (api.rst 4.35).
    for (auto it = slots_.begin(); it != slots_.end();) {
        if (wanted(*it)) {
            ++it;
            continue;
        }
        setSlot(it->id, it->gpa, 0, it->host, false);
        it = slots_.erase(it);
    }
    // Dataport overlays replace pages inside the RAM mapping (same host range): KVM's MMU
    // notifier sees the new pages, so they need no slot of their own.
    for (const auto& r : regions) {
        bool have = std::any_of(slots_.begin(), slots_.end(), [&](const Slot& s) { return same(s, r); });
        if (have) continue;
        std::uint32_t id = 0;
        while (std::any_of(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.id == id; }))
            ++id;
        if (id >= maxSlots_)
            throw Error::format("kvm engine: region '{}' needs memory slot {} (host allows {})", r.name,
                                id, maxSlots_);
        if (r.readOnly && !readOnlySlots_)
            log::warn("kvm engine: no read-only memory slots; ROM '{}' is writable by the guest", r.name);
        setSlot(id, r.gpa, r.size, r.host, r.readOnly);
        slots_.push_back({id, r.gpa, r.size, r.host, r.readOnly});
    }
    syncedGeneration_.store(generation, std::memory_order_release);
}

}  // namespace cxvm::engine
