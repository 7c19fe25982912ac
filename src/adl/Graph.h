#pragma once
// The assembly as a Graphviz graph (`cxvm graph`): one box per instance listing its
// interfaces, one labelled edge per connection end pair, instances of a compound
// component inside a cluster, and VMs drawn differently (filled, double border).
#include "adl/Model.h"

#include <string>

namespace cxvm::adl {

std::string toDot(const System& system);

}  // namespace cxvm::adl
