#pragma once
// A tiny self-contained kvm machine: guest RAM, buses, interrupt pins, one engine and
// one vCPU in flat 32-bit protected mode. For code that runs hand-assembled guests
// outside a VM: the engine-selection calibration, the engine tests, the benchmarks.
#include "engine/KvmEngine.h"
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/MmioBus.h"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>

namespace cxvm::engine {

class KvmScratchMachine {
public:
    static constexpr std::uint64_t kCode = 0x1000;  // default entry point
    static constexpr std::uint64_t kGdt = 0x500;    // null, code 0x08, data 0x10
    static constexpr std::uint64_t kIdt = 0x600;    // 256 gates
    static constexpr std::uint64_t kStackTop = 0x8000;

    explicit KvmScratchMachine(KvmOptions options = {}, std::uint64_t ramBytes = 1 << 20);

    void load(std::uint64_t gpa, std::span<const std::uint8_t> bytes) { memory->write(gpa, bytes); }
    void load(std::uint64_t gpa, std::initializer_list<std::uint8_t> bytes) {
        load(gpa, std::span<const std::uint8_t>(bytes.begin(), bytes.size()));
    }
    // Flat 32-bit protected mode with the GDT and an IDT at kIdt, RIP = `rip`.
    void protectedMode(std::uint64_t rip = kCode);
    // 32-bit interrupt gate for `vector` to `handler` (code selector 0x08).
    void interruptGate(std::uint8_t vector, std::uint32_t handler);

    std::unique_ptr<hw::GuestMemory> memory;
    std::unique_ptr<hw::IoBus> io;  // 128 KiB of port index: on the heap
    std::unique_ptr<hw::MmioBus> mmio;
    hw::CpuInterruptPins pins;
    MachineBus bus;
    std::unique_ptr<KvmEngine> engine;
    std::unique_ptr<Vcpu> vcpu;
};

}  // namespace cxvm::engine
