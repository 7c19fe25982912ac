#include "system/VmDisks.h"

#include "system/Connector.h"
#include "util/Error.h"

namespace cxvm::system {

namespace fs = std::filesystem;

std::vector<hw::virtio::DiskOptions> vmDisks(const adl::Instance& vm, const fs::path& appDir,
                                             const vmm::GuestFiles& files) {
    std::vector<hw::virtio::DiskOptions> disks;
    auto it = vm.attributes.find("disks");
    if (it == vm.attributes.end() || it->second.kind == adl::Value::Kind::None) return disks;
    const adl::Value& list = it->second;
    // The checker compares values with VM_INIT_DEF's declaration; these checks keep the
    // VMM safe when a spec declares `disks` differently (or not through VM_INIT_DEF).
    if (list.kind != adl::Value::Kind::List)
        throw Error::format("{}: error: {}.disks must be a list of {{\"file\": ..., "
                            "\"read_only\": 0|1}}",
                            where(list.loc), vm.name);
    for (std::size_t k = 0; k < list.list.size(); ++k) {
        const adl::Value& d = list.list[k];
        const std::string what = fmt::format("{}.disks[{}]", vm.name, k);
        if (d.kind != adl::Value::Kind::Dict)
            throw Error::format("{}: error: {} must be {{\"file\": ..., \"read_only\": 0|1}}",
                                where(d.loc), what);
        const adl::Value* file = d.get("file");
        if (!file || file->kind != adl::Value::Kind::String || file->s.empty())
            throw Error::format("{}: error: {}.file must name the image file", where(d.loc), what);
        hw::virtio::DiskOptions o;
        if (const adl::Value* ro = d.get("read_only")) {
            if (ro->kind == adl::Value::Kind::Bool)
                o.readOnly = ro->b;
            else if (ro->kind == adl::Value::Kind::Int && (ro->i == 0 || ro->i == 1))
                o.readOnly = ro->i == 1;
            else
                throw Error::format("{}: error: {}.read_only must be 0 or 1", where(ro->loc), what);
        }
        try {
            o.path = fs::absolute(files.resolveAppFile(appDir, file->s, what + ".file"));
        } catch (const Error& e) {
            throw Error::format("{}: error: {}", where(file->loc), e.what());
        }
        o.origin = fmt::format("{}: {}", where(file->loc), what);
        disks.push_back(std::move(o));
    }
    return disks;
}

}  // namespace cxvm::system
