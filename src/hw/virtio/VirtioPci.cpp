#include "hw/virtio/VirtioPci.h"

#include "hw/GuestMemory.h"
#include "util/Error.h"

#include <algorithm>
#include <cstring>

namespace cxvm::hw::virtio {

namespace {

constexpr std::uint16_t kCommandIntxDisable = 0x400;

// PCI ids per device type (4.1.2): modern-only devices use 0x1040 + type, revision 1
// and a subsystem id of 0x40 or more; the class code is informational.
struct TypeIds {
    DeviceType type;
    std::uint32_t classCode;
};
constexpr TypeIds kTypeIds[] = {
    {DeviceType::Net, 0x020000},    // network controller, Ethernet
    {DeviceType::Block, 0x010000},  // mass storage, SCSI (as QEMU's virtio-blk-pci)
};

PciIds idsFor(DeviceType type) {
    std::uint32_t classCode = 0xFF0000;  // unassigned
    for (const TypeIds& t : kTypeIds)
        if (t.type == type) classCode = t.classCode;
    const auto id = static_cast<std::uint16_t>(kPciModernDeviceBase + static_cast<std::uint16_t>(type));
    return PciIds{.vendor = kPciVendor, .device = id, .classCode = classCode, .revision = 1,
                  .subsystemVendor = kPciVendor, .subsystem = 0x40, .interruptPin = 1};
}

void put(std::span<std::uint8_t> b, unsigned offset, unsigned size, std::uint64_t v) {
    for (unsigned i = 0; i < size; ++i) b[offset + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t get(std::span<const std::uint8_t> b, unsigned offset, unsigned size) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= std::uint64_t{b[offset + i]} << (8 * i);
    return v;
}

// struct virtio_pci_cap after cap_vndr and cap_next (4.1.4): cap_len, cfg_type, bar,
// id, padding[2], offset, length, then `extra` (notify_off_multiplier, pci_cfg_data).
std::array<std::uint8_t, 18> capBody(PciCapType type, std::uint32_t offset, std::uint32_t length,
                                     std::uint32_t extra, unsigned capLen) {
    std::array<std::uint8_t, 18> b{};
    b[0] = static_cast<std::uint8_t>(capLen);
    b[1] = static_cast<std::uint8_t>(type);
    b[2] = VirtioPci::kBar;
    put(b, 6, 4, offset);
    put(b, 10, 4, length);
    put(b, 14, 4, extra);
    return b;
}

// Offsets in struct virtio_pci_cfg_cap (4.1.4.9), from the capability's start.
constexpr unsigned kCfgBar = 4, kCfgOffset = 8, kCfgLength = 12, kCfgData = 16;

}  // namespace

const std::array<VirtioPci::CommonField, 10> VirtioPci::kCommonFields{{
    {common::kDeviceFeatureSelect, 4, &VirtioPci::setDeviceFeatureSelect},
    {common::kDriverFeatureSelect, 4, &VirtioPci::setDriverFeatureSelect},
    {common::kDriverFeature, 4, &VirtioPci::setDriverFeature},
    {common::kDeviceStatus, 1, &VirtioPci::setStatus},
    {common::kQueueSelect, 2, &VirtioPci::setQueueSelect},
    {common::kQueueSize, 2, &VirtioPci::setQueueSize},
    {common::kQueueEnable, 2, &VirtioPci::setQueueEnable},
    {common::kQueueDesc, 8, &VirtioPci::setQueueDesc},
    {common::kQueueDriver, 8, &VirtioPci::setQueueDriver},
    {common::kQueueDevice, 8, &VirtioPci::setQueueDevice},
}};

VirtioPci::VirtioPci(VirtioDevice& device, const GuestMemory& memory, MmioBus& mmio, IrqLine irq)
    : PciFunction(std::string(device.name()), idsFor(device.type())),
      device_(device),
      memory_(memory),
      mmio_(mmio),
      irq_(irq) {
    defineBar(kBar, PciBarKind::Memory32, kBarSize);
    const auto queues = static_cast<std::uint32_t>(device.queues().size());
    const auto configLen = static_cast<std::uint32_t>(device.config().size());
    if (configLen > kNotifyOffset - kDeviceOffset)
        throw Error::format("{}: device config of {} bytes does not fit the BAR layout", name(), configLen);
    auto common = capBody(PciCapType::Common, kCommonOffset, common::kSize, 0, 16);
    addCapability(kPciCapVendor, std::span(common).first(14));
    auto notify = capBody(PciCapType::Notify, kNotifyOffset, kNotifyMultiplier * std::max(queues, 1u),
                          kNotifyMultiplier, 20);
    addCapability(kPciCapVendor, notify);
    auto isr = capBody(PciCapType::Isr, kIsrOffset, 4, 0, 16);
    addCapability(kPciCapVendor, std::span(isr).first(14));
    if (configLen) {
        auto dev = capBody(PciCapType::Device, kDeviceOffset, configLen, 0, 16);
        addCapability(kPciCapVendor, std::span(dev).first(14));
    }
    // 4.1.4.9: bar, offset, length and pci_cfg_data are the driver's to write.
    auto cfg = capBody(PciCapType::PciCfg, 0, 0, 0, 20);
    constexpr std::array<std::uint8_t, 18> kCfgWritable{0, 0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                                                         0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    pciCfgCap_ = addCapability(kPciCapVendor, cfg, kCfgWritable);
    onDecodeChanged = [this](PciFunction&) {
        remapBar();
        updateIrq();  // the command register's INTx disable bit may have changed
    };
    device_.bind(*this);
}

VirtioPci::~VirtioPci() {
    if (barMapped_) mmio_.detach(*this);
}

void VirtioPci::remapBar() {
    if (barMapped_) mmio_.detach(*this);
    barMapped_ = false;
    const auto address = barAddress(kBar);
    if (!address) return;
    try {
        mmio_.attach(*address, kBarSize, *this);
        barMapped_ = true;
    } catch (const Error& e) {
        warnings_.warn("{}: BAR {} at {:#x} not mapped: {}", name(), kBar, *address, e.what());
    }
}

bool VirtioPci::live() const {
    return (status_ & status::kDriverOk) && !(status_ & (status::kDeviceNeedsReset | status::kFailed));
}

// ---- interrupts (4.1.4.5, 4.1.5.3/4) ----

void VirtioPci::updateIrq() {
    const bool level = isr_ != 0 && !(command() & kCommandIntxDisable);
    if (level == irqRaised_) return;
    irqRaised_ = level;
    irq_.set(level);
}

void VirtioPci::interruptQueue() {
    isr_ |= kIsrQueue;
    updateIrq();
}

void VirtioPci::deviceNeedsReset() {
    if (status_ & status::kDeviceNeedsReset) return;
    status_ |= status::kDeviceNeedsReset;
    warnings_.warn("{}: device marked DEVICE_NEEDS_RESET; it ignores its queues until the driver resets it",
                   name());
    // 2.1.2: with DRIVER_OK set, the driver learns of it by a config change notification.
    if (status_ & status::kDriverOk) {
        isr_ |= kIsrConfig;
        updateIrq();
    }
}

// ---- common configuration (4.1.4.3) ----

VirtioPci::Image VirtioPci::commonImage() const {
    Image b{};
    const std::uint64_t features = device_.features();
    put(b, common::kDeviceFeatureSelect, 4, deviceFeatureSelect_);
    put(b, common::kDeviceFeature, 4, deviceFeatureSelect_ < 2 ? features >> (32 * deviceFeatureSelect_) : 0);
    put(b, common::kDriverFeatureSelect, 4, driverFeatureSelect_);
    put(b, common::kDriverFeature, 4,
        driverFeatureSelect_ < 2 ? driverFeatures_ >> (32 * driverFeatureSelect_) : 0);
    put(b, common::kConfigMsixVector, 2, kNoMsiVector);
    put(b, common::kNumQueues, 2, device_.queues().size());
    b[common::kDeviceStatus] = status_;
    b[common::kConfigGeneration] = 0;  // the device config never changes under the driver
    put(b, common::kQueueSelect, 2, queueSelect_);
    const auto queues = device_.queues();
    if (queueSelect_ < queues.size()) {
        const SplitVirtqueue& q = queues[queueSelect_];
        put(b, common::kQueueSize, 2, q.size);
        put(b, common::kQueueMsixVector, 2, kNoMsiVector);
        put(b, common::kQueueEnable, 2, q.enabled() ? 1 : 0);
        put(b, common::kQueueNotifyOff, 2, queueSelect_);
        put(b, common::kQueueDesc, 8, q.descAddr);
        put(b, common::kQueueDriver, 8, q.driverAddr);
        put(b, common::kQueueDevice, 8, q.deviceAddr);
    }  // else queue_size reads 0: the queue does not exist (4.1.4.3.2)
    return b;
}

std::uint64_t VirtioPci::commonRead(unsigned offset, unsigned size) const {
    if (offset + size > common::kSize) return 0;
    return get(commonImage(), offset, size);
}

void VirtioPci::commonWrite(unsigned offset, unsigned size, std::uint64_t value) {
    if (offset + size > common::kSize) return;
    // Merge the write into the register image, then apply every writable field it
    // touched: a driver writing a 64-bit address as two dwords (as Linux does) updates
    // one half at a time; writes to read-only fields change nothing.
    Image b = commonImage();
    put(b, offset, size, value);
    for (const CommonField& f : kCommonFields)
        if (offset < f.offset + f.size && f.offset < offset + size) (this->*f.apply)(get(b, f.offset, f.size));
}

void VirtioPci::setDriverFeature(std::uint64_t v) {
    if (status_ & status::kFeaturesOk) {
        warnings_.warn("{}: driver_feature written after FEATURES_OK; ignored", name());
        return;
    }
    if (driverFeatureSelect_ >= 2) return;
    const unsigned shift = 32 * driverFeatureSelect_;
    driverFeatures_ = (driverFeatures_ & ~(std::uint64_t{0xFFFF'FFFF} << shift)) | (v & 0xFFFF'FFFF) << shift;
}

void VirtioPci::setStatus(std::uint64_t v) {
    const auto value = static_cast<std::uint8_t>(v);
    if (value == 0) {
        reset();
        return;
    }
    const std::uint8_t before = status_;
    // The driver sets bits; DEVICE_NEEDS_RESET is the device's and stays until reset.
    std::uint8_t next = static_cast<std::uint8_t>((value & ~status::kDeviceNeedsReset) |
                                                  (before & status::kDeviceNeedsReset));
    if ((next & status::kFeaturesOk) && !(before & status::kFeaturesOk)) {
        // 3.1.1 / 2.2.2: accept only offered features, and only a modern driver.
        const std::uint64_t unknown = driverFeatures_ & ~device_.features();
        if (unknown || !(driverFeatures_ & bit(feature::kVersion1))) {
            warnings_.warn("{}: features {:#x} refused ({}); FEATURES_OK stays clear", name(), driverFeatures_,
                           unknown ? "not offered" : "VIRTIO_F_VERSION_1 missing: legacy drivers are not supported");
            next &= static_cast<std::uint8_t>(~status::kFeaturesOk);
        }
    }
    if ((next & status::kDriverOk) && !(next & status::kFeaturesOk) && !(before & status::kDriverOk)) {
        warnings_.warn("{}: DRIVER_OK without FEATURES_OK; ignored", name());
        next &= static_cast<std::uint8_t>(~status::kDriverOk);
    }
    status_ = next;
    if ((next & status::kDriverOk) && !(before & status::kDriverOk) && live()) {
        // Buffers made available before DRIVER_OK were not processed (3.1.1): do it now.
        const auto queues = device_.queues();
        for (unsigned i = 0; i < queues.size(); ++i)
            if (queues[i].enabled()) device_.notify(i);
    }
}

SplitVirtqueue* VirtioPci::configurableQueue(const char* field) {
    const auto queues = device_.queues();
    if (queueSelect_ >= queues.size()) {
        warnings_.warn("{}: {} written for queue {}, which does not exist; ignored", name(), field, queueSelect_);
        return nullptr;
    }
    SplitVirtqueue& q = queues[queueSelect_];
    if (q.enabled()) {
        warnings_.warn("{}: {} written for queue {} while it is enabled; ignored", name(), field, queueSelect_);
        return nullptr;
    }
    return &q;
}

void VirtioPci::setQueueSize(std::uint64_t v) {
    if (auto* q = configurableQueue("queue_size")) q->size = static_cast<std::uint16_t>(v);
}
void VirtioPci::setQueueDesc(std::uint64_t v) {
    if (auto* q = configurableQueue("queue_desc")) q->descAddr = v;
}
void VirtioPci::setQueueDriver(std::uint64_t v) {
    if (auto* q = configurableQueue("queue_driver")) q->driverAddr = v;
}
void VirtioPci::setQueueDevice(std::uint64_t v) {
    if (auto* q = configurableQueue("queue_device")) q->deviceAddr = v;
}

void VirtioPci::setQueueEnable(std::uint64_t v) {
    if ((v & 0xFFFF) != 1) return;  // 4.1.4.3.2: the driver MUST NOT write 0
    SplitVirtqueue* q = configurableQueue("queue_enable");
    if (!q) return;
    const std::uint64_t f = driverFeatures_;
    const RingError e = q->enable(memory_, f & bit(feature::kIndirectDesc), f & bit(feature::kEventIdx));
    if (e != RingError::None) {
        warnings_.warn("{}: queue {} (size {}, desc {:#x}, driver {:#x}, device {:#x}) not enabled: {}", name(),
                       queueSelect_, q->size, q->descAddr, q->driverAddr, q->deviceAddr, describe(e));
        deviceNeedsReset();
    }
}

void VirtioPci::reset() {
    device_.reset();  // waits for in-flight work: it may still write guest memory
    for (SplitVirtqueue& q : device_.queues()) q.reset();
    deviceFeatureSelect_ = driverFeatureSelect_ = 0;
    driverFeatures_ = 0;
    queueSelect_ = 0;
    status_ = 0;
    isr_ = 0;
    updateIrq();
}

void VirtioPci::notify(unsigned queue) {
    if (queue >= device_.queues().size()) {
        warnings_.warn("{}: notification for queue {}, which does not exist; ignored", name(), queue);
        return;
    }
    if (!live()) return;  // before DRIVER_OK, or broken: buffers wait for a (re)start
    device_.notify(queue);
}

// ---- BAR 0 ----

std::uint64_t VirtioPci::barRead(std::uint64_t offset, unsigned size) {
    if (offset + size <= kIsrOffset) return commonRead(static_cast<unsigned>(offset), size);
    if (offset >= kIsrOffset && offset < kDeviceOffset) {
        if (offset != kIsrOffset) return 0;
        // 4.1.4.5.1: reading the ISR clears it and de-asserts the interrupt.
        const std::uint8_t v = std::exchange(isr_, 0);
        updateIrq();
        return v;
    }
    if (offset >= kDeviceOffset && offset < kNotifyOffset) {
        const auto cfg = device_.config();
        const std::uint64_t at = offset - kDeviceOffset;
        std::uint64_t v = 0;
        for (unsigned i = 0; i < size; ++i)
            if (at + i < cfg.size()) v |= std::uint64_t{cfg[at + i]} << (8 * i);
        return v;
    }
    return 0;  // notify region reads 0
}

void VirtioPci::barWrite(std::uint64_t offset, unsigned size, std::uint64_t value) {
    if (offset + size <= kIsrOffset) return commonWrite(static_cast<unsigned>(offset), size, value);
    if (offset >= kDeviceOffset && offset < kNotifyOffset) {
        std::array<std::uint8_t, 8> bytes{};
        put(bytes, 0, size, value);
        return device_.writeConfig(static_cast<unsigned>(offset - kDeviceOffset), std::span(bytes).first(size));
    }
    if (offset >= kNotifyOffset && offset < kBarSize)
        return notify(static_cast<unsigned>((offset - kNotifyOffset) / kNotifyMultiplier));
    // ISR and the gaps are read-only.
}

std::uint64_t VirtioPci::mmioRead(std::uint64_t offset, unsigned size) { return barRead(offset, size); }
void VirtioPci::mmioWrite(std::uint64_t offset, unsigned size, std::uint64_t value) {
    barWrite(offset, size, value);
}

// ---- PCI configuration access capability (4.1.4.9) ----

std::uint32_t VirtioPci::configRead(unsigned offset, unsigned size) const {
    const unsigned data = pciCfgCap_ + kCfgData;
    if (offset < data || offset >= data + 4) return PciFunction::configRead(offset, size);
    const std::uint32_t bar = PciFunction::configRead(pciCfgCap_ + kCfgBar, 1);
    const std::uint32_t at = PciFunction::configRead(pciCfgCap_ + kCfgOffset, 4);
    const std::uint32_t len = PciFunction::configRead(pciCfgCap_ + kCfgLength, 4);
    if (bar != kBar || (len != 1 && len != 2 && len != 4) || at % len || at + len > kBarSize) return 0;
    // The read acts on the BAR (an ISR read clears it), as a BAR access would; config
    // reads are const only for the plain registers.
    const std::uint64_t v = const_cast<VirtioPci*>(this)->barRead(at, len);
    return static_cast<std::uint32_t>(v >> (8 * (offset - data)));
}

void VirtioPci::configWrite(unsigned offset, unsigned size, std::uint32_t value) {
    PciFunction::configWrite(offset, size, value);
    const unsigned data = pciCfgCap_ + kCfgData;
    if (offset < data || offset >= data + 4) return;
    const std::uint32_t bar = PciFunction::configRead(pciCfgCap_ + kCfgBar, 1);
    const std::uint32_t at = PciFunction::configRead(pciCfgCap_ + kCfgOffset, 4);
    const std::uint32_t len = PciFunction::configRead(pciCfgCap_ + kCfgLength, 4);
    if (bar != kBar || (len != 1 && len != 2 && len != 4) || at % len || at + len > kBarSize) return;
    barWrite(at, len, PciFunction::configRead(data, 4) & (len == 4 ? 0xFFFF'FFFFu : (1u << (8 * len)) - 1));
}

}  // namespace cxvm::hw::virtio
