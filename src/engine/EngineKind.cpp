#include "engine/Vcpu.h"

namespace cxvm::engine {

std::string_view engineName(EngineKind k) { return k == EngineKind::Kvm ? "kvm" : "interp"; }

}  // namespace cxvm::engine
