// Through the host cpp: #include, macros, line markers honoured in diagnostics, the app
// folder on the include path, the app configuration header, -D defines.
#include "AdlTestUtil.h"

namespace cxvm::adl::test {
namespace {

TEST(AdlPreprocessor, ErrorInAnIncludedFilePointsAtThatFile) {
    TempDir dir;
    dir.write("parts/types.h",
              "/* line 1 */\n"
              "component A {\n"
              "    control;\n"
              "    attribute int x = \"not an int\";\n"  // line 4
              "}\n");
    auto spec = dir.write("app.camkes",
                          "import <std>;\n"
                          "#include \"parts/types.h\"\n"
                          "assembly { composition { component A a; } }\n");
    auto r = loadSpec(spec);
    EXPECT_FALSE(r.ok());
    ASSERT_FALSE(r.diagnostics.empty());
    const Diagnostic& d = r.diagnostics.front();
    EXPECT_NE(d.loc.file.find("parts/types.h"), std::string::npos) << d.loc.file;
    EXPECT_EQ(d.loc.line, 4);
    EXPECT_EQ(d.loc.col, 23);
    std::string text = formatDiagnostic(d);
    EXPECT_NE(text.find(":4:23: error: attribute 'x' is int; got a string\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\n     attribute int x = \"not an int\";\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\n                       ^\n"), std::string::npos) << text;
}

TEST(AdlPreprocessor, ColumnsSurviveWhitespaceCollapsingAndMacros) {
    TempDir dir;
    auto spec = dir.write("app.camkes",
                          "import <std>;\n"
                          "#define NAME(n) comp_##n\n"
                          "#define BAD \"str\"\n"
                          "component   A   {   control;   attribute int x; }\n"
                          "assembly { composition { component A NAME(1); }\n"
                          "  configuration {      comp_1.x   =    BAD; } }\n");  // line 6
    auto r = loadSpec(spec);
    ASSERT_FALSE(r.ok());
    // `BAD` expands to a string: the diagnostic points at the macro use.
    expectDiag(r, Diagnostic::Severity::Error, "attribute 'x' of component 'A' is int; got a string", 6, 40);
}

TEST(AdlPreprocessor, FunctionLikeVariadicPastingAndStringizing) {
    TempDir dir;
    auto spec = dir.write("app.camkes",
                          "import <std>;\n"
                          "#define STR(x) #x\n"
                          "#define INST(type, ...) component type __VA_ARGS__;\n"
                          "#define PASTE(a, b) a##b\n"
                          "component A { control; attribute string s; }\n"
                          "assembly { composition { INST(A, PASTE(my, a)) }\n"
                          "  configuration { mya.s = STR(hello world); } }\n");
    auto r = loadSpec(spec);
    expectClean(r);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.system->findInstance("mya")->attributes.at("s").s, "hello world");
}

TEST(AdlPreprocessor, MissingIncludeIsADiagnosticWithALocation) {
    TempDir dir;
    auto spec = dir.write("app.camkes", "import <std>;\n#include <nope.h>\n");
    auto r = loadSpec(spec);
    EXPECT_FALSE(r.ok());
    ASSERT_FALSE(r.diagnostics.empty());
    EXPECT_NE(r.diagnostics[0].message.find("nope.h"), std::string::npos) << allDiagnostics(r);
    EXPECT_EQ(r.diagnostics[0].loc.line, 2);
    EXPECT_EQ(r.diagnostics[0].loc.col, 10);
}

TEST(AdlPreprocessor, AppFolderHeadersAndConfigurationHeader) {
    TempDir dir;
    dir.write("myapp/configurations/myapp.h", "#define KERNEL_IMAGE \"k.bin\"\n#define ROOTFS \"r.cpio\"\n"
                                              "#define VM_GUEST_CMDLINE \"console=ttyS0\"\n");
    dir.write("myapp/local.h", "#define GUEST_MB (64 * 2)\n");
    dir.write("myapp/parts/guest.camkes",
              "#include <configurations/vm.h>\n"
              "#include <local.h>\n"  // found through the spec's folder
              "component Init0 { VM_INIT_DEF() }\n"
              "component VM { composition { VM_COMPOSITION_DEF() VM_PER_VM_COMP_DEF(0) }\n"
              "  configuration { VM_CONFIGURATION_DEF() VM_PER_VM_CONFIG_DEF(0, 2)\n"
              "    vm0.kernel_image = KERNEL_IMAGE; vm0.initrd_image = ROOTFS;\n"
              "    vm0.kernel_cmdline = VM_GUEST_CMDLINE; vm0.guest_ram_mb = GUEST_MB; } }\n");
    auto spec = dir.write("myapp/vm.camkes",
                          "import <VM/vm.camkes>;\nimport \"parts/guest.camkes\";\n"
                          "assembly { composition { component VM vm; } }\n");
    EXPECT_EQ(findAppSpec(dir.path() / "myapp"), spec);
    auto r = loadSpec(spec);
    expectClean(r);
    ASSERT_TRUE(r.ok());
    const Instance* vm = r.system->findInstance("vm.vm0");
    ASSERT_NE(vm, nullptr);
    EXPECT_EQ(vm->attributes.at("kernel_image").s, "k.bin");
    EXPECT_EQ(vm->attributes.at("initrd_image").s, "r.cpio");
    EXPECT_EQ(vm->attributes.at("guest_ram_mb").i, 128);
    EXPECT_TRUE(r.system->findType("Init0")->isVm);
}

TEST(AdlPreprocessor, DefinesAndIncludeDirsFromOptions) {
    TempDir dir;
    dir.write("extra/more.camkes", "component B { control; attribute int n; }\n");
    auto spec = dir.write("app/app.camkes",
                          "import <std>;\nimport <more.camkes>;\n"
                          "assembly { composition { component B b; } configuration { b.n = COUNT; } }\n");
    LoadOptions opts;
    opts.includeDirs.push_back(dir.path() / "extra");
    opts.defines.push_back("COUNT=3");
    auto r = loadSpec(spec, opts);
    expectClean(r);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.system->findInstance("b")->attributes.at("n").i, 3);
}

TEST(AdlPreprocessor, ImportsAreReadOnceAndCyclesAreHarmless) {
    TempDir dir;
    dir.write("a.camkes", "import \"b.camkes\";\ncomponent A { control; }\n");
    dir.write("b.camkes", "import \"a.camkes\";\ncomponent B { control; }\n");
    auto spec = dir.write("top.camkes", "import <std>;\nimport \"a.camkes\";\nimport \"b.camkes\";\n"
                                        "assembly { composition { component A a; component B b; } }\n");
    auto r = loadSpec(spec);
    expectClean(r);
}

TEST(AdlPreprocessor, FindAppSpecNeedsExactlyOneAssembly) {
    TempDir dir;
    dir.write("none/x.camkes", "component A { control; }\n");
    EXPECT_THROW(findAppSpec(dir.path() / "none"), Error);
    dir.write("two/x.camkes", "assembly { }\n");
    dir.write("two/y.camkes", "assembly { }\n");
    EXPECT_THROW(findAppSpec(dir.path() / "two"), Error);
    EXPECT_THROW(findAppSpec(dir.path() / "missing"), Error);
}

TEST(AdlPreprocessor, MissingSpecFile) {
    auto r = loadSpec("/nonexistent/vm.camkes");
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(formatDiagnostic(r.diagnostics[0]), "/nonexistent/vm.camkes: error: no such spec file\n");
}

}  // namespace
}  // namespace cxvm::adl::test
