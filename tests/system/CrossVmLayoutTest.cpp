// A VM instance's cross-VM ids (docs/crossvm.md "Ids") and the guest's camkes_init
// generated from them; bad specs fail with file:line:col.
#include "Fixtures.h"
#include "adl/Frontend.h"
#include "system/Connector.h"
#include "system/CrossVmLayout.h"
#include "system/GlueGenerator.h"
#include "system/VmDisks.h"
#include "system/VmInstanceConfig.h"
#include "util/Error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

namespace cxvm::system {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using K = adl::InterfaceKind;

adl::Value num(std::int64_t v, int line = 0) {
    adl::Value x;
    x.kind = adl::Value::Kind::Int;
    x.i = v;
    if (line) x.loc = {"app.camkes", line, 14};
    return x;
}

// The tutorial's print server, built in code: Init0 (VM) <-> PrintServer.
adl::System printServer() {
    adl::System s;
    adl::ComponentType vm;
    vm.name = "Init0";
    vm.isVm = vm.control = true;
    vm.interfaces = {test::iface("data", K::Dataport, "Buf(4096)", 4096),
                     test::iface("do_print", K::Emits, "DoPrint"),
                     test::iface("done_printing", K::Consumes, "DonePrinting")};
    int line = 10;
    for (auto& i : vm.interfaces) i.loc = {"app.camkes", line++, 5};
    adl::ComponentType ps;
    ps.name = "PrintServer";
    ps.control = true;
    ps.interfaces = {test::iface("data", K::Dataport, "Buf(4096)", 4096),
                     test::iface("do_print", K::Consumes, "DoPrint"),
                     test::iface("done_printing", K::Emits, "DonePrinting")};
    s.types = {vm, ps};
    adl::Instance v = test::inst("vm.vm0", "Init0");
    v.attributes["data_id"] = num(1, 30);
    v.attributes["data_size"] = num(4096, 31);
    s.instances = {v, test::inst("vm.print_server", "PrintServer")};
    s.connections = {
        test::conn("vm.conn_do_print", "seL4Notification", "vm.vm0", "do_print",
                   "vm.print_server", "do_print"),
        test::conn("vm.conn_done_printing", "seL4Notification", "vm.print_server",
                   "done_printing", "vm.vm0", "done_printing"),
        test::conn("vm.conn_data", "seL4SharedDataWithCaps", "vm.print_server", "data", "vm.vm0",
                   "data"),
    };
    return s;
}

std::string layoutError(const adl::System& s, std::string_view instance) {
    try {
        crossVmLayout(s, *s.findInstance(instance));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(CrossVmLayout, PrintServerIdsSizesConnectionsAndPlaces) {
    adl::System s = printServer();
    CrossVmLayout l = crossVmLayout(s, s.instances[0]);
    EXPECT_EQ(l.instance, "vm.vm0");
    ASSERT_EQ(l.dataports.size(), 1u);
    EXPECT_EQ(l.dataports[0].iface, "data");
    EXPECT_EQ(l.dataports[0].id, 1u);
    EXPECT_EQ(l.dataports[0].size, 4096u);
    EXPECT_EQ(l.dataports[0].connection, "vm.conn_data");
    EXPECT_EQ(where(l.dataports[0].loc), "app.camkes:30:14");  // the data_id setting
    EXPECT_EQ(l.dataports[0].device(), "/dev/camkes_data");
    ASSERT_EQ(l.emits.size(), 1u);
    EXPECT_EQ(l.emits[0].iface, "do_print");
    EXPECT_EQ(l.emits[0].id, 1u);
    EXPECT_EQ(l.emits[0].connection, "vm.conn_do_print");
    EXPECT_EQ(where(l.emits[0].loc), "app.camkes:11:5");  // no _id: the declaration
    ASSERT_EQ(l.consumes.size(), 1u);
    EXPECT_EQ(l.consumes[0].iface, "done_printing");
    EXPECT_EQ(l.consumes[0].id, 1u);
    EXPECT_EQ(l.consumes[0].connection, "vm.conn_done_printing");
}

// Two VMs and explicit event ids out of declaration order: each kind its own id space.
adl::System twoVms() {
    adl::System s = printServer();
    adl::ComponentType& vm = s.types[0];
    vm.interfaces.push_back(test::iface("ack", K::Emits, "E"));
    vm.interfaces.back().loc = {"app.camkes", 13, 5};
    vm.interfaces.push_back(test::iface("log", K::Dataport, "Buf(8192)", 8192));
    vm.interfaces.back().loc = {"app.camkes", 14, 5};
    adl::Instance& v = s.instances[0];
    v.attributes["do_print_id"] = num(2, 32);
    v.attributes["ack_id"] = num(1, 33);
    v.attributes["data_id"] = num(2, 30);
    v.attributes["log_id"] = num(1, 34);
    adl::ComponentType sink;
    sink.name = "Sink";
    sink.interfaces = {test::iface("ack", K::Consumes, "E"),
                       test::iface("log", K::Dataport, "Buf(8192)", 8192)};
    s.types.push_back(sink);
    s.instances.push_back(test::inst("sink", "Sink"));
    s.connections.push_back(test::conn("c_ack", "seL4Notification", "vm.vm0", "ack", "sink", "ack"));
    s.connections.push_back(test::conn("c_log", "seL4SharedDataWithCaps", "sink", "log", "vm.vm0", "log"));
    adl::Instance other = test::inst("vm.vm1", "Init0");
    s.instances.push_back(other);
    for (auto c : std::vector<adl::Connection>(s.connections)) {
        for (auto* ends : {&c.from, &c.to})
            for (auto& e : *ends)
                if (e.instance == "vm.vm0") e.instance = "vm.vm1";
        c.name += "_1";
        s.connections.push_back(c);
    }
    return s;
}

TEST(CrossVmLayout, ExplicitIdsOrderEachKindSeparately) {
    adl::System s = twoVms();
    CrossVmLayout l = crossVmLayout(s, s.instances[0]);
    ASSERT_EQ(l.emits.size(), 2u);
    EXPECT_EQ(l.emits[0].iface, "ack");
    EXPECT_EQ(l.emits[1].iface, "do_print");
    EXPECT_EQ(l.emits[1].id, 2u);
    ASSERT_EQ(l.dataports.size(), 2u);
    EXPECT_EQ(l.dataports[0].iface, "log");
    EXPECT_EQ(l.dataports[0].size, 8192u);
    EXPECT_EQ(l.dataports[1].iface, "data");
    ASSERT_EQ(l.consumes.size(), 1u);
    EXPECT_EQ(l.consumes[0].id, 1u);
    // vm.vm1 sets no ids: declaration order (its dataport ids would come from the
    // resolver; built in code, they fall back to declaration order too).
    CrossVmLayout l1 = crossVmLayout(s, *s.findInstance("vm.vm1"));
    ASSERT_EQ(l1.emits.size(), 2u);
    EXPECT_EQ(l1.emits[0].iface, "do_print");
    EXPECT_EQ(l1.emits[1].iface, "ack");
    EXPECT_EQ(l1.dataports[0].iface, "data");
    EXPECT_EQ(l1.dataports[0].connection, "vm.conn_data_1");
}

TEST(CrossVmLayout, CamkesInitHasOneArmPerVmInIdOrder) {
    adl::System s = twoVms();
    const std::vector<CrossVmLayout> layouts = crossVmLayouts(s);
    ASSERT_EQ(layouts.size(), 2u);
    const std::string script = camkesInitScript(layouts);
    EXPECT_THAT(script, HasSubstr("#!/bin/sh\n"));
    EXPECT_THAT(script, HasSubstr("case \" $(cat /proc/cmdline) \" in\n"
                                  "*\" cxvm.instance=vm.vm0 \"*)\n"
                                  "    dataport_init /dev/camkes_log 8192 /dev/camkes_data 4096\n"
                                  "    consumes_event_init /dev/camkes_done_printing\n"
                                  "    emits_event_init /dev/camkes_ack /dev/camkes_do_print\n"
                                  "    ;;\n"
                                  "*\" cxvm.instance=vm.vm1 \"*)\n"
                                  "    dataport_init /dev/camkes_data 4096 /dev/camkes_log 8192\n"
                                  "    consumes_event_init /dev/camkes_done_printing\n"
                                  "    emits_event_init /dev/camkes_do_print /dev/camkes_ack\n"
                                  "    ;;\n"
                                  "esac\n"));
    // the existing camkes_init's work stays
    EXPECT_THAT(script, HasSubstr("for node in /dev/camkes_*; do\n"
                                  "    [ -e \"$node\" ] && chmod 0666 \"$node\"\n"
                                  "done\n"
                                  "echo \"camkes_init: done\"\n"));
    // a system without cross-VM connections: no case at all
    const std::string plain = camkesInitScript({});
    EXPECT_THAT(plain, Not(HasSubstr("case")));
    EXPECT_THAT(plain, HasSubstr("chmod 0666"));
}

TEST(CrossVmLayout, BadIdsNameTheirPlace) {
    {
        adl::System s = printServer();
        s.instances[0].attributes["do_print_id"] = num(0, 40);
        EXPECT_THAT(layoutError(s, "vm.vm0"),
                    HasSubstr("app.camkes:40:14: error: vm.vm0.do_print_id = 0: cross-VM "
                              "emitted event ids start at 1"));
    }
    {
        adl::System s = twoVms();
        s.instances[0].attributes["do_print_id"] = num(1, 41);
        EXPECT_THAT(layoutError(s, "vm.vm0"),
                    HasSubstr("app.camkes:33:14: error: vm.vm0: emitted events do_print and ack "
                              "both have id 1 (the first one: app.camkes:41:14)"));
    }
    {
        adl::System s = twoVms();
        s.instances[0].attributes["do_print_id"] = num(3, 42);
        EXPECT_THAT(layoutError(s, "vm.vm0"),
                    HasSubstr("app.camkes:42:14: error: vm.vm0.do_print_id = 3: cross-VM emitted "
                              "event ids must be contiguous from 1; vm.vm0 has 2 emitted events, "
                              "so ids 1..2"));
    }
    {
        adl::System s = printServer();
        s.instances[0].attributes["done_printing_id"] = num(2, 43);
        EXPECT_THAT(layoutError(s, "vm.vm0"),
                    HasSubstr("app.camkes:43:14: error: vm.vm0.done_printing_id = 2: cross-VM "
                              "consumed event ids must be contiguous from 1"));
    }
    {
        adl::System s = printServer();
        s.instances[0].attributes["data_size"] = num(8192, 44);
        EXPECT_THAT(layoutError(s, "vm.vm0"),
                    HasSubstr("app.camkes:44:14: error: vm.vm0.data_size must equal the "
                              "dataport's size (4096 bytes, Buf(4096))"));
    }
}

TEST(CrossVmLayout, UnconnectedInterfaceAndProceduresAreErrors) {
    adl::System s = printServer();
    s.connections.erase(s.connections.begin());  // conn_do_print
    EXPECT_THAT(layoutError(s, "vm.vm0"),
                HasSubstr("app.camkes:11:5: error: emitted event vm.vm0.do_print (emits DoPrint) "
                          "is not connected"));
    s = printServer();
    s.types[0].interfaces.push_back(test::iface("h", K::Uses, "Hello"));
    s.types[0].interfaces.back().loc = {"app.camkes", 15, 5};
    EXPECT_THAT(layoutError(s, "vm.vm0"),
                HasSubstr("app.camkes:15:5: error: vm.vm0.h: a VM cannot take part in a "
                          "procedure connection (uses Hello)"));
    EXPECT_THAT(layoutError(s, "vm.print_server"), HasSubstr("is not a VM"));
}

// A spec through the real front end: ids from the resolver, places from the files.
class SpecDir : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/cxvm-layout-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    adl::LoadResult load(const std::string& config) {
        std::ofstream(dir_ / "app.camkes")
            << "#include <autoconf.h>\n"
               "#include <configurations/vm.h>\n"
               "import <VM/vm.camkes>;\n"
               "component Init0 {\n"                       // line 4
               "    VM_INIT_DEF()\n"
               "    dataport Buf(4096) data;\n"            // line 6
               "    emits Ev a;\n"                         // line 7
               "    emits Ev b;\n"                         // line 8
               "    consumes Ev back;\n"                   // line 9
               "}\n"
               "component Peer {\n"
               "    control;\n"
               "    dataport Buf(4096) data;\n"
               "    consumes Ev a;\n"
               "    consumes Ev b;\n"
               "    emits Ev back;\n"
               "}\n"
               "assembly {\n"
               "    composition {\n"
               "        component Init0 vm0;\n"            // line 20
               "        component Peer peer;\n"
               "        connection seL4Notification ca(from vm0.a, to peer.a);\n"
               "        connection seL4Notification cb(from vm0.b, to peer.b);\n"
               "        connection seL4Notification cback(from peer.back, to vm0.back);\n"
               "        connection seL4SharedDataWithCaps cd(from peer.data, to vm0.data);\n"
               "    }\n"
               "    configuration {\n"
               "        vm0.kernel_image = \"bzimage\";\n"  // line 28
            << config << "    }\n}\n";
        return adl::loadSpec(dir_ / "app.camkes");
    }
    std::filesystem::path dir_;
};

TEST_F(SpecDir, IdsFromTheSpec) {
    adl::LoadResult r = load("        vm0.a_id = 2;\n        vm0.b_id = 1;\n");
    ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : adl::formatDiagnostic(r.diagnostics[0]));
    CrossVmLayout l = crossVmLayout(*r.system, *r.system->findInstance("vm0"));
    ASSERT_EQ(l.emits.size(), 2u);
    EXPECT_EQ(l.emits[0].iface, "b");
    EXPECT_EQ(l.emits[1].iface, "a");
    EXPECT_EQ(l.dataports.at(0).id, 1u);  // assigned by the resolver
    EXPECT_EQ(l.dataports.at(0).connection, "cd");
    EXPECT_EQ(l.consumes.at(0).connection, "cback");
    EXPECT_THAT(where(l.emits[1].loc), MatchesRegex(".*/app\\.camkes:29:[0-9]+"));
    EXPECT_THAT(camkesInitScript(std::vector{l}),
                HasSubstr("    dataport_init /dev/camkes_data 4096\n"
                          "    consumes_event_init /dev/camkes_back\n"
                          "    emits_event_init /dev/camkes_b /dev/camkes_a\n"));
}

TEST_F(SpecDir, DuplicateEventIdIsAnErrorAtItsSetting) {
    adl::LoadResult r = load("        vm0.a_id = 1;\n        vm0.b_id = 1;\n");
    ASSERT_TRUE(r.ok());
    try {
        crossVmLayout(*r.system, *r.system->findInstance("vm0"));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), MatchesRegex(".*/app\\.camkes:30:[0-9]+: error: vm0: emitted events "
                                           "a and b both have id 1 .*"));
    }
}

TEST(VmInstanceConfig, ArgumentsRoundTrip) {
    VmInstanceConfig c;
    c.instance = "vm.vm0";
    c.kernel = "/k/bzImage";
    c.initrd = "/k/rootfs.cpio";
    c.cmdline = "console=ttyS0 reboot=k";
    c.ramBytes = 64ull << 20;
    c.engine = "interp";
    c.noJit = c.deterministic = c.consoleOnTerminal = c.noUnpackKernel = c.postCodes = true;
    c.maxInstructions = 1234;
    c.consoleLog = "/logs/vm.vm0.console.log";
    c.logLevel = 2;
    c.dataports = {{1, 4096, "data", "vm.vm0.data (vm.conn_data, a.camkes:9:5)"}};
    c.emits = {{1, 0, "do_print", "x: y"}, {2, 0, "ack", ""}};
    c.consumes = {{1, 0, "done_printing", "z"}};
    // A comma in the file name: the option is the text after the last comma.
    c.disks = {{"/img/a,b.img", false, "app.camkes:30:31: vm.vm0.disks[0]"}, {"/img/c.img", true, ""}};
    const std::vector<std::string> args = c.args();
    std::vector<std::string_view> views(args.begin(), args.end());
    VmInstanceConfig d = VmInstanceConfig::parse(views);
    EXPECT_EQ(d.instance, c.instance);
    EXPECT_EQ(d.kernel, c.kernel);
    EXPECT_EQ(d.initrd, c.initrd);
    EXPECT_EQ(d.cmdline, c.cmdline);
    EXPECT_EQ(d.ramBytes, c.ramBytes);
    EXPECT_EQ(d.engine, "interp");
    EXPECT_TRUE(d.noJit && d.deterministic && d.consoleOnTerminal);
    EXPECT_TRUE(d.noUnpackKernel && d.postCodes);
    EXPECT_EQ(d.maxInstructions, 1234u);
    EXPECT_EQ(d.consoleLog, c.consoleLog);
    EXPECT_EQ(d.logLevel, 2);
    ASSERT_EQ(d.dataports.size(), 1u);
    EXPECT_EQ(d.dataports[0].size, 4096u);
    EXPECT_EQ(d.dataports[0].label, "vm.vm0.data (vm.conn_data, a.camkes:9:5)");
    ASSERT_EQ(d.emits.size(), 2u);
    EXPECT_EQ(d.emits[1].iface, "ack");
    EXPECT_EQ(d.emits[0].label, "x: y");
    EXPECT_EQ(d.consumes.at(0).iface, "done_printing");
    ASSERT_EQ(d.disks.size(), 2u);
    EXPECT_EQ(d.disks[0].path, "/img/a,b.img");
    EXPECT_FALSE(d.disks[0].readOnly);
    EXPECT_EQ(d.disks[0].origin, "app.camkes:30:31: vm.vm0.disks[0]");
    EXPECT_EQ(d.disks[1].path, "/img/c.img");
    EXPECT_TRUE(d.disks[1].readOnly);
    EXPECT_EQ(d.disks[1].origin, "");

    auto err = [](std::vector<std::string_view> a) -> std::string {
        try {
            VmInstanceConfig::parse(a);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_THAT(err({"--instance", "x"}), HasSubstr("exactly one of --kernel and --firmware"));
    EXPECT_THAT(err({"--instance", "x", "--kernel", "k", "--engine", "qemu"}),
                HasSubstr("--engine qemu"));
    EXPECT_THAT(err({"--instance", "x", "--kernel", "k", "--dataport", "0:4096:d:l"}),
                HasSubstr("bad id"));
    EXPECT_THAT(err({"--instance", "x", "--kernel", "k", "--bogus"}), HasSubstr("--bogus"));
}

TEST(GlueGenerator, VmTypeGlueRunsTheVmInstance) {
    Glue g = generateGlue(test::fixture("vm"), "VmPoke");
    EXPECT_THAT(g.header, HasSubstr("#include <vmm/vmm.h>"));
    EXPECT_THAT(g.source,
                HasSubstr("int main(int argc, char **argv) { return cxvm_vm_instance_main(argc, "
                          "argv); }"));
}

// The `disks` VM attribute: files resolved like kernel_image, errors at the spec's place.
TEST(VmDisks, ResolvesFilesAndNamesTheSpecOnErrors) {
    char tmpl[] = "/tmp/cxvm-disks-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::filesystem::path dir = tmpl;
    std::ofstream(dir / "root.img") << "x";
    const vmm::GuestFiles files("/unused");
    auto str = [](std::string s, int line, int col) {
        adl::Value v;
        v.kind = adl::Value::Kind::String;
        v.s = std::move(s);
        v.loc = {"app.camkes", line, col};
        return v;
    };
    auto entry = [&](adl::Value file, adl::Value ro) {
        adl::Value d;
        d.kind = adl::Value::Kind::Dict;
        d.loc = file.loc;
        d.dict = {{"file", std::move(file)}, {"read_only", std::move(ro)}};
        return d;
    };
    adl::Instance vm;
    vm.name = "vm.vm0";
    adl::Value& list = vm.attributes["disks"];
    list.kind = adl::Value::Kind::List;
    list.loc = {"app.camkes", 30, 20};
    list.list = {entry(str("root.img", 30, 31), num(0)), entry(str((dir / "root.img").string(), 31, 31), num(1))};
    auto disks = vmDisks(vm, dir, files);
    ASSERT_EQ(disks.size(), 2u);
    EXPECT_EQ(disks[0].path, dir / "root.img");
    EXPECT_FALSE(disks[0].readOnly);
    EXPECT_EQ(disks[0].origin, "app.camkes:30:31: vm.vm0.disks[0]");
    EXPECT_TRUE(disks[1].readOnly);

    auto err = [&]() -> std::string {
        try {
            vmDisks(vm, dir, files);
        } catch (const Error& e) {
            return e.what();
        }
        return "no error";
    };
    list.list[1].dict[1].second = num(2, 31);
    EXPECT_THAT(err(), HasSubstr("app.camkes:31:14: error: vm.vm0.disks[1].read_only must be 0 or 1"));
    list.list[1] = entry(str("missing.img", 32, 31), num(0));
    EXPECT_THAT(err(), HasSubstr("app.camkes:32:31: error: vm.vm0.disks[1].file = \"missing.img\": "
                                 "no such file in the app folder"));
    EXPECT_THAT(err(), HasSubstr("image cache"));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cxvm::system
