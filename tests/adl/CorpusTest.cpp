// CAmkES example specs written for the tests (tests/adl/specs/*): RPC, events, dataports,
// compound components, hardware. Each loads clean and resolves to the expected model.
#include "AdlTestUtil.h"

namespace cxvm::adl::test {
namespace {

System loadClean(const std::string& rel) {
    auto r = loadSpec(specDir() / rel);
    expectClean(r);
    if (!r.ok()) throw std::runtime_error(allDiagnostics(r));
    return std::move(*r.system);
}

TEST(AdlCorpus, RpcClientServer) {
    System sys = loadClean("rpc/rpc.camkes");
    const Procedure* calc = sys.findProcedure("Calc");
    ASSERT_NE(calc, nullptr);
    ASSERT_EQ(calc->methods.size(), 5u);
    EXPECT_EQ(calc->includes, std::vector<std::string>{"\"calc_types.h\""});
    const Method& add = calc->methods[0];
    EXPECT_EQ(add.name, "add");
    EXPECT_EQ(add.returnType, "int");
    ASSERT_EQ(add.params.size(), 2u);
    EXPECT_EQ(add.params[1].name, "b");
    const Method& divmod = calc->methods[1];
    ASSERT_EQ(divmod.params.size(), 4u);
    EXPECT_EQ(divmod.params[0].type, "unsigned int");
    EXPECT_EQ(divmod.params[2].direction, Direction::Out);
    EXPECT_EQ(calc->methods[2].params[0].direction, Direction::InOut);
    EXPECT_EQ(calc->methods[2].params[1].direction, Direction::RefIn);
    EXPECT_EQ(calc->methods[3].returnType, "string");
    EXPECT_TRUE(calc->methods[4].params[0].array);
    EXPECT_EQ(calc->methods[4].params[1].type, "long");

    ASSERT_EQ(sys.instances.size(), 3u);
    EXPECT_EQ(sys.findInstance("server")->attributes.at("prefix").s, "sum: ");
    EXPECT_EQ(sys.findInstance("client")->attributes.at("priority").i, 200);
    const ComponentType* client = sys.findType("Client");
    ASSERT_NE(client, nullptr);
    EXPECT_TRUE(client->findInterface("spare")->optional);
    EXPECT_EQ(client->findInterface("calc")->kind, InterfaceKind::Uses);
    ASSERT_EQ(sys.connections.size(), 2u);
    EXPECT_EQ(sys.connections[1].from[0].instance, "other");
    EXPECT_EQ(sys.connections[1].to[0].instance, "server");
    EXPECT_NE(sys.findConnector("seL4RPCCall"), nullptr);
    EXPECT_EQ(sys.findConnector("seL4RPCCall")->from.kind, ConnectorEndKind::Procedure);
}

TEST(AdlCorpus, EventsManyToOne) {
    System sys = loadClean("events/events.camkes");
    ASSERT_EQ(sys.connections.size(), 3u);
    const Connection& ticks = sys.connections[0];
    EXPECT_EQ(ticks.connector, "seL4Notification");
    ASSERT_EQ(ticks.from.size(), 2u);
    EXPECT_EQ(ticks.from[1].instance, "b");
    ASSERT_EQ(ticks.to.size(), 1u);
    EXPECT_EQ(ticks.to[0].instance, "counter");
    const ComponentType* counter = sys.findType("Counter");
    EXPECT_EQ(counter->semaphores, std::vector<std::string>{"counted"});
    EXPECT_EQ(counter->binarySemaphores, std::vector<std::string>{"ready"});
    EXPECT_EQ(counter->mutexes, std::vector<std::string>{"lock"});
    EXPECT_TRUE(sys.findConnector("seL4Notification")->from.multiple);
    EXPECT_FALSE(sys.findConnector("seL4Notification")->to.multiple);
}

TEST(AdlCorpus, DataportsSharedAmongThree) {
    System sys = loadClean("dataports/dataports.camkes");
    const ComponentType* producer = sys.findType("Producer");
    EXPECT_EQ(producer->findInterface("ring")->type, "Buf(8192)");  // Buf(RING_PAGES * 4096)
    EXPECT_EQ(producer->findInterface("ring")->dataportSize, 8192u);
    EXPECT_EQ(sys.findType("Consumer")->findInterface("ring")->type, "Buf(8192)");  // Buf(0x2000)
    EXPECT_EQ(producer->findInterface("stats")->type, "Stats");
    ASSERT_EQ(sys.connections.size(), 2u);
    EXPECT_EQ(sys.connections[0].to.size(), 2u);
}

TEST(AdlCorpus, CompoundComponentsFlatten) {
    System sys = loadClean("compound/compound.camkes");
    std::vector<std::string> names;
    for (const auto& i : sys.instances) names.push_back(i.name);
    EXPECT_EQ(names, (std::vector<std::string>{"pipe.first", "pipe.middle.s", "collector"}));
    EXPECT_TRUE(sys.findType("Pipeline")->compound);
    EXPECT_TRUE(sys.findType("Inner")->compound);
    EXPECT_EQ(sys.findInstance("collector")->group, "sinks");
    // Connections inside compounds are named like instances; ends follow exports.
    ASSERT_EQ(sys.connections.size(), 2u);
    EXPECT_EQ(sys.connections[0].name, "pipe.link");
    EXPECT_EQ(sys.connections[0].from[0].instance, "pipe.first");
    EXPECT_EQ(sys.connections[0].to[0].instance, "pipe.middle.s");
    EXPECT_EQ(sys.connections[0].to[0].interface, "in");
    EXPECT_EQ(sys.connections[1].name, "to_collector");
    EXPECT_EQ(sys.connections[1].from[0].instance, "pipe.middle.s");  // pipe.out -> middle.out -> s.out
    EXPECT_EQ(sys.connections[1].from[0].interface, "out");
    // Attribute values: inner configuration, outer configuration, expressions, '<-'.
    const Instance* first = sys.findInstance("pipe.first");
    EXPECT_EQ(first->attributes.at("gain").i, 9);
    EXPECT_EQ(first->attributes.at("limits").get("low")->i, -16);
    EXPECT_EQ(first->attributes.at("limits").get("high")->i, 8);  // octal 010
    const Value& tables = first->attributes.at("tables");
    ASSERT_EQ(tables.list.size(), 2u);
    EXPECT_EQ(tables.list[0].get("values")->list.size(), 3u);
    const Instance* s = sys.findInstance("pipe.middle.s");
    EXPECT_EQ(s->attributes.at("gain").i, 7);
    EXPECT_EQ(s->attributes.at("limits").get("low")->i, 16);
    EXPECT_EQ(s->attributes.at("limits").get("high")->i, 255);
    EXPECT_EQ(s->attributes.at("tables").list.size(), 0u);  // default
    EXPECT_EQ(sys.findInstance("collector")->attributes.at("gain").i, 9);  // <- pipe.first.gain
}

TEST(AdlCorpus, HardwareComponents) {
    System sys = loadClean("hardware/hardware.camkes");
    EXPECT_TRUE(sys.findType("Uart")->hardware);
    const Instance* uart = sys.findInstance("uart");
    EXPECT_EQ(uart->attributes.at("regs_paddr").i, 0xfed00000);
    EXPECT_EQ(uart->attributes.at("irq_irq_number").i, 4);
    EXPECT_EQ(uart->attributes.at("ports_attributes").s, "0x3f8:0x3ff");
    EXPECT_TRUE(sys.findConnector("seL4HardwareMMIO")->to.hardware);
    EXPECT_TRUE(sys.findConnector("seL4HardwareInterrupt")->from.hardware);
}

}  // namespace
}  // namespace cxvm::adl::test
