#pragma once
// Attribute types: what a declared type accepts, the implicit per-interface attributes
// of VM and hardware components, and the settings CAmkES accepts on every instance.
#include "adl/Ast.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::adl {

class AttributeTypes {
public:
    explicit AttributeTypes(const std::vector<ast::StructDecl>& structs) : structs_(structs) {}

    // Is `type` (a named type or inline struct) known? Empty on success, else the
    // offending type name.
    [[nodiscard]] std::string unknownName(const ast::AttrType& type, int depth = 0) const;

    struct Mismatch {
        std::string message;
        SourceLoc loc;
    };
    // Does `v` fit `type`? `what` names the attribute in the message.
    [[nodiscard]] std::optional<Mismatch> check(const ast::AttrType& type, const Value& v,
                                                const std::string& what, int depth = 0) const;

    // Settings every instance accepts without a declaration (CAmkES's per-instance
    // settings: heap_size, priority, simple_untypedN_pool, ...).
    static std::optional<ast::AttrType> builtin(std::string_view name);

    // Attributes implied by a component's interfaces: for a VM, `<dataport>_id`,
    // `<dataport>_size`, `<event>_id`; for a hardware component, `<dataport>_paddr`,
    // `<dataport>_size`, `<event>_irq_*`, `<procedure>_attributes`.
    static std::optional<ast::AttrType> implicit(const ast::ComponentDecl& c, bool isVm, std::string_view name);

    static ast::AttrType named(std::string name) {
        ast::AttrType t;
        t.name = std::move(name);
        return t;
    }

private:
    const ast::StructDecl* findStruct(std::string_view name) const;
    const std::vector<ast::StructDecl>& structs_;
};

}  // namespace cxvm::adl
