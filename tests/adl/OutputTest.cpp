// cxvm dump (text and JSON) and cxvm graph (DOT) output, and the cxvm binary's exit
// codes for check / dump / graph.
#include "AdlTestUtil.h"
#include "adl/Dump.h"
#include "adl/Graph.h"
#include "util/Subprocess.h"

namespace cxvm::adl::test {
namespace {

System load(const std::string& rel) {
    auto r = loadSpec(specDir() / rel);
    if (!r.ok()) throw std::runtime_error(allDiagnostics(r));
    return std::move(*r.system);
}

TEST(AdlDump, TextListsInstancesInterfacesAttributesConnections) {
    System sys = load("compound/compound.camkes");
    std::string expected =
        "instance pipe.first : Stage\n"
        "  uses Sink out\n"
        "  maybe provides Sink in\n"
        "  pipe.first.gain = 9\n"
        "  pipe.first.limits = {\"low\": -16, \"high\": 8}\n"
        "  pipe.first.tables = [{\"name\": \"a\", \"values\": [1, 2, 3]}, {\"name\": \"b\", \"values\": []}]\n"
        "instance pipe.middle.s : Stage\n"
        "  uses Sink out\n"
        "  maybe provides Sink in\n"
        "  pipe.middle.s.gain = 7\n"
        "  pipe.middle.s.limits = {\"low\": 16, \"high\": 255}\n"
        "  pipe.middle.s.tables = []\n"
        "instance collector : Collector [group sinks]\n"
        "  provides Sink in\n"
        "  collector.gain = 9\n"
        "connection seL4RPCCall pipe.link(from pipe.first.out, to pipe.middle.s.in)\n"
        "connection seL4RPCCall to_collector(from pipe.middle.s.out, to collector.in)\n";
    EXPECT_EQ(dumpText(sys), expected);
}

TEST(AdlDump, JsonIsWellFormedAndComplete) {
    System sys = load("events/events.camkes");
    std::string json = dumpJson(sys);
    // Balanced brackets outside strings, and the key facts present.
    int depth = 0;
    bool inString = false;
    for (std::size_t k = 0; k < json.size(); ++k) {
        char c = json[k];
        if (inString) {
            if (c == '\\') ++k;
            else if (c == '"') inString = false;
            continue;
        }
        if (c == '"') inString = true;
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') --depth;
        ASSERT_GE(depth, 0);
    }
    EXPECT_EQ(depth, 0);
    EXPECT_FALSE(inString);
    EXPECT_NE(json.find("\"name\":\"ticks\",\"connector\":\"seL4Notification\",\"from\":[{\"instance\":\"a\","
                        "\"interface\":\"tick\"},{\"instance\":\"b\",\"interface\":\"tick\"}],\"to\":[{\"instance\":"
                        "\"counter\",\"interface\":\"tick\"}]"),
              std::string::npos)
        << json;
    EXPECT_NE(json.find("\"semaphores\":[\"counted\"]"), std::string::npos) << json;
}

TEST(AdlDump, JsonEscapesStrings) {
    auto r = loadText("import <std>;\ncomponent A { control; attribute string s; }\n"
                      "assembly { composition { component A a; } configuration { a.s = \"q\\\"\\\\\\n\\x01\"; } }\n");
    ASSERT_TRUE(r.ok()) << allDiagnostics(r);
    std::string json = dumpJson(*r.system);
    EXPECT_NE(json.find(R"("s":"q\"\\\n\u0001")"), std::string::npos) << json;
}

TEST(AdlGraph, DotHasBoxesPortsEdgesAndMarksVms) {
    auto r = loadSpec(specDir() / "seed/cma34cr_print_server/vm.camkes");
    ASSERT_TRUE(r.ok()) << allDiagnostics(r);
    std::string dot = toDot(*r.system);
    EXPECT_EQ(dot.rfind("digraph cxvm {", 0), 0u);
    EXPECT_NE(dot.find("subgraph cluster_0 {\n    label=\"vm\";"), std::string::npos) << dot;
    // The VM node is drawn differently from the native one.
    auto vmNode = dot.find("  i_vm_vm0 [label=");
    auto psNode = dot.find("  i_vm_print_server [label=");
    ASSERT_NE(vmNode, std::string::npos) << dot;
    ASSERT_NE(psNode, std::string::npos) << dot;
    std::string vmLine = dot.substr(vmNode, dot.find('\n', vmNode) - vmNode);
    std::string psLine = dot.substr(psNode, dot.find('\n', psNode) - psNode);
    EXPECT_NE(vmLine.find("VM (Linux guest)"), std::string::npos);
    EXPECT_NE(vmLine.find("shape=box3d"), std::string::npos);
    EXPECT_EQ(psLine.find("VM (Linux guest)"), std::string::npos);
    EXPECT_NE(psLine.find("shape=box,"), std::string::npos);
    EXPECT_NE(vmLine.find("PORT=\"data\""), std::string::npos);
    EXPECT_NE(dot.find("i_vm_print_server:\"data\" -> i_vm_vm0:\"data\" [label=\"vm.conn_data\\nseL4SharedDataWithCaps\"];"),
              std::string::npos)
        << dot;
}

// --- the cxvm binary -----------------------------------------------------------------

std::string cxvm() { return std::string(CXVM_BINARY_DIR) + "/src/cli/cxvm"; }

TEST(AdlCli, CheckIsSilentOnACleanSpec) {
    auto r = runProcess({cxvm(), "check", (sourceDir() / "apps/print_server").string()});
    EXPECT_EQ(r.exitStatus, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
}

TEST(AdlCli, CheckReportsDiagnosticsWithCaretAndFails) {
    TempDir dir;
    auto spec = dir.write("bad.camkes",
                          "import <std>;\n"
                          "component A { control; attribute int x; }\n"
                          "assembly { composition { component A a; component Nope n; }\n"
                          "  configuration { a.x = \"s\"; } }\n");
    auto r = runProcess({cxvm(), "check", spec.string()});
    EXPECT_EQ(r.exitStatus, 1);
    EXPECT_NE(r.err.find("bad.camkes:3:51: error: unknown component type 'Nope'\n"
                         " assembly { composition { component A a; component Nope n; }\n"
                         "                                                   ^\n"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("bad.camkes:4:25: error: attribute 'x' of component 'A' is int; got a string\n"),
              std::string::npos)
        << r.err;
}

TEST(AdlCli, CheckFailsOnWarnings) {
    auto r = runProcess({cxvm(), "check", (specDir() / "seed/cma34cr_passthrough_ide").string()});
    EXPECT_EQ(r.exitStatus, 1);
    EXPECT_NE(r.err.find("warning: missing ';' after a setting"), std::string::npos) << r.err;
}

TEST(AdlCli, DumpTextAndJson) {
    auto t = runProcess({cxvm(), "dump", (sourceDir() / "apps/minimal").string()});
    EXPECT_EQ(t.exitStatus, 0) << t.err;
    EXPECT_NE(t.out.find("instance vm.vm0 : Init0 (VM)\n"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("  vm.vm0.kernel_image = \"bzimage\"\n"), std::string::npos) << t.out;
    auto j = runProcess({cxvm(), "dump", "--json", (sourceDir() / "apps/minimal").string()});
    EXPECT_EQ(j.exitStatus, 0) << j.err;
    EXPECT_EQ(j.out.front(), '{');
    EXPECT_NE(j.out.find("\"initrd_image\":\"rootfs.cpio\""), std::string::npos) << j.out;
}

TEST(AdlCli, GraphWritesDotAndSvg) {
    TempDir dir;
    auto dotPath = dir.path() / "x.dot";
    auto r = runProcess({cxvm(), "graph", (sourceDir() / "apps/print_server").string(), "-o", dotPath.string()});
    EXPECT_EQ(r.exitStatus, 0) << r.err;
    EXPECT_EQ(readFileText(dotPath.string(), 1 << 20).rfind("digraph cxvm {", 0), 0u);
    auto svgPath = dir.path() / "x.svg";
    auto s = runProcess({cxvm(), "graph", (sourceDir() / "apps/print_server").string(), "-o", svgPath.string()});
    if (s.err.find("cannot run 'dot'") != std::string::npos) GTEST_SKIP() << "Graphviz not installed";
    EXPECT_EQ(s.exitStatus, 0) << s.err;
    std::string svg = readFileText(svgPath.string(), 1 << 22);
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("vm.vm0"), std::string::npos);
    EXPECT_NE(svg.find("VM (Linux guest)"), std::string::npos);
    auto bad = runProcess({cxvm(), "graph", (sourceDir() / "apps/print_server").string(), "-o", "x.txt"});
    EXPECT_EQ(bad.exitStatus, 1);
    EXPECT_NE(bad.err.find("unknown output format"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace cxvm::adl::test
