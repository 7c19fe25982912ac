// The generated C: what component code sees, and the errors for what it cannot express.
#include "Fixtures.h"
#include "system/GlueGenerator.h"
#include "system/ProcedureGlue.h"
#include "util/Error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cxvm::system {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string errorOf(const adl::System& s, std::string_view type) {
    try {
        generateGlue(s, type);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(GlueGenerator, ProcedurePrototypesFollowCamkesConventions) {
    auto s = test::fixture("rpc");
    const adl::Procedure& p = s.procedures.front();
    EXPECT_EQ(procedurePrototype(p, p.methods[0], "h"), "int h_say(const char *s)");
    EXPECT_EQ(procedurePrototype(p, p.methods[1], "h"),
              "void h_add(int a, const int64_t *b, int64_t *sum, unsigned int *count)");
    EXPECT_EQ(procedurePrototype(p, p.methods[2], "h"),
              "char *h_shout(const char *in, char **out, char **io)");
    EXPECT_EQ(procedurePrototype(p, p.methods[3], "h"),
              "double h_total(size_t xs_sz, const double *xs, size_t *ys_sz, int **ys, "
              "size_t *zs_sz, uint8_t **zs)");
}

TEST(GlueGenerator, ClientHeaderDeclaresStubsAndConstAttributes) {
    Glue g = generateGlue(test::fixture("rpc"), "Client");
    EXPECT_THAT(g.header, HasSubstr("int run(void);"));
    EXPECT_THAT(g.header, HasSubstr("const char *get_instance_name(void);"));
    EXPECT_THAT(g.header, HasSubstr("extern const char *const greeting;"));
    EXPECT_THAT(g.header, HasSubstr("extern const int times;"));
    EXPECT_THAT(g.header, HasSubstr("int h_say(const char *s);"));
    EXPECT_THAT(g.header, HasSubstr("extern \"C\" {"));
    // per-instance values, escaped as C strings
    EXPECT_THAT(g.source, HasSubstr("{\"client\", \"hi \\\"there\\\"\", (int)3LL},"));
    EXPECT_THAT(g.source, HasSubstr(".control = 1,"));
    EXPECT_THAT(g.source, HasSubstr(".run = run,"));
}

TEST(GlueGenerator, ServerGetsADispatcherAndNoRun) {
    Glue g = generateGlue(test::fixture("rpc"), "Server");
    EXPECT_THAT(g.source, HasSubstr("static int dispatch_hello(uint32_t method"));
    EXPECT_THAT(g.source, HasSubstr("cxvm_rpc_server_start(&srv_hello);"));
    EXPECT_THAT(g.source, HasSubstr(".run = NULL,"));
}

TEST(GlueGenerator, EventsDataportsAndHasObjects) {
    Glue r = generateGlue(test::fixture("events"), "Receiver");
    EXPECT_THAT(r.header, HasSubstr("void ev_wait(void);"));
    EXPECT_THAT(r.header, HasSubstr("int ev_poll(void);"));
    EXPECT_THAT(r.header, HasSubstr("int cb_reg_callback(void (*callback)(void *), void *arg);"));
    EXPECT_THAT(r.header, HasSubstr("void ack_emit(void);"));
    EXPECT_THAT(r.header, HasSubstr("int m_lock(void);"));
    EXPECT_THAT(r.header, HasSubstr("int s_trywait(void);"));
    Glue p = generateGlue(test::fixture("probe"), "Probe");
    EXPECT_THAT(p.header, HasSubstr("extern volatile void *d;"));
    EXPECT_THAT(p.header, HasSubstr("size_t d_get_size(void);"));
    EXPECT_THAT(p.source, HasSubstr("size_t d_get_size(void) { return 4096u; }"));
}

TEST(GlueGenerator, WithCapsToEndGetsHandleIdAndSize) {
    auto s = test::fixture("probe");
    s.connections[1].connector = "seL4SharedDataWithCaps";  // b.d -> c.d
    adl::Value one;
    one.kind = adl::Value::Kind::Int;
    one.i = 1;
    adl::Value size = one;
    size.i = 4096;
    s.instances[2].attributes["d_id"] = one;
    s.instances[2].attributes["d_size"] = size;
    Glue g = generateGlue(s, "Probe");
    EXPECT_THAT(g.header, HasSubstr("extern dataport_caps_handle_t d_handle;"));
    EXPECT_THAT(g.header, HasSubstr("extern const int d_id;"));
    EXPECT_THAT(g.header, HasSubstr("extern const int d_size;"));
    EXPECT_THAT(g.source, HasSubstr("{\"c\", (int)1LL, (int)4096LL},"));
    s.instances[2].attributes["d_size"].i = 8192;
    EXPECT_THAT(errorOf(s, "Probe"), HasSubstr("c.d_size must equal the dataport's size (4096)"));
}

TEST(GlueGenerator, ErrorsNameThePlaceInTheSpec) {
    auto s = test::fixture("rpc");
    s.procedures[0].loc = {"hello.camkes", 3, 1};
    s.procedures[0].methods[0].params[0].type = "struct foo";
    EXPECT_THAT(errorOf(s, "Client"),
                HasSubstr("hello.camkes:3:1: error: procedure Hello: method say: parameter s has "
                          "type struct foo"));

    s = test::fixture("rpc");
    s.connections[0].connector = "seL4Teleport";
    EXPECT_THAT(errorOf(s, "Client"),
                HasSubstr("fixture.camkes:1:1: error: connection c0: connector seL4Teleport is "
                          "not supported"));

    s = test::fixture("rpc");
    std::swap(s.connections[0].from, s.connections[0].to);
    EXPECT_THAT(errorOf(s, "Client"), HasSubstr("server.hello is not a `uses` interface"));

    s = test::fixture("rpc");
    s.instances[0].attributes["times"].i = 1LL << 40;
    EXPECT_THAT(errorOf(s, "Client"), HasSubstr("client.times: 1099511627776 does not fit an int"));

    s = test::fixture("rpc");
    s.types[0].interfaces[0].name = "bad-name";
    s.connections.clear();
    EXPECT_THAT(errorOf(s, "Client"), HasSubstr("interface \"bad-name\" is not a C identifier"));

    s = test::fixture("rpc");
    s.connections.push_back(test::conn("c1", "seL4RPCCall", "client", "h", "server", "hello"));
    EXPECT_THAT(errorOf(s, "Client"), HasSubstr("connection c1: client.h already calls through "
                                                "connection c0"));

    EXPECT_THAT(errorOf(test::fixture("rpc"), "Nobody"), HasSubstr("no component type Nobody"));
}

TEST(GlueGenerator, DataportEndsMustAgreeOnSize) {
    auto s = test::fixture("probe");
    s.types[0].interfaces[2].dataportSize = 8192;
    s.types.push_back(s.types[0]);
    s.types.back().name = "SmallProbe";
    s.types.back().interfaces[2].dataportSize = 4096;
    s.instances[2].type = "SmallProbe";  // c
    EXPECT_THAT(errorOf(s, "Probe"), HasSubstr("dataport c.d has 4096 bytes, the other end 8192"));
}

}  // namespace
}  // namespace cxvm::system
