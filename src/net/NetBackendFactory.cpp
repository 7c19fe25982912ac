#include "net/NetBackendFactory.h"

#include "net/SlirpBackend.h"
#include "net/TapBackend.h"
#include "util/Error.h"

namespace cxvm::net {

std::unique_ptr<NetBackend> createBackend(const NicOptions& options, std::string name) {
    try {
        if (options.kind == BackendKind::Tap) return std::make_unique<TapBackend>(options, std::move(name));
        return std::make_unique<SlirpBackend>(options, std::move(name));
    } catch (const Error& e) {
        if (options.origin.empty()) throw;
        throw e.withContext(options.origin);
    }
}

}  // namespace cxvm::net
