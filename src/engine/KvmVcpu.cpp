#include "engine/KvmVcpu.h"

#include "engine/HypercallGate.h"
#include "engine/KvmCpuid.h"
#include "util/Error.h"
#include "util/Log.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <time.h>

namespace cxvm::engine {

namespace {

static_assert(sizeof(Regs) == sizeof(kvm_regs), "engine::Regs mirrors struct kvm_regs");

std::uint64_t loadLe(const std::uint8_t* p, unsigned size) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, size);  // x86 hosts only: little endian like the guest
    return v;
}

void storeLe(std::uint8_t* p, unsigned size, std::uint64_t v) { std::memcpy(p, &v, size); }

Segment fromKvm(const kvm_segment& k) {
    return {k.base, k.limit, k.selector, k.type, k.present, k.dpl, k.db, k.s, k.l, k.g, k.avl,
            k.unusable};
}

void toKvm(const Segment& s, kvm_segment& k) {
    k.base = s.base;
    k.limit = s.limit;
    k.selector = s.selector;
    k.type = s.type;
    k.present = s.present;
    k.dpl = s.dpl;
    k.db = s.db;
    k.s = s.s;
    k.l = s.l;
    k.g = s.g;
    k.avl = s.avl;
    k.unusable = s.unusable;
}

std::uint64_t monotonicNs() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

KvmVcpu::KvmVcpu(KvmEngine& engine, unsigned index)
    : engine_(engine), bus_(engine.bus()), index_(index) {
    int fd = ::ioctl(engine_.vmFd(), KVM_CREATE_VCPU, static_cast<unsigned long>(index));
    if (fd < 0) throwErrno(fmt::format("KVM_CREATE_VCPU {}", index));
    fd_ = UniqueFd(fd);
    runMapping_ = Mapping::map(engine_.system().vcpuMmapSize(), PROT_READ | PROT_WRITE, MAP_SHARED,
                               fd_.get());
    run_ = reinterpret_cast<kvm_run*>(runMapping_.data());
    userspaceIrqchip_ = engine_.options().irqchip == IrqChipMode::Userspace;

    CpuidPolicy policy;
    policy.vcpuIndex = index;
    policy.localApic = !userspaceIrqchip_;
    auto entries = buildGuestCpuid(engine_.system().supportedCpuid(), policy);
    KvmCpuidBuffer cpuid(entries);
    kvmIoctl(fd_.get(), kKvmSetCpuid2, cpuid.data(), "KVM_SET_CPUID2");
    if (userspaceIrqchip_) {
        // KVM resets IA32_APIC_BASE to "enabled at 0xFEE00000" even without a local APIC
        // and derives the guest's CPUID.1:EDX.APIC from it, so a guest would find an APIC
        // that is not there and spin on its MMIO page (Linux: "APIC: Stale IRR", tens of
        // seconds of exits). Disabled is the truth: the 8259 is the interrupt controller.
        kvm_sregs sregs{};
        kvmIoctl(fd_.get(), KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
        sregs.apic_base = 0;
        kvmIoctl(fd_.get(), KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
    }

    // Guest TSC rate: the VM-wide setting covers new vCPUs; older kernels set it per vCPU.
    if (engine_.options().tscKhz != 0 && engine_.system().capability(KVM_CAP_VM_TSC_CONTROL) <= 0) {
        if (engine_.system().capability(KVM_CAP_TSC_CONTROL) > 0)
            kvmIoctl(fd_.get(), KVM_SET_TSC_KHZ, static_cast<unsigned long>(engine_.options().tscKhz),
                     "KVM_SET_TSC_KHZ");
        else
            log::warn("kvm engine: host cannot scale the guest TSC; it runs at the host's rate");
    }
    vcpuKickSignal();  // install the kick handler before any other thread may send it
}

KvmVcpu::~KvmVcpu() = default;

Exit KvmVcpu::run(std::uint64_t /*maxInstructions: kvm cannot count them*/) {
    runThread_.store(::pthread_self());
    inRun_.store(true);
    struct RunGuard {
        std::atomic<bool>& flag;
        SliceTimer* timer;
        ~RunGuard() {
            if (timer) timer->disarm();
            flag.store(false);
        }
    };
    std::uint64_t deadline = ~0ull;
    if (slice_.count() > 0) {
        if (!timer_ || !::pthread_equal(timer_->thread(), ::pthread_self()))
            timer_ = std::make_unique<SliceTimer>();
        timer_->arm(slice_);
        deadline = monotonicNs() + static_cast<std::uint64_t>(slice_.count());
    }
    RunGuard guard{inRun_, slice_.count() > 0 ? timer_.get() : nullptr};

    for (;;) {
        if (stopRequested_.exchange(false)) {
            run_->immediate_exit = 0;
            return {ExitReason::Stopped, {}, {}};
        }
        engine_.syncMemory();
        if (userspaceIrqchip_) injectInterrupts();
        if (::ioctl(fd_.get(), KVM_RUN, 0) != 0) {
            if (errno != EINTR && errno != EAGAIN) throwErrno(fmt::format("vCPU {}: KVM_RUN", index_));
            run_->immediate_exit = 0;
            if (stopRequested_.load()) continue;  // reported at the top of the loop
            if (deadline != ~0ull && monotonicNs() >= deadline) {
                if (!userspaceIrqchip_ && haltedWithInterruptsOff()) return {ExitReason::Halt, {}, {}};
                return {ExitReason::SliceEnd, {}, {}};
            }
            continue;
        }
        hypercallPending_ = false;
        switch (run_->exit_reason) {
        case KVM_EXIT_IO:
            if (run_->io.port == kHypercallPort && run_->io.direction == KVM_EXIT_IO_OUT &&
                run_->io.size == 4 && run_->io.count == 1)
                return hypercallExit();
            handleIo();
            break;
        case KVM_EXIT_MMIO:
            handleMmio();
            break;
        case KVM_EXIT_IRQ_WINDOW_OPEN:
            ++exits_;
            break;
        case KVM_EXIT_INTR:
            break;
        case KVM_EXIT_HLT:
            // An interrupt the guest can take now wakes the HLT at once, as on hardware
            // (e.g. `sti; hlt` with INTR already high: the window opens on the HLT).
            if (userspaceIrqchip_ && run_->if_flag && bus_.pins.intr.load(std::memory_order_acquire))
                break;
            return {ExitReason::Halt, {}, {}};
        case KVM_EXIT_SHUTDOWN:
            return shutdownExit("triple fault (KVM_EXIT_SHUTDOWN)");
        case KVM_EXIT_SYSTEM_EVENT:
            switch (run_->system_event.type) {
            case KVM_SYSTEM_EVENT_RESET:
                return shutdownExit("reset requested (KVM_SYSTEM_EVENT_RESET)");
            case KVM_SYSTEM_EVENT_SHUTDOWN:
                return shutdownExit("power off (KVM_SYSTEM_EVENT_SHUTDOWN)");
            default:
                return shutdownExit(fmt::format("KVM system event {}", run_->system_event.type));
            }
        default:
            failExit();
        }
        if (deadline != ~0ull && monotonicNs() >= deadline) return {ExitReason::SliceEnd, {}, {}};
    }
}

// With the in-kernel irqchip KVM keeps a halted vCPU inside KVM_RUN until an interrupt
// wakes it, so `cli; hlt` (Linux's power-off without ACPI) never exits. When a slice ends
// on a vCPU that KVM reports halted (KVM_GET_MP_STATE, api.rst 4.38) with IF = 0, only an
// NMI could wake it: report Halt, and the VMM decides as for the userspace irqchip.
bool KvmVcpu::haltedWithInterruptsOff() const {
    kvm_mp_state mp{};
    kvmIoctl(fd_.get(), KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");
    constexpr std::uint64_t kEflagsIf = 1u << 9;
    return mp.mp_state == KVM_MP_STATE_HALTED && (regs().rflags & kEflagsIf) == 0;
}

// Userspace 8259 (the devices' model) -> the vCPU, as the INTR pin and INTA cycle would:
// inject only when the guest can take an interrupt now, else ask KVM for an exit at the
// moment it can (request_interrupt_window; api.rst 5, "kvm_run").
void KvmVcpu::injectInterrupts() {
    hw::CpuInterruptPins& pins = bus_.pins;
    if (pins.nmi.exchange(false, std::memory_order_acq_rel))
        kvmIoctl(fd_.get(), KVM_NMI, 0ul, "KVM_NMI");
    if (!pins.intr.load(std::memory_order_acquire) || pins.controller == nullptr) {
        run_->request_interrupt_window = 0;
        return;
    }
    if (run_->ready_for_interrupt_injection && run_->if_flag) {
        kvm_interrupt irq{};
        irq.irq = pins.controller->acknowledge();
        kvmIoctl(fd_.get(), KVM_INTERRUPT, &irq, "KVM_INTERRUPT");
        // Another request may be pending behind this one: exit again once it can be taken.
        run_->request_interrupt_window = pins.intr.load(std::memory_order_acquire) ? 1 : 0;
    } else {
        run_->request_interrupt_window = 1;
    }
}

void KvmVcpu::handleIo() {
    ++exits_;
    const auto& io = run_->io;
    const unsigned size = io.size;
    const std::size_t bytes = static_cast<std::size_t>(size) * io.count;
    if ((size != 1 && size != 2 && size != 4) || io.data_offset > runMapping_.size() ||
        bytes > runMapping_.size() - io.data_offset)
        throw Error::format("kvm engine: malformed KVM_EXIT_IO (port {:#x}, size {}, count {})", io.port,
                            size, io.count);
    std::uint8_t* data = runMapping_.data() + io.data_offset;
    // count > 1 is a REP INS/OUTS that KVM split into one exit per page.
    for (std::uint32_t i = 0; i < io.count; ++i, data += size) {
        if (io.direction == KVM_EXIT_IO_OUT)
            bus_.io.write(io.port, size, static_cast<std::uint32_t>(loadLe(data, size)));
        else
            storeLe(data, size, bus_.io.read(io.port, size));
    }
}

void KvmVcpu::handleMmio() {
    ++exits_;
    auto& m = run_->mmio;
    const unsigned len = m.len;
    if (len == 0 || len > sizeof(m.data))
        throw Error::format("kvm engine: malformed KVM_EXIT_MMIO at {:#x} (len {})", m.phys_addr, len);
    if (m.is_write) {
        // A write to a read-only slot (ROM) exits as MMIO: ROM ignores writes.
        const hw::MemoryRegion* r = bus_.memory.regionAt(m.phys_addr);
        if (r && r->readOnly) return;
        bus_.mmio.write(m.phys_addr, len, loadLe(m.data, len));
    } else {
        storeLe(m.data, len, bus_.mmio.read(m.phys_addr, len));
    }
}

// The port-I/O hypercall gate (hypercall_abi.h): `outl %eax, $CXVM_HYPERCALL_PORT` with the
// token in EAX and arguments in EBX, ECX, EDX, ESI. KVM resumes after the OUT on the next
// KVM_RUN; completeHypercall() puts the result in EAX before that.
Exit KvmVcpu::hypercallExit() {
    const Regs r = regs();
    hypercallPending_ = true;
    Exit e{ExitReason::Hypercall, {}, {}};
    e.hypercall = {static_cast<std::uint32_t>(r.rax), static_cast<std::uint32_t>(r.rbx),
                   static_cast<std::uint32_t>(r.rcx), static_cast<std::uint32_t>(r.rdx),
                   static_cast<std::uint32_t>(r.rsi)};
    return e;
}

void KvmVcpu::completeHypercall(std::uint32_t eax) {
    if (!hypercallPending_) throw Error("kvm engine: completeHypercall() without a pending hypercall");
    Regs r = regs();
    // Writing EAX clears the upper half of RAX, as a 32-bit register write does.
    r.rax = eax;
    setRegs(r);
    hypercallPending_ = false;
}

Exit KvmVcpu::shutdownExit(std::string why) const {
    Exit e{ExitReason::Shutdown, {}, {}};
    const Regs r = regs();
    e.detail = fmt::format("vCPU {}: {} at rip {:#x}", index_, why, r.rip);
    return e;
}

void KvmVcpu::failExit() const {
    const Regs r = regs();
    switch (run_->exit_reason) {
    case KVM_EXIT_FAIL_ENTRY:
        throw Error::format("vCPU {}: VM entry failed (hardware reason {:#x}) at rip {:#x}", index_,
                            run_->fail_entry.hardware_entry_failure_reason, r.rip);
    case KVM_EXIT_INTERNAL_ERROR:
        throw Error::format("vCPU {}: KVM internal error {} (1 = emulation failure) at rip {:#x}",
                            index_, run_->internal.suberror, r.rip);
    default:
        throw Error::format("vCPU {}: unexpected KVM exit {} at rip {:#x}", index_, run_->exit_reason,
                            r.rip);
    }
}

void KvmVcpu::requestStop() {
    // Order matters (api.rst "immediate_exit"): the flag the next KVM_RUN checks, then
    // our own flag, then the signal that gets a running KVM_RUN out of the guest.
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
    stopRequested_.store(true);
    if (inRun_.load()) kickThread(runThread_.load());
}

Regs KvmVcpu::regs() const {
    kvm_regs k{};
    kvmIoctl(fd_.get(), KVM_GET_REGS, &k, "KVM_GET_REGS");
    Regs r;
    std::memcpy(&r, &k, sizeof r);
    return r;
}

void KvmVcpu::setRegs(const Regs& r) {
    kvm_regs k{};
    std::memcpy(&k, &r, sizeof k);
    kvmIoctl(fd_.get(), KVM_SET_REGS, &k, "KVM_SET_REGS");
}

Sregs KvmVcpu::sregs() const {
    kvm_sregs k{};
    kvmIoctl(fd_.get(), KVM_GET_SREGS, &k, "KVM_GET_SREGS");
    Sregs s;
    s.cs = fromKvm(k.cs);
    s.ds = fromKvm(k.ds);
    s.es = fromKvm(k.es);
    s.fs = fromKvm(k.fs);
    s.gs = fromKvm(k.gs);
    s.ss = fromKvm(k.ss);
    s.tr = fromKvm(k.tr);
    s.ldt = fromKvm(k.ldt);
    s.gdt = {k.gdt.base, k.gdt.limit};
    s.idt = {k.idt.base, k.idt.limit};
    s.cr0 = k.cr0;
    s.cr2 = k.cr2;
    s.cr3 = k.cr3;
    s.cr4 = k.cr4;
    s.efer = k.efer;
    return s;
}

void KvmVcpu::setSregs(const Sregs& s) {
    kvm_sregs k{};
    // Keep what Sregs does not carry (APIC base, CR8, pending interrupt bitmap).
    kvmIoctl(fd_.get(), KVM_GET_SREGS, &k, "KVM_GET_SREGS");
    toKvm(s.cs, k.cs);
    toKvm(s.ds, k.ds);
    toKvm(s.es, k.es);
    toKvm(s.fs, k.fs);
    toKvm(s.gs, k.gs);
    toKvm(s.ss, k.ss);
    toKvm(s.tr, k.tr);
    toKvm(s.ldt, k.ldt);
    k.gdt.base = s.gdt.base;
    k.gdt.limit = s.gdt.limit;
    k.idt.base = s.idt.base;
    k.idt.limit = s.idt.limit;
    k.cr0 = s.cr0;
    k.cr2 = s.cr2;
    k.cr3 = s.cr3;
    k.cr4 = s.cr4;
    k.efer = s.efer;
    kvmIoctl(fd_.get(), KVM_SET_SREGS, &k, "KVM_SET_SREGS");
}

// Power-on state (Intel SDM Vol. 3A 9.1.1, Table 9-1; AMD APM Vol. 2 14.1.3).
void KvmVcpu::reset() {
    Sregs s = sregs();
    auto realSeg = [](std::uint16_t sel, std::uint64_t base, std::uint8_t type) {
        Segment g;
        g.selector = sel;
        g.base = base;
        g.limit = 0xFFFF;
        g.type = type;
        g.present = 1;
        g.s = 1;
        return g;
    };
    s.cs = realSeg(0xF000, 0xFFFF0000, 0xB);  // execute/read, accessed
    s.ds = s.es = s.fs = s.gs = s.ss = realSeg(0, 0, 0x3);  // read/write, accessed
    s.tr = {};
    s.tr.limit = 0xFFFF;
    s.tr.type = 0xB;  // busy 32-bit TSS (what VMX/SVM accept in real mode)
    s.tr.present = 1;
    s.ldt = {};
    s.ldt.limit = 0xFFFF;
    s.ldt.type = 0x2;
    s.ldt.present = 1;
    s.gdt = {0, 0xFFFF};
    s.idt = {0, 0xFFFF};
    s.cr0 = 0x60000010;  // CD, NW, ET
    s.cr2 = s.cr3 = s.cr4 = 0;
    s.efer = 0;
    setSregs(s);
    Regs r{};
    r.rip = 0xFFF0;
    r.rflags = 0x2;
    r.rdx = 0x600;  // processor signature: family 6
    setRegs(r);
    hypercallPending_ = false;
}

}  // namespace cxvm::engine
