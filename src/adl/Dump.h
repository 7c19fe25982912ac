#pragma once
// The resolved model as text (`cxvm dump`) or JSON (`cxvm dump --json`).
#include "adl/Model.h"

#include <string>

namespace cxvm::adl {

// A value as it would be written in a spec: 0x-free decimal ints, quoted strings,
// [lists], {"dicts"}.
std::string formatValue(const Value& v);

std::string dumpText(const System& system);
std::string dumpJson(const System& system);

}  // namespace cxvm::adl
