// The tutorial's second half walked as a user walks it (issue 12): the poke module
// (printk, then the hypercall with a VMM-side handler), the cross-VM print server, and
// two guests printing through one native server. Each walk edits a private copy of
// guest/ exactly as the tutorial edits projects/vm/linux, runs `cxvm build-rootfs`, then
// `cxvm run APP` and drives the guest's console.
//
// The engine is interp, or $CXVM_WALK_ENGINE (the nested kvm run sets kvm).
#include "BootGate.h"
#include "ConsoleDriver.h"

#include "util/Subprocess.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace cxvm::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

const fs::path kSource = CXVM_SOURCE_DIR;

std::string engine() {
    const char* e = std::getenv("CXVM_WALK_ENGINE");
    return e && *e ? e : "interp";
}

std::string readText(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeText(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

// Runs `cmd` in the guest shell and returns what it printed.
std::string shell(ConsoleDriver& c, const std::string& cmd, double timeout = 60) {
    c.sendLine(cmd + "; echo @@$((6*7))@@");
    if (!c.expect("@@42@@", seconds(static_cast<long>(timeout)))) return "<timeout: " + c.error() + ">";
    return c.lastChunk();
}

void login(ConsoleDriver& c) {
    c.failOn("Kernel panic");
    ASSERT_TRUE(c.expect("login:", seconds(static_cast<long>(bootTimeoutSeconds())))) << c.report();
    c.sendLine("root");
    ASSERT_TRUE(c.expect("assword:", seconds(60))) << c.report();
    c.sendLine("root");
    c.sendLine("echo logged-$((20+3))-in");
    ASSERT_TRUE(c.expect("logged-23-in", seconds(60))) << c.report();
}

void powerOff(ConsoleDriver& c) {
    c.sendLine("poweroff");
    auto st = c.waitExit(seconds(120));
    ASSERT_TRUE(st.has_value()) << c.report();
    EXPECT_EQ(*st, 0) << c.report();
}

// The console of a VM that is not on cxvm's terminal: its pseudo-terminal, found at
// <log dir>/<instance>.pty, driven like a serial line.
class PtyConsole {
public:
    explicit PtyConsole(const fs::path& link) {
        for (int i = 0; i < 600 && fd_ < 0; ++i) {
            if (fs::exists(link)) fd_ = ::open(link.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (fd_ < 0) ::usleep(100'000);
        }
    }
    ~PtyConsole() {
        if (fd_ >= 0) ::close(fd_);
    }
    PtyConsole(const PtyConsole&) = delete;
    PtyConsole& operator=(const PtyConsole&) = delete;

    [[nodiscard]] bool open() const { return fd_ >= 0; }
    bool expect(std::string_view text, seconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (auto at = log_.find(text, from_); at != std::string::npos) {
                from_ = at + text.size();
                return true;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[4096];
            const ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n <= 0) return false;
            log_.append(buf, static_cast<std::size_t>(n));
        }
    }
    void sendLine(std::string_view line) {
        std::string s(line);
        s += '\r';  // Enter on a serial line
        ssize_t r = ::write(fd_, s.data(), s.size());
        (void)r;
    }
    [[nodiscard]] const std::string& log() const { return log_; }

private:
    int fd_ = -1;
    std::string log_;
    std::size_t from_ = 0;
};

// A private guest folder and cache per test: the user's edits never touch the tree,
// and the images it builds never replace the default guest.
class TutorialWalk : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto why = bootTestsBlocked()) GTEST_SKIP() << *why;
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        work_ = fs::temp_directory_path() / ("cxvm-walk-" + std::to_string(::getpid()) + "-" + info->name());
        fs::remove_all(work_);
        fs::create_directories(work_ / "cache");
        fs::create_directory_symlink(fs::absolute(guestCache() / "kit"), work_ / "cache/kit");
        fs::copy(kSource / "guest", work_ / "guest", fs::copy_options::recursive);
        oldCache_ = guestCache().string();
        setenv("CXVM_CACHE", (work_ / "cache").c_str(), 1);
    }
    void TearDown() override {
        if (!oldCache_.empty()) setenv("CXVM_CACHE", oldCache_.c_str(), 1);
        if (!work_.empty() && !HasFailure()) fs::remove_all(work_);
    }

    // `cxvm build-rootfs [APP]` on the private guest folder.
    void buildRootfs(const std::string& app = {}) {
        std::vector<std::string> argv{CXVM_EXE, "build-rootfs", "-s", (work_ / "guest").string()};
        if (!app.empty()) argv.push_back((kSource / "apps" / app).string());
        ProcessResult r = runProcess(argv);
        ASSERT_EQ(r.exitStatus, 0) << r.out << r.err;
        buildLog_ = r.err;
    }

    // The tutorial's poke module in guest/modules/poke and its insmod line in
    // init_template (steps 1-4).
    void addPokeModule() {
        fs::copy(kSource / "apps/poke/guest/modules/poke", work_ / "guest/modules/poke",
                 fs::copy_options::recursive);
        std::string init = readText(work_ / "guest/init_template");
        const std::string line = "insmod /lib/modules/__LINUX_VERSION__/kernel/drivers/vmm/poke.ko\n";
        const auto exec = init.find("exec /sbin/init");
        ASSERT_NE(exec, std::string::npos) << init;
        init.insert(exec, line);
        writeText(work_ / "guest/init_template", init);
    }

    // Step 7: the printk becomes the hypercall (on kvm: cxvm's gate; apps/poke/README.md).
    void pokeWithHypercall() {
        const fs::path src = work_ / "guest/modules/poke/poke.c";
        std::string text = readText(src);
        const std::string printk = "printk(\"hi\\n\"); // TODO replace with hypercall";
        const auto at = text.find(printk);
        ASSERT_NE(at, std::string::npos) << text;
        if (engine() == "kvm") {
            text.replace(at, printk.size(), "cxvm_hypercall1(4, 0);");
            text.insert(0, "#include <cxvm/hypercall.h>\n");
        } else {
            text.replace(at, printk.size(), "kvm_hypercall1(4, 0);");
        }
        writeText(src, text);
    }

    std::vector<std::string> runArgs(const std::string& app, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{CXVM_EXE, "run", (kSource / "apps" / app).string(), "--engine",
                                      engine(), "--log-dir", (work_ / "logs").string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return argv;
    }

    fs::path work_;
    std::string oldCache_, buildLog_;
};

int pokeMajor(ConsoleDriver& c) {
    const std::string out = shell(c, "grep poke /proc/devices");
    std::smatch m;
    if (!std::regex_search(out, m, std::regex(R"((\d+) poke)"))) return -1;
    return std::stoi(m[1]);
}

TEST_F(TutorialWalk, PokeModulePrintsHi) {
    addPokeModule();
    buildRootfs();
    EXPECT_NE(buildLog_.find("modules/poke: declares no MODULE_LICENSE"), std::string::npos) << buildLog_;
    ConsoleDriver c(runArgs("poke"));
    login(c);
    if (HasFatalFailure()) return;
    const int major = pokeMajor(c);
    ASSERT_GT(major, 0) << c.report();
    shell(c, "mknod /dev/poke c " + std::to_string(major) + " 0");
    shell(c, "echo > /dev/poke");
    EXPECT_NE(shell(c, "dmesg | grep -c '\\] hi$'").find("\n1"), std::string::npos) << c.report();
    powerOff(c);
}

TEST_F(TutorialWalk, PokeHypercallReachesTheAppsHandler) {
    addPokeModule();
    pokeWithHypercall();
    buildRootfs();
    ConsoleDriver c(runArgs("poke"));
    login(c);
    if (HasFatalFailure()) return;
    const int major = pokeMajor(c);
    ASSERT_GT(major, 0) << c.report();
    shell(c, "mknod /dev/poke c " + std::to_string(major) + " 0");
    c.sendLine("echo > /dev/poke");
    EXPECT_TRUE(c.expect("POKE!!!", seconds(60))) << c.report();
    c.sendLine("echo > /dev/poke");
    EXPECT_TRUE(c.expect("POKE!!!", seconds(60))) << c.report();
    powerOff(c);
}

TEST_F(TutorialWalk, PrintServerPrintsWhatTheGuestSends) {
    buildRootfs("print_server");
    ConsoleDriver c(runArgs("print_server"));
    for (const char* line : {"Creating dataport node /dev/camkes_data",
                             "Allocating 4096 bytes for /dev/camkes_data",
                             "Creating consuming event node /dev/camkes_done_printing",
                             "Creating emitting event node /dev/camkes_do_print"})
        ASSERT_TRUE(c.expect(line, seconds(static_cast<long>(bootTimeoutSeconds())))) << c.report();
    login(c);
    if (HasFatalFailure()) return;
    c.sendLine("print_client hello world");
    EXPECT_TRUE(c.expect("hello", seconds(60))) << c.report();
    EXPECT_TRUE(c.expect("world", seconds(60))) << c.report();
    EXPECT_NE(shell(c, "dmesg | grep 'dataport received mmap for minor 1'").find("minor 1"),
              std::string::npos)
        << c.report();
    powerOff(c);
}

// Several VMs: two guests, one native print server connected to both. vm0's console is
// cxvm's terminal; vm1's is its pseudo-terminal (docs/crossvm.md "Consoles").
TEST_F(TutorialWalk, TwoGuestsPrintThroughOneServer) {
    buildRootfs("print_server_2vm");
    ConsoleDriver c(runArgs("print_server_2vm"));
    login(c);
    if (HasFatalFailure()) return;
    PtyConsole vm1(work_ / "logs/vm.vm1.pty");
    ASSERT_TRUE(vm1.open()) << c.report();
    if (!vm1.expect("login:", seconds(120))) {
        vm1.sendLine("");  // the prompt may have come before we attached
        ASSERT_TRUE(vm1.expect("login:", seconds(60))) << vm1.log();
    }
    vm1.sendLine("root");
    ASSERT_TRUE(vm1.expect("assword:", seconds(60))) << vm1.log();
    vm1.sendLine("root");
    vm1.sendLine("echo logged-$((20+3))-in");
    ASSERT_TRUE(vm1.expect("logged-23-in", seconds(60))) << vm1.log();
    // The server's output is relayed to cxvm's output with its instance name.
    vm1.sendLine("print_client from-vm1");
    EXPECT_TRUE(c.expect("vm.print_server: vm1: from-vm1", seconds(60))) << c.report() << vm1.log();
    c.sendLine("print_client from-vm0");
    EXPECT_TRUE(c.expect("vm.print_server: vm0: from-vm0", seconds(60))) << c.report();
    // vm1's console is also logged in full.
    const std::string vm1Log = readText(work_ / "logs/vm.vm1.console.log");
    EXPECT_NE(vm1Log.find("Creating emitting event node /dev/camkes_do_print"), std::string::npos)
        << vm1Log;
    powerOff(c);
}

}  // namespace
}  // namespace cxvm::testing
