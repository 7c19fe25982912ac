#pragma once
// Constants of the virtio 1.2 specification (OASIS, virtio-v1.2-cs01) that the transport,
// the virtqueues and the devices share. Section numbers are the spec's.
#include <cstdint>

namespace cxvm::hw::virtio {

// 2.1 Device Status Field.
namespace status {
inline constexpr std::uint8_t kAcknowledge = 1;
inline constexpr std::uint8_t kDriver = 2;
inline constexpr std::uint8_t kDriverOk = 4;
inline constexpr std::uint8_t kFeaturesOk = 8;
inline constexpr std::uint8_t kDeviceNeedsReset = 64;
inline constexpr std::uint8_t kFailed = 128;
}  // namespace status

// 6 Reserved Feature Bits (bit numbers).
namespace feature {
inline constexpr unsigned kIndirectDesc = 28;  // VIRTIO_F_INDIRECT_DESC
inline constexpr unsigned kEventIdx = 29;      // VIRTIO_F_EVENT_IDX
inline constexpr unsigned kVersion1 = 32;      // VIRTIO_F_VERSION_1
inline constexpr unsigned kAccessPlatform = 33;
inline constexpr unsigned kRingPacked = 34;
}  // namespace feature

constexpr std::uint64_t bit(unsigned n) { return std::uint64_t{1} << n; }

// 5 Device Types (the ids this code knows).
enum class DeviceType : std::uint16_t { Net = 1, Block = 2 };

// 2.7.5 The Virtqueue Descriptor Table; 2.7.6 / 2.7.8 rings.
namespace desc {
inline constexpr std::uint16_t kNext = 1;
inline constexpr std::uint16_t kWrite = 2;
inline constexpr std::uint16_t kIndirect = 4;
inline constexpr unsigned kSize = 16;  // le64 addr, le32 len, le16 flags, le16 next
}  // namespace desc
inline constexpr std::uint16_t kAvailNoInterrupt = 1;  // VIRTQ_AVAIL_F_NO_INTERRUPT
inline constexpr std::uint16_t kUsedNoNotify = 1;      // VIRTQ_USED_F_NO_NOTIFY
inline constexpr std::uint16_t kMaxQueueSize = 32768;  // 2.7: split queues

// 4.1.4 Virtio Structure PCI Capabilities: cfg_type values.
enum class PciCapType : std::uint8_t { Common = 1, Notify = 2, Isr = 3, Device = 4, PciCfg = 5 };
inline constexpr std::uint8_t kPciCapVendor = 0x09;  // PCI_CAP_ID_VNDR

// 4.1.4.3 Common configuration structure layout (struct virtio_pci_common_cfg).
namespace common {
inline constexpr unsigned kDeviceFeatureSelect = 0x00;
inline constexpr unsigned kDeviceFeature = 0x04;
inline constexpr unsigned kDriverFeatureSelect = 0x08;
inline constexpr unsigned kDriverFeature = 0x0C;
inline constexpr unsigned kConfigMsixVector = 0x10;
inline constexpr unsigned kNumQueues = 0x12;
inline constexpr unsigned kDeviceStatus = 0x14;
inline constexpr unsigned kConfigGeneration = 0x15;
inline constexpr unsigned kQueueSelect = 0x16;
inline constexpr unsigned kQueueSize = 0x18;
inline constexpr unsigned kQueueMsixVector = 0x1A;
inline constexpr unsigned kQueueEnable = 0x1C;
inline constexpr unsigned kQueueNotifyOff = 0x1E;
inline constexpr unsigned kQueueDesc = 0x20;
inline constexpr unsigned kQueueDriver = 0x28;
inline constexpr unsigned kQueueDevice = 0x30;
inline constexpr unsigned kQueueNotifyData = 0x38;  // 1.2
inline constexpr unsigned kQueueReset = 0x3A;       // 1.2, only with VIRTIO_F_RING_RESET
inline constexpr unsigned kSize = 0x3C;
}  // namespace common
inline constexpr std::uint16_t kNoMsiVector = 0xFFFF;  // VIRTIO_MSI_NO_VECTOR

// 4.1.4.5 ISR status bits.
inline constexpr std::uint8_t kIsrQueue = 1;
inline constexpr std::uint8_t kIsrConfig = 2;

// 4.1.2 PCI Device Discovery: modern device ids are 0x1040 + type, vendor 0x1AF4.
inline constexpr std::uint16_t kPciVendor = 0x1AF4;
inline constexpr std::uint16_t kPciModernDeviceBase = 0x1040;

}  // namespace cxvm::hw::virtio
