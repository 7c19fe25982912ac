#include "host/vfio/VfioGroup.h"

#include "util/Error.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

#include <cerrno>

namespace cxvm::host::vfio {

VfioGroup::VfioGroup(unsigned group, VfioContainer& container, const std::filesystem::path& devDir)
    : group_(group) {
    const auto path = devDir / std::to_string(group);
    fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd_) {
        const int e = errno;
        const auto what = fmt::format(
            "VFIO group {} ('{}'){}", group, path.string(),
            e == ENOENT  ? ": no device of the group is bound to vfio-pci (see `cxvm pci-info ADDRESS`)"
            : e == EBUSY ? ": in use: another process (another VM, a QEMU) has the group open"
                         : "");
        errno = e;
        throwErrno(what);
    }
    vfio_group_status status{};
    status.argsz = sizeof status;
    if (::ioctl(fd_.get(), VFIO_GROUP_GET_STATUS, &status) != 0)
        throwErrno(fmt::format("VFIO group {}: VFIO_GROUP_GET_STATUS", group));
    if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
        throw Error::format(
            "VFIO group {} is not viable: every device in it must be bound to vfio-pci or have no driver "
            "(`cxvm pci-info ADDRESS` lists them)",
            group);
    int containerFd = container.fd();
    if (::ioctl(fd_.get(), VFIO_GROUP_SET_CONTAINER, &containerFd) != 0)
        throwErrno(fmt::format("VFIO group {}: VFIO_GROUP_SET_CONTAINER", group));
    container.setIommu();
}

VfioDevice VfioGroup::openDevice(const pci::PciAddress& address) const {
    const std::string name = address.toString();
    const int fd = ::ioctl(fd_.get(), VFIO_GROUP_GET_DEVICE_FD, name.c_str());
    if (fd < 0) {
        const int e = errno;
        const auto what = fmt::format("VFIO group {}: device {}{}", group_, name,
                                      e == EBUSY ? ": in use: another process (another VM, a QEMU) has it open" : "");
        errno = e;
        throwErrno(what);
    }
    return VfioDevice(UniqueFd(fd), address);
}

}  // namespace cxvm::host::vfio
