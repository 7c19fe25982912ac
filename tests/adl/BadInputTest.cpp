// One test per check: the message and the file:line:col it points at.
#include "AdlTestUtil.h"

namespace cxvm::adl::test {
namespace {

using Sev = Diagnostic::Severity;

// A small valid base most tests extend: line numbers below count from here.
constexpr std::string_view kStd = "import <std>;\n";  // line 1

LoadResult load(std::string_view body) { return loadText(std::string(kStd) + std::string(body)); }

// --- lexical and syntax errors ---------------------------------------------------------

TEST(AdlBadInput, UnexpectedCharacter) {
    auto r = load("component A { control; @ }\n");
    expectError(r, "unexpected character '@'", 2, 24);
}

TEST(AdlBadInput, UnterminatedString) {
    auto r = load("assembly { configuration { a.b = \"abc; } }\n");
    expectError(r, "unterminated string", 2, 34);
}

TEST(AdlBadInput, MalformedNumbers) {
    auto r = load("assembly { configuration {\n a.b = 09;\n a.c = 0x;\n a.d = 1.5;\n a.e = 0x1ffffffffffffffff;\n} }\n");
    expectError(r, "malformed number '09'", 3, 8);
    expectError(r, "malformed number '0x'", 4, 8);
    expectError(r, "floating-point values are not supported", 5, 8);
    expectError(r, "does not fit in 64 bits", 6, 8);
}

TEST(AdlBadInput, BadEscape) {
    auto r = load("assembly { configuration { a.b = \"\\q\"; } }\n");
    expectError(r, "bad escape sequence in string", 2, 34);
}

TEST(AdlBadInput, UnterminatedComment) {
    auto r = load("component A { control; }\n/* never closed\n");
    expectError(r, "unterminated comment", 3, 1);
}

TEST(AdlBadInput, SeveralSyntaxErrorsInOneRun) {
    auto r = load(
        "component A {\n"            // 2
        "    control\n"              // 3: missing ';' (next token is on the same line? no: forgiven)
        "    provides ;\n"           // 4
        "    uses X y z;\n"          // 5
        "}\n"
        "component B { emits E; }\n"  // 7
        "bogus;\n");                  // 8
    expectError(r, "expected an interface type, got ';'", 4, 14);
    expectError(r, "expected ';' after an interface, got 'z'", 5, 14);
    expectError(r, "expected an interface name, got ';'", 7, 22);
    expectError(r, "expected a declaration", 8, 1);
    expectDiag(r, Sev::Warning, "missing ';' after control", 3, 12);
}

TEST(AdlBadInput, MissingClosingBrace) {
    auto r = load("component A {\n    control;\n");
    expectError(r, "missing '}' closing the component", 4, 1);
}

TEST(AdlBadInput, UnknownNameInValue) {
    auto r = load("assembly { configuration { a.b = KERNEL_IMAGE; } }\n");
    expectError(r, "unknown name 'KERNEL_IMAGE' in a value (a macro that is not defined?)", 2, 34);
}

TEST(AdlBadInput, DivisionByZeroAndShifts) {
    auto r = load("assembly { configuration {\n a.b = 4 / (2 - 2);\n a.c = 1 << 64;\n a.d = 7 % 0;\n} }\n");
    expectError(r, "division by zero", 3, 10);
    expectError(r, "shift count 64 is out of range", 4, 10);
    expectError(r, "division by zero", 5, 10);
}

TEST(AdlBadInput, StringInArithmetic) {
    auto r = load("assembly { configuration { a.b = 1 + \"x\"; } }\n");
    expectError(r, "a string cannot be used in an arithmetic expression", 2, 38);
}

TEST(AdlBadInput, DuplicateDictKey) {
    auto r = load("assembly { configuration { a.b = {\"k\": 1, \"k\": 2}; } }\n");
    expectError(r, "duplicate key \"k\"", 2, 43);
}

TEST(AdlBadInput, NestingDepthIsBounded) {
    std::string deep(200, '[');
    auto r = load("assembly { configuration { a.b = " + deep + " ; } }\n");
    expectError(r, "nesting deeper than 64 levels", 2, 34 + 62);  // assembly and configuration blocks count too
    std::string parens(300, '(');
    auto r2 = load("assembly { configuration { a.b = " + parens + "1; } }\n");
    EXPECT_FALSE(r2.ok());
    // Each parenthesis costs two levels (expression and unary): the 31st is too deep.
    expectError(r2, "nesting deeper than 64 levels", 2, 34 + 30);
}

TEST(AdlBadInput, ImportNotFound) {
    auto r = load("import \"missing.camkes\";\n");
    expectError(r, "cannot find import \"missing.camkes\"", 2, 1);
}

TEST(AdlBadInput, ConnectorNeedsBothEnds) {
    auto r = load("connector Half { from Events; }\n");
    expectError(r, "connector 'Half' needs a 'from' and a 'to' end", 2, 11);
}

TEST(AdlBadInput, NoAssembly) {
    auto r = load("component A { control; }\n");
    EXPECT_FALSE(r.ok());
    expectDiag(r, Sev::Error, "no assembly", 0, 0);
}

// --- names ---------------------------------------------------------------------------

TEST(AdlBadInput, UnknownComponentType) {
    auto r = load("assembly { composition { component Nope n; } }\n");
    expectError(r, "unknown component type 'Nope'", 2, 36);
}

TEST(AdlBadInput, UnknownProcedure) {
    auto r = load("component A { control; uses Missing m; }\nassembly { composition { component A a; } }\n");
    expectError(r, "unknown procedure 'Missing'", 2, 29);
}

TEST(AdlBadInput, UnknownConnector) {
    auto r = load(
        "component A { control; emits E e; }\ncomponent B { control; consumes E e; }\n"
        "assembly { composition { component A a; component B b;\n"
        "  connection seL4Smoke c(from a.e, to b.e); } }\n");
    expectError(r, "unknown connector 'seL4Smoke'", 5, 14);
}

TEST(AdlBadInput, UnknownInstanceAndInterfaceInConnection) {
    auto r = load(
        "component A { control; emits E e; }\ncomponent B { control; consumes E e; }\n"
        "assembly { composition { component A a; component B b;\n"
        "  connection seL4Notification c(from x.e, to b.nope); } }\n");
    expectError(r, "unknown instance 'x'", 5, 38);
    expectError(r, "component 'B' (instance 'b') has no interface 'nope'", 5, 48);
}

TEST(AdlBadInput, DuplicateNames) {
    auto r = load(
        "procedure P { void f(); void f(); }\n"                               // 2
        "component A { control; emits E e; consumes E e; has mutex e; }\n"    // 3
        "component A { control; }\n"                                          // 4
        "component C { control; attribute int x; attribute string x; }\n"     // 5
        "assembly { composition { component C a; component C a;\n"            // 6
        "  connection seL4Notification n(from a.e, to a.e);\n"                // 7
        "  connection seL4Notification n(from a.e, to a.e); } }\n");          // 8
    expectError(r, "duplicate method in procedure 'P' 'f'", 2, 11);
    expectError(r, "duplicate component 'A'", 4, 11);
    expectError(r, "duplicate name 'e' in component 'A'", 3, 46);
    expectError(r, "duplicate attribute 'x' in component 'C'", 5, 58);
    expectError(r, "duplicate instance name 'a'", 6, 53);
    expectError(r, "duplicate connection name 'n'", 8, 31);
}

TEST(AdlBadInput, UnknownInstanceInConfiguration) {
    auto r = load("component A { control; attribute int x; }\n"
                  "assembly { composition { component A a; } configuration { b.x = 1; } }\n");
    expectError(r, "unknown instance 'b'", 3, 59);
}

// --- connections ---------------------------------------------------------------------

constexpr std::string_view kKinds =
    "procedure P { void f(); }\n"                                                          // 2
    "procedure Q { void g(); }\n"                                                          // 3
    "component A { control; uses P p; emits E e; dataport Buf d; maybe uses Q q; }\n"      // 4
    "component B { provides P p; consumes E e; dataport Buf(8192) d; provides Q q;\n"      // 5
    "              dataport Other o; consumes F f; emits E e2; }\n";                       // 6

TEST(AdlBadInput, EventToDataport) {
    auto r = load(std::string(kKinds) +
                  "assembly { composition { component A a; component B b;\n"              // 7
                  "  connection seL4Notification c(from a.e, to b.d); } }\n");           // 8
    expectError(r, "'b.d' is a dataport interface, but the 'to' end of connector 'seL4Notification' must be a "
                   "consumes interface", 8, 48);
}

TEST(AdlBadInput, TwoFromEndsOnRpc) {
    auto r = load(std::string(kKinds) +
                  "component A2 { control; uses P p; }\n"                                 // 7
                  "assembly { composition { component A a; component A2 a2; component B b;\n"  // 8
                  "  connection seL4RPCCall c(from a.p, from a2.p, to b.p); } }\n");     // 9
    expectError(r, "connector 'seL4RPCCall' takes one 'from' end; connection 'c' has 2", 9, 43);
}

TEST(AdlBadInput, UsesToEmits) {
    auto r = load(std::string(kKinds) +
                  "assembly { composition { component A a; component B b;\n"
                  "  connection seL4RPCCall c(from a.p, to b.e2); } }\n");
    expectError(r, "'b.e2' is a emits interface, but the 'to' end of connector 'seL4RPCCall' must be a provides "
                   "interface", 8, 43);
}

TEST(AdlBadInput, DataportSizeAndTypeMismatch) {
    auto r = load(std::string(kKinds) +
                  "assembly { composition { component A a; component B b; component A a2;\n"
                  "  connection seL4SharedData c(from a.d, to b.d);\n"                   // 8
                  "  connection seL4SharedData c2(from a2.d, to b.o); } }\n");           // 9
    expectError(r, "dataport size mismatch: 'a.d' is Buf(4096) but 'b.d' is Buf(8192)", 8, 46);
    expectError(r, "dataport type mismatch: 'a2.d' is Buf(4096) but 'b.o' is Other", 9, 48);
}

TEST(AdlBadInput, ProcedureMismatch) {
    auto r = load(std::string(kKinds) +
                  "assembly { composition { component A a; component B b;\n"
                  "  connection seL4RPCCall c(from a.p, to b.q); } }\n");
    expectError(r, "procedure mismatch: 'a.p' uses P but 'b.q' provides Q", 8, 43);
}

TEST(AdlBadInput, EventTypeMismatchIsAWarning) {
    auto r = load(std::string(kKinds) +
                  "assembly { composition { component A a; component B b;\n"
                  "  connection seL4Notification c(from a.e, to b.f); } }\n");
    expectDiag(r, Sev::Warning, "event type mismatch: 'a.e' is E but 'b.f' is F", 8, 48);
}

TEST(AdlBadInput, UsesConnectedTwice) {
    auto r = load(std::string(kKinds) +
                  "assembly { composition { component A a; component B b; component B b2;\n"
                  "  connection seL4RPCCall c1(from a.p, to b.p);\n"
                  "  connection seL4RPCCall c2(from a.p, to b2.p); } }\n");             // 9
    expectError(r, "'a.p' is already connected by connection 'c1'", 9, 34);
}

TEST(AdlBadInput, HardwareEndMustBeHardware) {
    auto r = load("component A { control; dataport Buf d; }\ncomponent Dev { dataport Buf d; }\n"
                  "assembly { composition { component A a; component Dev dev;\n"
                  "  connection seL4HardwareMMIO m(from a.d, to dev.d); } }\n");           // 5
    expectError(r, "the 'to' end of connector 'seL4HardwareMMIO' must be a hardware component; 'dev' (Dev) is not",
                5, 46);
}

TEST(AdlBadInput, ConnectionWithoutToEnd) {
    auto r = load("component A { control; emits E e; }\n"
                  "assembly { composition { component A a;\n"
                  "  connection seL4Notification c(from a.e); } }\n");                    // 4
    expectError(r, "connection 'c' has no 'to' end", 4, 31);
}

TEST(AdlBadInput, UnconnectedInterfaces) {
    auto r = load("procedure P { void f(); }\n"
                  "component A { control; uses P p; consumes E e; maybe uses P q; maybe emits E x; }\n"  // 3
                  "assembly { composition { component A a; } }\n");                                   // 4
    expectError(r, "interface 'p' (uses P) of instance 'a' is not connected", 4, 38);
    expectDiag(r, Sev::Warning, "interface 'e' (consumes E) of instance 'a' is not connected", 4, 38);
    for (const auto& d : r.diagnostics) {
        EXPECT_EQ(d.message.find("'q'"), std::string::npos) << d.message;
        EXPECT_EQ(d.message.find("'x'"), std::string::npos) << d.message;
    }
}

// --- attributes ----------------------------------------------------------------------

TEST(AdlBadInput, AttributeNotDeclared) {
    auto r = load("component A { control; attribute int x; }\n"
                  "assembly { composition { component A a; } configuration { a.colour = 1; } }\n");
    expectError(r, "component 'A' has no attribute 'colour'", 3, 61);
}

TEST(AdlBadInput, AttributeWrongType) {
    auto r = load("component A { control; attribute int x; attribute string s; attribute uint8_t b;\n"
                  "  attribute bool f; attribute { int start; string name; } io[]; }\n"
                  "assembly { composition { component A a; } configuration {\n"            // 4
                  "  a.x = \"three\";\n"                                                   // 5
                  "  a.s = 3;\n"                                                           // 6
                  "  a.b = 256;\n"                                                         // 7
                  "  a.f = \"yes\";\n"                                                     // 8
                  "  a.io = [{\"start\": 1, \"name\": \"x\"}, {\"start\": \"2\"}];\n"     // 9
                  "  a.io = [{\"stop\": 1}];\n"                                           // 10
                  "  a.io = {\"start\": 1};\n"                                             // 11
                  "} }\n");
    expectError(r, "attribute 'x' of component 'A' is int; got a string", 5, 9);
    expectError(r, "attribute 's' of component 'A' is a string; got an integer", 6, 9);
    expectError(r, "attribute 'b' of component 'A' = 256 is out of range for uint8_t", 7, 9);
    expectError(r, "attribute 'f' of component 'A' is a bool; got a string", 8, 9);
    expectError(r, "attribute 'io' of component 'A'[1].start is int; got a string", 9, 48);
    expectError(r, "has no field \"stop\" (fields: start, name)", 10, 20);
    expectError(r, "attribute 'io' of component 'A' is a list", 11, 10);
}

TEST(AdlBadInput, UnknownAttributeTypeAndBadDefault) {
    auto r = load("component A { control; attribute Colour c; attribute int n = \"x\"; }\n"
                  "assembly { composition { component A a; } }\n");
    expectError(r, "unknown attribute type 'Colour'", 2, 34);
    expectError(r, "attribute 'n' is int; got a string", 2, 62);
}

TEST(AdlBadInput, SetTwiceIsAWarning) {
    auto r = load("component A { control; attribute int x; }\n"
                  "assembly { composition { component A a; } configuration {\n a.x = 1;\n a.x = 2; } }\n");
    ASSERT_TRUE(r.ok()) << allDiagnostics(r);
    expectDiag(r, Sev::Warning, "'a.x' is set twice; the later value wins", 5, 4);
    EXPECT_EQ(r.system->findInstance("a")->attributes.at("x").i, 2);
}

TEST(AdlBadInput, ReferenceCycle) {
    auto r = load("component A { control; attribute int x; attribute int y; }\n"
                  "assembly { composition { component A a; } configuration {\n"
                  " a.x <- a.y;\n a.y <- a.x; } }\n");
    expectError(r, "cannot copy 'a.y': it has no value (or the '<-' settings form a cycle)", 4, 9);
}

// --- compound components -------------------------------------------------------------

TEST(AdlBadInput, CompoundContainsItself) {
    auto r = load("component Loop { composition { component Loop inner; } }\n"
                  "assembly { composition { component Loop l; } }\n");
    expectError(r, "component 'Loop' contains itself", 2, 42);
}

TEST(AdlBadInput, CompoundExportsAndAttributes) {
    auto r = load("procedure P { void f(); }\n"
                  "component S { provides P p; }\n"
                  "component C { provides P p; composition { component S s; export s.p -> q; } }\n"  // 4
                  "component U { control; uses P p; }\n"
                  "assembly { composition { component C c; component U u;\n"
                  "  connection seL4RPCCall r(from u.p, to c.p); }\n"                           // 7
                  "  configuration { c.x = 1; } }\n");                                           // 8
    expectError(r, "export to 'q', which component 'C' does not declare as an interface", 4, 72);
    expectError(r, "'c' (compound component 'C') exports no interface 'p'", 7, 43);
    expectError(r, "'c' is an instance of compound component 'C'", 8, 19);
}

// --- VMs -----------------------------------------------------------------------------

// What VM_INIT_DEF() declares, written out (these tests skip the preprocessor).
constexpr std::string_view kVm =
    "component Init0 { control; attribute int cxvm_is_vm = 1; attribute string kernel_image = \"\";\n"  // 2
    "  dataport Buf(4096) a; dataport Buf(8192) b; }\n"                                                 // 3
    "component P { control; dataport Buf(4096) a; dataport Buf(8192) b; }\n"                          // 4
    "assembly { composition { component Init0 vm0; component P p;\n"                                  // 5
    "  connection seL4SharedDataWithCaps ca(from p.a, to vm0.a);\n"                                   // 6
    "  connection seL4SharedDataWithCaps cb(from p.b, to vm0.b); }\n"                                 // 7
    "  configuration { vm0.kernel_image = \"bzimage\";\n";                                            // 8

TEST(AdlBadInput, CrossVmDataportIdsNotContiguous) {
    auto r = load(std::string(kVm) + "  vm0.a_id = 1;\n  vm0.b_id = 3; } }\n");  // 9, 10
    expectError(r, "cross-VM dataport ids must be contiguous from 1: 'vm0' has 2 dataports, so b_id must be in 1..2, "
                   "not 3", 10, 14);
}

TEST(AdlBadInput, CrossVmDataportIdsDuplicate) {
    auto r = load(std::string(kVm) + "  vm0.a_id = 1;\n  vm0.b_id = 1; } }\n");
    expectError(r, "dataports 'a' and 'b' of 'vm0' both have id 1", 10, 14);
}

TEST(AdlBadInput, CrossVmDataportIdsPartlySet) {
    auto r = load(std::string(kVm) + "  vm0.b_id = 1; } }\n");
    expectError(r, "dataport 'a' of 'vm0' has no a_id", 5, 42);
}

TEST(AdlBadInput, CrossVmDataportSizeMismatch) {
    auto r = load(std::string(kVm) + "  vm0.a_id = 1; vm0.b_id = 2; vm0.b_size = 4096; } }\n");
    expectError(r, "vm0.b_size = 4096 but dataport 'b' is Buf(8192) (8192 bytes)", 9, 44);
}

TEST(AdlBadInput, CrossVmDataportIdsAssignedWithANote) {
    auto r = load(std::string(kVm) + "} }\n");
    ASSERT_TRUE(r.ok()) << allDiagnostics(r);
    expectDiag(r, Sev::Note, "cxvm assigned the cross-VM dataport ids of 'vm0' in declaration order: a_id = 1, b_id = 2",
               5, 42);
    EXPECT_EQ(count(r, Sev::Warning) + count(r, Sev::Error), 0u);
    const Instance* vm = r.system->findInstance("vm0");
    EXPECT_EQ(vm->attributes.at("a_id").i, 1);
    EXPECT_EQ(vm->attributes.at("b_id").i, 2);
    EXPECT_EQ(vm->attributes.at("b_size").i, 8192);
}

TEST(AdlBadInput, NativeWithCapsToEndGetsTheSameIdRule) {
    auto r = load("component S { control; dataport Buf a; }\ncomponent C { control; dataport Buf d; }\n"
                  "assembly { composition { component S s; component C c;\n"
                  "  connection seL4SharedDataWithCaps x(from s.a, to c.d); }\n"
                  "  configuration { c.d_id = 2; c.d_size = 4096; } }\n");  // 6
    expectError(r, "cross-VM dataport ids must be contiguous from 1: 'c' has 1 dataport, so d_id must be in 1..1, not 2",
                6, 28);
    auto ok = load("component S { control; dataport Buf a; }\ncomponent C { control; dataport Buf d; }\n"
                   "assembly { composition { component S s; component C c;\n"
                   "  connection seL4SharedDataWithCaps x(from s.a, to c.d); }\n"
                   "  configuration { c.d_id = 1; c.d_size = 4096; } }\n");
    expectClean(ok);
}

TEST(AdlBadInput, VmDataportMustBeWholePages) {
    auto r = load("component Init0 { control; attribute int cxvm_is_vm = 1; dataport Buf(100) d; }\n"
                  "assembly { composition { component Init0 vm0; } }\n");
    expectError(r, "cross-VM dataport 'd' of VM component 'Init0' must be a multiple of 4096 bytes", 2, 67);
}

TEST(AdlBadInput, VmWithoutKernelImage) {
    auto r = load("component Init0 { control; attribute int cxvm_is_vm = 1; attribute string kernel_image = \"\"; }\n"
                  "assembly { composition { component Init0 vm0; } }\n");
    expectError(r, "VM instance 'vm0' has no kernel_image", 3, 42);
}

TEST(AdlBadInput, CompoundBlowUpIsBounded) {
    // Each level holds two of the level below: 2^40 leaves if nothing stopped it.
    std::string text = "component L0 { control; }\n";
    for (int k = 1; k <= 40; ++k)
        text += "component L" + std::to_string(k) + " { composition { component L" + std::to_string(k - 1) +
                " a; component L" + std::to_string(k - 1) + " b; } }\n";
    text += "assembly { composition { component L40 top; } }\n";  // line 43
    auto r = load(text);
    expectError(r, "the flattened system is too large (over 20000", 7, 43);
}

TEST(AdlBadInput, ManyErrorsAreCappedNotLost) {
    std::string body = "assembly { composition {\n";
    for (int k = 0; k < 300; ++k) body += "component Missing m" + std::to_string(k) + ";\n";
    body += "} }\n";
    auto r = load(body);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(count(r, Sev::Error), DiagnosticSink::kMaxErrors);
    EXPECT_EQ(r.diagnostics.back().message, "too many errors; stopping here");
}

}  // namespace
}  // namespace cxvm::adl::test
