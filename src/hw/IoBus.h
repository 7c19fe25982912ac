#pragma once
// Port I/O bus (x86 I/O address space, 64 KiB ports). O(1) dispatch through a per-port
// index so an OUT to the serial port costs one table load and one virtual call.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cxvm::hw {

class IoDevice {
public:
    virtual ~IoDevice() = default;
    // size is 1, 2 or 4; port is the absolute port number.
    virtual std::uint32_t ioRead(std::uint16_t port, unsigned size) = 0;
    virtual void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) = 0;
    [[nodiscard]] virtual std::string_view name() const = 0;
};

class IoBus {
public:
    IoBus();
    // Claims [first, first+count). Throws cxvm::Error naming both devices on overlap.
    void attach(std::uint16_t first, std::uint32_t count, IoDevice& dev);
    // Releases every port `dev` claimed (a PCI I/O BAR moving or turned off).
    void detach(IoDevice& dev);
    [[nodiscard]] IoDevice* deviceAt(std::uint16_t port) const { return devices_[index_[port]]; }

    // Unclaimed ports: reads give all ones, writes are dropped; each port is logged once.
    std::uint32_t read(std::uint16_t port, unsigned size);
    void write(std::uint16_t port, unsigned size, std::uint32_t value);

private:
    void logUnclaimed(std::uint16_t port, bool write, unsigned size, std::uint32_t value);
    std::array<std::uint16_t, 65536> index_{};  // 0 = unclaimed
    std::vector<IoDevice*> devices_;             // devices_[0] == nullptr
    std::vector<bool> logged_;
};

}  // namespace cxvm::hw
