// The tutorial's specs, as written, through the real preprocessor and <configurations/vm.h>.
#include "AdlTestUtil.h"
#include "adl/Dump.h"

namespace cxvm::adl::test {
namespace {

LoadResult loadSeed(const std::string& app) { return loadSpec(specDir() / "seed" / app / "vm.camkes"); }

const Instance& vm0(const System& sys) {
    const Instance* i = sys.findInstance("vm.vm0");
    if (!i) throw std::runtime_error("no vm.vm0");
    return *i;
}

std::int64_t intAttr(const Instance& i, const std::string& n) {
    auto it = i.attributes.find(n);
    EXPECT_NE(it, i.attributes.end()) << n;
    return it == i.attributes.end() ? -1 : it->second.i;
}

std::string strAttr(const Instance& i, const std::string& n) {
    auto it = i.attributes.find(n);
    EXPECT_NE(it, i.attributes.end()) << n;
    return it == i.attributes.end() ? "" : it->second.s;
}

TEST(SeedSpec, MinimalResolvesToOneVm) {
    auto r = loadSeed("cma34cr_minimal");
    expectClean(r);
    ASSERT_TRUE(r.ok());
    const System& sys = *r.system;
    ASSERT_EQ(sys.instances.size(), 1u);
    const Instance& vm = vm0(sys);
    EXPECT_EQ(vm.type, "Init0");
    const ComponentType* t = sys.findType("Init0");
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->isVm);
    EXPECT_TRUE(t->control);
    const ComponentType* compound = sys.findType("VM");
    ASSERT_NE(compound, nullptr);
    EXPECT_TRUE(compound->compound);
    EXPECT_FALSE(compound->isVm);
    EXPECT_EQ(intAttr(vm, "simple_untyped23_pool"), 20);
    EXPECT_EQ(intAttr(vm, "heap_size"), 0x2000000);
    EXPECT_EQ(intAttr(vm, "guest_ram_mb"), 128);
    EXPECT_EQ(intAttr(vm, "iospace_domain"), 15);
    EXPECT_EQ(strAttr(vm, "kernel_image"), "bzimage");
    EXPECT_EQ(strAttr(vm, "kernel_relocs"), "bzimage");
    EXPECT_EQ(strAttr(vm, "initrd_image"), "rootfs.cpio");
    EXPECT_EQ(strAttr(vm, "kernel_cmdline").rfind("earlyprintk=ttyS0,115200 console=ttyS0,115200", 0), 0u);
    EXPECT_EQ(intAttr(vm, "cnode_size_bits"), 21);  // from VM_PER_VM_CONFIG_DEF
    EXPECT_TRUE(sys.connections.empty());
    // Locations point at the original files, not at cpp's output.
    EXPECT_NE(vm.loc.file.find("cma34cr.camkes"), std::string::npos) << vm.loc.file;
    EXPECT_EQ(vm.loc.line, 12);  // the VM_PER_VM_COMP_DEF(0) line
    EXPECT_EQ(vm.loc.col, 9);    // a name made by a macro points at the macro use
    EXPECT_EQ(vm.attributes.at("heap_size").loc.line, 20);
    EXPECT_EQ(vm.attributes.at("heap_size").loc.col, 25);
}

TEST(SeedSpec, PrintServerConnectionsAndDataportIds) {
    auto r = loadSeed("cma34cr_print_server");
    expectClean(r);
    ASSERT_TRUE(r.ok());
    const System& sys = *r.system;
    ASSERT_EQ(sys.instances.size(), 2u);
    const Instance* ps = sys.findInstance("vm.print_server");
    ASSERT_NE(ps, nullptr);
    EXPECT_EQ(ps->type, "PrintServer");
    const Instance& vm = vm0(sys);
    EXPECT_EQ(intAttr(vm, "data_id"), 1);
    EXPECT_EQ(intAttr(vm, "data_size"), 4096);
    EXPECT_EQ(intAttr(vm, "simple_untyped24_pool"), 12);
    EXPECT_EQ(intAttr(vm, "heap_size"), 0x10000);
    const ComponentType* init0 = sys.findType("Init0");
    ASSERT_NE(init0, nullptr);
    ASSERT_NE(init0->findInterface("data"), nullptr);
    EXPECT_EQ(init0->findInterface("data")->dataportSize, 4096u);
    EXPECT_EQ(init0->mutexes, std::vector<std::string>{"cross_vm_event_mutex"});
    ASSERT_EQ(sys.connections.size(), 3u);
    const Connection& c0 = sys.connections[0];
    EXPECT_EQ(c0.name, "vm.conn_do_print");
    EXPECT_EQ(c0.connector, "seL4Notification");
    ASSERT_EQ(c0.from.size(), 1u);
    EXPECT_EQ(c0.from[0].instance, "vm.vm0");
    EXPECT_EQ(c0.from[0].interface, "do_print");
    EXPECT_EQ(c0.to[0].instance, "vm.print_server");
    const Connection& c2 = sys.connections[2];
    EXPECT_EQ(c2.connector, "seL4SharedDataWithCaps");
    EXPECT_EQ(c2.from[0].instance, "vm.print_server");
    EXPECT_EQ(c2.to[0].instance, "vm.vm0");
    EXPECT_EQ(c2.to[0].interface, "data");
}

TEST(SeedSpec, PassthroughAhciLists) {
    auto r = loadSeed("cma34cr_passthrough_ahci");
    expectClean(r);
    ASSERT_TRUE(r.ok());
    const Instance& vm = vm0(*r.system);
    EXPECT_EQ(intAttr(vm, "pci_devices_iospace"), 1);  // set through vm0_config
    const Value& io = vm.attributes.at("ioports");
    ASSERT_EQ(io.kind, Value::Kind::List);
    ASSERT_EQ(io.list.size(), 4u);
    EXPECT_EQ(io.list[0].get("start")->i, 0x4088);
    EXPECT_EQ(io.list[3].get("end")->i, 0x4080);
    EXPECT_EQ(io.list[1].get("name")->s, "SATA");
    const Value& pci = vm.attributes.at("pci_devices");
    ASSERT_EQ(pci.list.size(), 1u);
    EXPECT_EQ(pci.list[0].get("dev")->i, 0x1f);
    EXPECT_EQ(pci.list[0].get("fun")->i, 2);
    const Value* mem = pci.list[0].get("memory");
    ASSERT_NE(mem, nullptr);
    ASSERT_EQ(mem->list.size(), 1u);
    EXPECT_EQ(mem->list[0].get("paddr")->i, 0xc0713000);
    EXPECT_EQ(mem->list[0].get("size")->i, 0x800);
    EXPECT_EQ(mem->list[0].get("page_bits")->i, 12);
    const Value& irqs = vm.attributes.at("irqs");
    ASSERT_EQ(irqs.list.size(), 1u);
    EXPECT_EQ(irqs.list[0].get("source")->i, 19);
    EXPECT_EQ(irqs.list[0].get("dest")->i, 11);
}

TEST(SeedSpec, PassthroughIdeAsWrittenWarnsAboutTheMissingSemicolon) {
    // The tutorial's IDE listing lacks the ';' after `pci_devices_iospace = 1`.
    auto r = loadSeed("cma34cr_passthrough_ide");
    ASSERT_TRUE(r.ok()) << allDiagnostics(r);
    EXPECT_EQ(count(r, Diagnostic::Severity::Warning), 1u) << allDiagnostics(r);
    expectDiag(r, Diagnostic::Severity::Warning, "missing ';' after a setting", 28, 43);
    const Instance& vm = vm0(*r.system);
    EXPECT_EQ(intAttr(vm, "pci_devices_iospace"), 1);
    EXPECT_EQ(vm.attributes.at("ioports").list.size(), 6u);
    EXPECT_TRUE(vm.attributes.at("pci_devices").list[0].get("memory")->list.empty());
}

TEST(SeedSpec, PassthroughEthernetAddsAnEntryToEachList) {
    auto r = loadSeed("cma34cr_ethernet");
    expectClean(r);
    ASSERT_TRUE(r.ok());
    const Instance& vm = vm0(*r.system);
    const Value& io = vm.attributes.at("ioports");
    ASSERT_EQ(io.list.size(), 7u);
    EXPECT_EQ(io.list[6].get("name")->s, "Ethernet5");
    EXPECT_EQ(io.list[6].get("start")->i, 0x3000);
    const Value& pci = vm.attributes.at("pci_devices");
    ASSERT_EQ(pci.list.size(), 2u);
    EXPECT_EQ(pci.list[1].get("bus")->i, 5);
    ASSERT_EQ(pci.list[1].get("memory")->list.size(), 2u);
    EXPECT_EQ(pci.list[1].get("memory")->list[1].get("paddr")->i, 0xc0520000);
    EXPECT_EQ(pci.list[1].get("memory")->list[0].get("size")->i, 0x20000);
    const Value& irqs = vm.attributes.at("irqs");
    ASSERT_EQ(irqs.list.size(), 2u);
    EXPECT_EQ(irqs.list[1].get("source")->i, 0x11);
    EXPECT_EQ(irqs.list[1].get("dest")->i, 10);
}

TEST(SeedSpec, AppsCheckClean) {
    for (const char* app : {"apps/minimal", "apps/print_server"}) {
        auto spec = findAppSpec(sourceDir() / app);
        EXPECT_EQ(spec.filename(), "vm.camkes");
        auto r = loadSpec(spec);
        expectClean(r);
        ASSERT_TRUE(r.ok()) << app;
        const Instance* vm = r.system->findInstance("vm.vm0");
        ASSERT_NE(vm, nullptr) << app;
        EXPECT_EQ(vm->attributes.at("kernel_image").s, "bzimage");
        EXPECT_EQ(vm->attributes.at("initrd_image").s, "rootfs.cpio");
        EXPECT_EQ(vm->attributes.at("kernel_cmdline").s.rfind("console=ttyS0", 0), 0u);
    }
}

TEST(SeedSpec, DumpOfPrintServer) {
    auto r = loadSeed("cma34cr_print_server");
    ASSERT_TRUE(r.ok());
    std::string text = dumpText(*r.system);
    EXPECT_NE(text.find("instance vm.vm0 : Init0 (VM)\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  dataport Buf(4096) data\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  vm.vm0.data_id = 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  vm.vm0.kernel_image = \"bzimage\"\n"), std::string::npos) << text;
    EXPECT_NE(text.find("connection seL4SharedDataWithCaps vm.conn_data(from vm.print_server.data, to vm.vm0.data)\n"),
              std::string::npos)
        << text;
    std::string json = dumpJson(*r.system);
    EXPECT_NE(json.find("\"name\":\"vm.vm0\",\"type\":\"Init0\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"data_size\":4096"), std::string::npos) << json;
    EXPECT_NE(json.find("\"connector\":\"seL4SharedDataWithCaps\",\"from\":[{\"instance\":\"vm.print_server\","
                        "\"interface\":\"data\"}]"),
              std::string::npos)
        << json;
}

}  // namespace
}  // namespace cxvm::adl::test
