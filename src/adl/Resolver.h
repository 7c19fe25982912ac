#pragma once
// Turns the parsed declarations into the resolved Model: looks names up, flattens
// compound components ("outer.inner"), applies configuration, and runs every semantic
// check (see docs/adl.md for the list). All problems go to `diags`; the System is
// returned only when there are no errors.
#include "adl/Ast.h"
#include "adl/Diagnostics.h"

#include <optional>

namespace cxvm::adl {

std::optional<System> resolve(const ast::Spec& spec, DiagnosticSink& diags);

// "int", "string", "{ int a; string b; }[]": how an attribute type reads in the spec.
std::string describeType(const ast::AttrType& type);

}  // namespace cxvm::adl
