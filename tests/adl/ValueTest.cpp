// Attribute values: every C integer base and suffix, C operators with C precedence,
// strings (escapes, adjacent concatenation), booleans, nested lists/dicts, trailing commas.
#include "AdlTestUtil.h"

namespace cxvm::adl::test {
namespace {

// Loads `component A` with attribute declarations `decls` and settings `sets`.
Instance withSettings(std::string_view decls, std::string_view sets) {
    std::string text = "import <std>;\ncomponent A { control; " + std::string(decls) +
                       " }\nassembly { composition { component A a; } configuration {\n" + std::string(sets) +
                       "\n} }\n";
    auto r = loadText(text);
    EXPECT_TRUE(r.ok()) << allDiagnostics(r);
    if (!r.ok()) return {};
    return *r.system->findInstance("a");
}

std::int64_t intValue(std::string_view expr) {
    Instance a = withSettings("attribute long v;", "a.v = " + std::string(expr) + ";");
    auto it = a.attributes.find("v");
    return it == a.attributes.end() ? -999999 : it->second.i;
}

TEST(AdlValue, IntegerBases) {
    EXPECT_EQ(intValue("42"), 42);
    EXPECT_EQ(intValue("0x2A"), 42);
    EXPECT_EQ(intValue("0X2a"), 42);
    EXPECT_EQ(intValue("052"), 42);
    EXPECT_EQ(intValue("0b101010"), 42);
    EXPECT_EQ(intValue("0"), 0);
    EXPECT_EQ(intValue("42u"), 42);
    EXPECT_EQ(intValue("42UL"), 42);
    EXPECT_EQ(intValue("0x2aull"), 42);
    EXPECT_EQ(intValue("'A'"), 65);
    EXPECT_EQ(intValue("0x7fffffffffffffff"), INT64_MAX);
}

TEST(AdlValue, OperatorsFollowCPrecedence) {
    EXPECT_EQ(intValue("1 + 2 * 3"), 7);
    EXPECT_EQ(intValue("(1 + 2) * 3"), 9);
    EXPECT_EQ(intValue("10 - 4 - 3"), 3);  // left associative
    EXPECT_EQ(intValue("100 / 10 / 5"), 2);
    EXPECT_EQ(intValue("17 % 5"), 2);
    EXPECT_EQ(intValue("-7 / 2"), -3);  // truncates toward zero, as C
    EXPECT_EQ(intValue("1 << 4 | 1"), 17);
    EXPECT_EQ(intValue("0xff & ~0x0f"), 0xf0);
    EXPECT_EQ(intValue("6 ^ 3"), 5);
    EXPECT_EQ(intValue("-0x10"), -16);
    EXPECT_EQ(intValue("!0 + !5"), 1);
    EXPECT_EQ(intValue("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 4 == 0 && 1 != 2"), 1);
    EXPECT_EQ(intValue("0 || 0"), 0);
    EXPECT_EQ(intValue("1 ? 10 : 20"), 10);
    EXPECT_EQ(intValue("0 ? 10 : 1 ? 30 : 40"), 30);
    EXPECT_EQ(intValue("256 >> 4"), 16);
    EXPECT_EQ(intValue("+5"), 5);
    EXPECT_EQ(intValue("0x7fffffffffffffff + 1"), INT64_MIN);  // wraps, no UB
}

TEST(AdlValue, Strings) {
    Instance a = withSettings("attribute string s; attribute string t;",
                              "a.s = \"con\" \"cat\"\n \"enated\";\n a.t = \"tab\\there \\\"q\\\" \\x41\\101\\n\";");
    EXPECT_EQ(a.attributes.at("s").s, "concatenated");
    EXPECT_EQ(a.attributes.at("t").s, "tab\there \"q\" AA\n");
}

TEST(AdlValue, Booleans) {
    Instance a = withSettings("attribute bool x; attribute bool y; attribute bool z; attribute int n;",
                              "a.x = true; a.y = False; a.z = 1; a.n = true;");
    EXPECT_EQ(a.attributes.at("x").kind, Value::Kind::Bool);
    EXPECT_TRUE(a.attributes.at("x").b);
    EXPECT_FALSE(a.attributes.at("y").b);
    EXPECT_EQ(a.attributes.at("z").i, 1);
    EXPECT_TRUE(a.attributes.at("n").b);
}

TEST(AdlValue, NestedListsAndDictsWithTrailingCommas) {
    Instance a = withSettings(
        "attribute { string name; { int x; int y[]; } pts[]; } shapes[];",
        "a.shapes = [ {\"name\": \"tri\", \"pts\": [ {\"x\": 1, \"y\": [1, 2,],}, {x: 2, y: [],}, ],},\n"
        "             {\"name\": \"none\", \"pts\": [],}, ];");
    const Value& v = a.attributes.at("shapes");
    ASSERT_EQ(v.kind, Value::Kind::List);
    ASSERT_EQ(v.list.size(), 2u);
    const Value& tri = v.list[0];
    EXPECT_EQ(tri.dict[0].first, "name");  // dicts keep source order
    EXPECT_EQ(tri.get("name")->s, "tri");
    const Value* pts = tri.get("pts");
    ASSERT_EQ(pts->list.size(), 2u);
    EXPECT_EQ(pts->list[0].get("y")->list[1].i, 2);
    EXPECT_EQ(pts->list[1].get("x")->i, 2);  // bare identifier keys work too
    EXPECT_TRUE(v.list[1].get("pts")->list.empty());
}

TEST(AdlValue, DeepNestingWithinTheLimit) {
    std::string deep = std::string(40, '[') + "1" + std::string(40, ']');
    auto r = loadText("import <std>;\ncomponent A { control; attribute int v[]; }\n"
                      "assembly { composition { component A a; } configuration { a.v = [" +
                      deep + "]; } }\n");
    // Parses (depth 41 < 64) but is the wrong shape for int[]: a type error, not a crash.
    EXPECT_FALSE(r.ok());
    expectDiag(r, Diagnostic::Severity::Error, "attribute 'v' of component 'A'[0] is int; got a list", 3, 66);
}

TEST(AdlValue, IntegerRanges) {
    auto r = loadText("import <std>;\ncomponent A { control; attribute int8_t a; attribute uint16_t b; attribute int c; }\n"
                      "assembly { composition { component A a; } configuration {\n"
                      "a.a = -128; a.b = 65535; a.c = -2147483648;\n} }\n");
    expectClean(r);
    auto r2 = loadText("import <std>;\ncomponent A { control; attribute int8_t a; attribute unsigned int b; }\n"
                       "assembly { composition { component A a; } configuration {\n"
                       "a.a = -129; a.b = -1;\n} }\n");
    expectError(r2, "attribute 'a' of component 'A' = -129 is out of range for int8_t", 4, 7);
    expectError(r2, "attribute 'b' of component 'A' = -1 is out of range for unsigned int", 4, 19);
}

}  // namespace
}  // namespace cxvm::adl::test
