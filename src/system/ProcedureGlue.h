#pragma once
// The C of a procedure interface: prototypes `<interface>_<method>(...)` with CAmkES's
// parameter conventions, the client stubs that marshal a call over the connection, and
// the server's dispatcher that unmarshals it and calls the component's implementation.
//
// Conventions (as CAmkES):  in T x -> T x;  out/inout T x -> T *x;  refin T x ->
// const T *x;  in string s -> const char *s;  out/inout string s -> char **s (the
// callee allocates with malloc; an inout string's old value is freed and replaced);
// in T x[] -> size_t x_sz, const T *x;  out/inout T x[] -> size_t *x_sz, T **x.
// A string return value is malloc()ed; the caller frees it.
#include "adl/Model.h"

#include <string>
#include <string_view>

namespace cxvm::system {

// "int hello_say(const char *s)": no trailing semicolon. Throws cxvm::Error for a
// type the marshaller does not know, naming the procedure's place in the spec.
std::string procedurePrototype(const adl::Procedure& proc, const adl::Method& method,
                               std::string_view interface);

// Client stubs for a `uses` interface, bound to `static struct cxvm_rpc_client <client>`.
std::string procedureClientStubs(const adl::Procedure& proc, std::string_view interface,
                                 std::string_view client);

// `static int <dispatcher>(uint32_t, struct cxvm_msg*, struct cxvm_msg*)` for a
// `provides` interface.
std::string procedureDispatcher(const adl::Procedure& proc, std::string_view interface,
                                std::string_view dispatcher);

}  // namespace cxvm::system

namespace cxvm::system {

// The C spelling of an ADL scalar type ("unsigned int", "uint64_t", "boolean" -> bool),
// or an empty view when the type is not a scalar the runtime knows.
std::string_view cScalarType(std::string_view adlType);

}  // namespace cxvm::system
