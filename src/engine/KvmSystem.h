#pragma once
// /dev/kvm itself: the "system ioctls" of the KVM API (Documentation/virt/kvm/api.rst
// section 4). One per engine; creating VMs and asking what the host supports.
#include "util/UniqueFd.h"

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cxvm::engine {

class KvmSystem {
public:
    static constexpr const char* kDefaultPath = "/dev/kvm";
    // Opens the device and checks the API version (12) and the capabilities the kvm
    // engine cannot do without. Throws cxvm::Error naming the device and what is missing.
    explicit KvmSystem(std::string path = kDefaultPath);

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] int fd() const { return fd_.get(); }
    // KVM_CHECK_EXTENSION: 0 when absent, else a capability-specific value.
    [[nodiscard]] int capability(long cap) const;
    // Size of each vCPU's shared kvm_run mapping (KVM_GET_VCPU_MMAP_SIZE).
    [[nodiscard]] std::size_t vcpuMmapSize() const { return vcpuMmapSize_; }
    // KVM_GET_SUPPORTED_CPUID: every leaf/subleaf the host can give a guest.
    [[nodiscard]] std::vector<kvm_cpuid_entry2> supportedCpuid() const;
    // KVM_CREATE_VM (type 0).
    [[nodiscard]] UniqueFd createVm() const;

private:
    std::string path_;
    UniqueFd fd_;
    std::size_t vcpuMmapSize_ = 0;
};

// struct kvm_cpuid2 as the kernel lays it out. The uapi header's __DECLARE_FLEX_ARRAY
// gives it an extra empty member under C++ (entries at offset 12, not 8), so C++ code
// must not use it or the ioctl numbers derived from its size.
struct KvmCpuidHeader {
    std::uint32_t nent;
    std::uint32_t padding;
};
static_assert(sizeof(KvmCpuidHeader) == 8);
inline constexpr unsigned long kKvmGetSupportedCpuid = _IOWR(KVMIO, 0x05, KvmCpuidHeader);
inline constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, KvmCpuidHeader);

// A kvm_cpuid2 buffer: header followed by the entries, for KVM_{GET_SUPPORTED,SET}_CPUID2.
class KvmCpuidBuffer {
public:
    explicit KvmCpuidBuffer(std::size_t capacity);
    explicit KvmCpuidBuffer(std::span<const kvm_cpuid_entry2> entries);
    [[nodiscard]] void* data() { return storage_.data(); }
    [[nodiscard]] std::vector<kvm_cpuid_entry2> entries() const;

private:
    std::vector<std::uint32_t> storage_;  // 4-byte aligned like the kernel's struct
};

// ioctl() retried on EINTR where that is safe (every KVM ioctl but KVM_RUN, whose EINTR
// is a result). Throws cxvm::Error "what: strerror" on failure.
int kvmIoctl(int fd, unsigned long request, unsigned long arg, const char* what);
template <typename T>
int kvmIoctl(int fd, unsigned long request, T* arg, const char* what) {
    return kvmIoctl(fd, request, reinterpret_cast<unsigned long>(arg), what);
}

}  // namespace cxvm::engine
