#include "engine/KvmSystem.h"

#include "util/Error.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace cxvm::engine {

int kvmIoctl(int fd, unsigned long request, unsigned long arg, const char* what) {
    int r;
    do {
        r = ::ioctl(fd, request, arg);
    } while (r < 0 && errno == EINTR);
    if (r < 0) throwErrno(what);
    return r;
}

KvmSystem::KvmSystem(std::string path) : path_(std::move(path)) {
    fd_ = UniqueFd(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd_) throwErrno(path_);
    int version = ::ioctl(fd_.get(), KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION)
        throw Error::format("{}: KVM API version {} (cxvm needs {})", path_, version, KVM_API_VERSION);
    // immediate_exit makes requestStop() race-free (api.rst 5, "immediate_exit").
    static constexpr struct {
        long cap;
        const char* name;
    } kRequired[] = {{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
                     {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
                     {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"}};
    for (const auto& c : kRequired)
        if (capability(c.cap) <= 0) throw Error::format("{}: lacks {}", path_, c.name);
    int size = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < static_cast<int>(sizeof(kvm_run))) throwErrno(path_ + ": KVM_GET_VCPU_MMAP_SIZE");
    vcpuMmapSize_ = static_cast<std::size_t>(size);
}

int KvmSystem::capability(long cap) const {
    int r = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

std::vector<kvm_cpuid_entry2> KvmSystem::supportedCpuid() const {
    // The kernel says E2BIG until the buffer is large enough; grow and retry.
    for (std::size_t n = 64; n <= 4096; n *= 2) {
        KvmCpuidBuffer buf(n);
        if (::ioctl(fd_.get(), kKvmGetSupportedCpuid, buf.data()) == 0) return buf.entries();
        if (errno != E2BIG) throwErrno(path_ + ": KVM_GET_SUPPORTED_CPUID");
    }
    throw Error::format("{}: KVM_GET_SUPPORTED_CPUID wants more than 4096 entries", path_);
}

KvmCpuidBuffer::KvmCpuidBuffer(std::size_t capacity)
    : storage_((sizeof(KvmCpuidHeader) + capacity * sizeof(kvm_cpuid_entry2)) / 4, 0) {
    storage_[0] = static_cast<std::uint32_t>(capacity);
}

KvmCpuidBuffer::KvmCpuidBuffer(std::span<const kvm_cpuid_entry2> entries) : KvmCpuidBuffer(entries.size()) {
    std::memcpy(storage_.data() + sizeof(KvmCpuidHeader) / 4, entries.data(), entries.size_bytes());
}

std::vector<kvm_cpuid_entry2> KvmCpuidBuffer::entries() const {
    std::vector<kvm_cpuid_entry2> out(storage_[0]);
    std::memcpy(out.data(), storage_.data() + sizeof(KvmCpuidHeader) / 4, out.size() * sizeof(kvm_cpuid_entry2));
    return out;
}

UniqueFd KvmSystem::createVm() const {
    int r;
    do {
        r = ::ioctl(fd_.get(), KVM_CREATE_VM, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) throwErrno(path_ + ": KVM_CREATE_VM");
    return UniqueFd(r);
}

}  // namespace cxvm::engine
