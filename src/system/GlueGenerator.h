#pragma once
// The glue generator: from the resolved system, the C a native component type links
// against, as CAmkES generates it: <camkes.h> (what component code sees: run(),
// X_emit(), dataport pointers, procedure prototypes, attributes as const globals) and
// camkes_glue.c (the bindings to cxvm's runtime and the procedure marshalling).
//
// One glue per component *type*: the source carries the attribute values of every
// instance of the type, and the process picks its own at start-up by its instance
// name. That keeps the build's targets knowable without parsing the spec in CMake.
#include "adl/Model.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace cxvm::system {

struct Glue {
    std::string header;  // camkes.h
    std::string source;  // camkes_glue.c
};

// Throws cxvm::Error naming the spec location of anything the runtime cannot express
// (an unknown procedure parameter type, a bad identifier, an attribute out of range).
// For a VM type (VM_INIT_DEF) the glue is a main that runs cxvm's VM instance, and a
// camkes.h with <vmm/vmm.h>: the executable must link cxvm_vm_instance.
Glue generateGlue(const adl::System& system, std::string_view typeName);

// Writes camkes.h and camkes_glue.c into `outDir`, leaving files whose content is
// unchanged untouched (so a spec edit rebuilds only the components it changes).
void writeGlue(const Glue& glue, const std::filesystem::path& outDir);

}  // namespace cxvm::system
