// VM instances as component processes (docs/crossvm.md "VM instances"): runApp starts
// the fixture VM components (components/vm/, cxvm's VMM + app code) and cxvm-vm, each
// booting a tiny ROM guest that prints on COM1 and makes one hypercall; and one real
// Linux boot through the same path.
#include "Fixtures.h"
#include "ReadAll.h"
#include "adl/Frontend.h"
#include "system/RunApp.h"
#include "util/Error.h"
#include "util/UniqueFd.h"
#include "vmm/GuestFiles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <pty.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>

namespace cxvm::system {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

enum class After { DebugExit, Spin };

// 4 KiB ROM ending at 4 GiB, code at IP 0xFF80 (real mode): prints `text` on COM1,
// makes hypercall `token` (EBX, ECX), then writes AL to the debug-exit port (status
// AL*2+1) or spins until the VM is stopped.
// `postCode`: first written to the POST port 0x80.
std::vector<std::uint8_t> tinyRom(std::string_view text, std::uint32_t token, std::uint32_t ebx,
                                  std::uint32_t ecx, After after, std::optional<std::uint8_t> postCode = {}) {
    std::vector<std::uint8_t> rom(4096, 0xF4);  // hlt everywhere else
    std::vector<std::uint8_t> code;
    if (postCode) code.insert(code.end(), {0xB0, *postCode, 0xE6, 0x80});  // mov al, code; out 0x80, al
    code.insert(code.end(), {0xBA, 0xF8, 0x03});  // mov dx, 0x3f8
    for (char c : text) code.insert(code.end(), {0xB0, static_cast<std::uint8_t>(c), 0xEE});
    auto movImm = [&](std::uint8_t op, std::uint32_t v) {
        code.insert(code.end(), {0x66, op, static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
                                 static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)});
    };
    movImm(0xB8, token);  // mov eax
    movImm(0xBB, ebx);    // mov ebx
    movImm(0xB9, ecx);    // mov ecx
    code.insert(code.end(), {0x0F, 0x01, 0xC1});  // vmcall
    if (after == After::DebugExit)
        code.insert(code.end(), {0xBA, 0x01, 0x05, 0xEE, 0xF4});  // mov dx, 0x501; out dx, al; hlt
    else
        code.insert(code.end(), {0xEB, 0xFE});  // jmp $
    EXPECT_LE(code.size(), 0x70u);
    std::copy(code.begin(), code.end(), rom.begin() + 0xF80);
    rom[0xFF0] = 0xEB;  // jmp short 0xFF80
    rom[0xFF1] = static_cast<std::uint8_t>(0xFF80 - 0xFFF2);
    return rom;
}

class VmInstance : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/cxvm-vm-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        null_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }
    void TearDown() override { fs::remove_all(dir_); }

    struct Run {
        int status = -1;
        std::string out, err;
        std::chrono::milliseconds took{};
    };

    RunAppOptions options(const std::vector<std::uint8_t>& rom) {
        const fs::path romPath = dir_ / "guest.rom";
        std::ofstream(romPath, std::ios::binary)
            .write(reinterpret_cast<const char*>(rom.data()), static_cast<std::streamsize>(rom.size()));
        RunAppOptions o;
        o.buildDir = fs::path(CXVM_FIXTURE_DIR) / "vm";
        o.vmFirmware = romPath;
        o.logDir = dir_ / "logs";
        o.engine = "interp";
        o.ramBytes = 8ull << 20;
        o.stdinFd = null_.get();
        o.stopGrace = std::chrono::milliseconds(2000);
        return o;
    }

    Run run(const std::vector<std::string>& instances, RunAppOptions o) {
        UniqueFd out(::memfd_create("out", MFD_CLOEXEC)), err(::memfd_create("err", MFD_CLOEXEC));
        if (o.stdoutFd == STDOUT_FILENO) o.stdoutFd = out.get();
        o.stderrFd = err.get();
        Run r;
        auto t0 = std::chrono::steady_clock::now();
        r.status = runApp(test::subsystem(test::fixture("vm"), instances), o);
        r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
        r.out = test::readAll(out.get());
        r.err = test::readAll(err.get());
        return r;
    }

    std::string consoleLog(const std::string& instance) {
        std::ifstream in(dir_ / "logs" / (instance + ".console.log"), std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    fs::path dir_;
    UniqueFd null_;
};

TEST_F(VmInstance, HandlerSeesAndSetsRegistersOnTheConsoleVm) {
    // EAX = 21*2+7 = 49 -> debug-exit status 99, which ends the system (a VM is control).
    Run r = run({"good"}, options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit)));
    EXPECT_EQ(r.status, 99) << r.err;
    // The console VM's output is the terminal's: unprefixed; the guest's before the
    // handler's, as the guest made them.
    EXPECT_THAT(r.out, HasSubstr("Hi\nPOKE!!! eax=4 ebx=21\n"));
    EXPECT_THAT(r.err, HasSubstr("cxvm: good's console is this terminal"));
    EXPECT_THAT(r.err, HasSubstr(dir_.string() + "/logs/<instance>.console.log"));
    EXPECT_EQ(consoleLog("good"), "Hi\n");
}

TEST_F(VmInstance, OtherVmsGoToTheirLogsAndTheirHandlersArePrefixed) {
    // `good` ends the system; `spinner` (the console, by choice) spins until stopped.
    RunAppOptions o = options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit));
    o.console = "spinner";
    Run r = run({"good", "spinner"}, o);
    EXPECT_EQ(r.status, 99) << r.err;
    EXPECT_THAT(r.out, HasSubstr("good: POKE!!! eax=4 ebx=21\n"));
    EXPECT_THAT(r.out, Not(HasSubstr("good: Hi")));  // a non-console VM's console: log only
    EXPECT_EQ(consoleLog("good"), "Hi\n");
    EXPECT_TRUE(fs::exists(dir_ / "logs" / "spinner.console.log"));
    EXPECT_THAT(r.err, Not(HasSubstr("crashed")));

    o.console = "nobody";
    EXPECT_THROW(
        {
            try {
                run({"good", "spinner"}, o);
            } catch (const Error& e) {
                EXPECT_THAT(e.what(), HasSubstr("--console nobody: not a VM instance of this "
                                                "system (its VMs: good, spinner)"));
                throw;
            }
        },
        Error);
}

TEST_F(VmInstance, PostCodesReachEveryVmProcess) {
    // cxvm run APP --post-codes in a system run: each VM process is told (as it is of
    // --no-unpack-kernel: VmInstanceConfig.ArgumentsRoundTrip), not left at the default.
    RunAppOptions o = options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit, 0x5A));
    o.postCodes = true;
    Run r = run({"good"}, o);
    EXPECT_EQ(r.status, 99) << r.err;
    EXPECT_THAT(r.err, HasSubstr("POST code 5a (#1"));
    o.postCodes = false;
    Run quiet = run({"good"}, o);
    EXPECT_EQ(quiet.status, 99) << quiet.err;
    EXPECT_THAT(quiet.err, Not(HasSubstr("POST code")));
}

TEST_F(VmInstance, RegistrationErrorsStopTheVmBeforeTheGuestStarts) {
    Run d = run({"dup"}, options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit)));
    EXPECT_EQ(d.status, 78) << d.err;
    EXPECT_TRUE(std::regex_search(
        d.err, std::regex("VmPoke\\.c:[0-9]+: hypercall token 4 \\(poke_again\\): already "
                          "registered by poke_handler \\(VmPoke\\.c:[0-9]+\\)\n")))
        << d.err;
    EXPECT_THAT(d.out, HasSubstr("reg_new_handler(4) again = -1\n"));
    EXPECT_THAT(d.err, HasSubstr("dup: 1 hypercall handler registration error: the guest is not "
                                 "started"));
    EXPECT_THAT(d.err, HasSubstr("dup (VmPoke) exited with status 78"));
    EXPECT_EQ(consoleLog("dup"), "");  // the guest never ran

    Run r = run({"reserved"}, options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit)));
    EXPECT_EQ(r.status, 78) << r.err;
    EXPECT_TRUE(std::regex_search(
        r.err, std::regex("VmPoke\\.c:[0-9]+: hypercall token 2 \\(poke_handler\\): tokens 1\\.\\.3 "
                          "are cxvm's cross-VM connectors")))
        << r.err;
    EXPECT_THAT(r.out, HasSubstr("reg_new_handler(2) = -1\n"));
}

TEST_F(VmInstance, FailingHandlerStopsTheVmNamingTokenAndEip) {
    Run r = run({"failing"}, options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit)));
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("hypercall 4 handler 'poke_handler (VmPoke.c:"));
    EXPECT_THAT(r.err, HasSubstr("returned 1 (guest eip 0x"));
    EXPECT_THAT(r.err, HasSubstr("failing (VmPoke) exited with status 1"));
}

TEST_F(VmInstance, CrashRestoresTheTerminalAndKeepsTheConsoleLog) {
    int master = -1, slave = -1;
    ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    UniqueFd m(master), s(slave);
    termios before{};
    ASSERT_EQ(::tcgetattr(slave, &before), 0);
    ASSERT_TRUE(before.c_lflag & ICANON);
    RunAppOptions o = options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit));
    o.stdinFd = slave;
    o.stdoutFd = slave;
    // SIGKILL in the handler: the VM cannot restore the raw terminal itself.
    Run r = run({"killer"}, o);
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.err, HasSubstr("killer (VmPoke, pid "));
    EXPECT_THAT(r.err, HasSubstr("crashed: killed by signal 9 (SIGKILL"));
    // The guest's console up to the crash is complete in its log.
    EXPECT_EQ(consoleLog("killer"), "Hi\n");
    termios after{};
    ASSERT_EQ(::tcgetattr(slave, &after), 0);
    EXPECT_EQ(after.c_lflag, before.c_lflag);
    EXPECT_EQ(after.c_iflag, before.c_iflag);
    EXPECT_EQ(after.c_oflag, before.c_oflag);
    // ... and the VM had it in raw mode: its console reached the terminal, CR LF as is.
    std::string seen(4096, '\0');
    ::fcntl(master, F_SETFL, O_NONBLOCK);
    ssize_t n = ::read(master, seen.data(), seen.size());
    seen.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    EXPECT_THAT(seen, HasSubstr("POKE!!! eax=4 ebx=21"));
}

TEST_F(VmInstance, SandboxNamesARefusedSystemCall) {
    Run r = run({"sigsys"}, options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit)));
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.err, HasSubstr("cxvm-vm: system call socket (41) is not allowed in a VM "
                                 "instance's sandbox"));
    EXPECT_THAT(r.err, HasSubstr("sigsys (VmPoke, pid "));
    EXPECT_THAT(r.err, HasSubstr("killed by signal 31 (SIGSYS"));
    EXPECT_THAT(r.out, Not(HasSubstr("socket returned")));
}

TEST_F(VmInstance, GuestEventReachesANativeComponent) {
    // The ROM makes EMIT(1): cxvm's cross-VM connector writes `ping`'s eventfd; Pinged
    // prints and returns 5, which ends the system (the VM spins until stopped).
    RunAppOptions o = options(tinyRom("p\n", 3, 1, 1, After::Spin));
    Run r = run({"pinger", "pinged"}, o);
    EXPECT_EQ(r.status, 5) << r.err;
    EXPECT_THAT(r.out, HasSubstr("pinged: got ping\n"));
    EXPECT_THAT(r.out, HasSubstr("pinger VMM up\n"));
    EXPECT_EQ(consoleLog("pinger"), "p\n");
    EXPECT_THAT(r.err, Not(HasSubstr("crashed")));
}

TEST_F(VmInstance, VmWithoutAppCodeRunsAsCxvmVm) {
    // No VmPlain executable: cxvm-vm, which has no handler for token 4: the guest gets
    // -KVM_ENOSYS (AL = 0x18) -> status 0x31.
    Run r = run({"plain"}, options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit)));
    EXPECT_EQ(r.status, 0x31) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Hi\n"));
    EXPECT_EQ(consoleLog("plain"), "Hi\n");

    RunAppOptions o = options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit));
    o.vmExecutable = "/nonexistent/cxvm-vm";
    EXPECT_THROW(
        {
            try {
                run({"plain"}, o);
            } catch (const Error& e) {
                EXPECT_THAT(e.what(), HasSubstr("VM instance plain needs /nonexistent/cxvm-vm, "
                                                "which is not built"));
                throw;
            }
        },
        Error);
}

// The real default kernel through the same path (no initrd: it panics at the root
// mount and reboots, which stops the VM): the sandbox admits a Linux boot, and the
// kernel sees the instance on its command line.
TEST_F(VmInstance, LinuxBootsInTheVmInstanceSandbox) {
    const vmm::GuestFiles files(CXVM_SOURCE_DIR);
    if (!fs::exists(files.defaultKernel())) GTEST_SKIP() << "no default kernel (./setup)";
    adl::System sys = test::fixture("vm");
    sys.instances = {test::inst("vm0", "VmPlain")};
    sys.instances[0].attributes["kernel_image"].kind = adl::Value::Kind::String;
    sys.instances[0].attributes["kernel_image"].s = files.defaultKernel().string();
    sys.connections.clear();
    RunAppOptions o;
    o.appDir = dir_;
    o.buildDir = dir_;
    o.logDir = dir_ / "logs";
    o.engine = "interp";
    o.stdinFd = null_.get();
    o.cmdline = "console=ttyS0 reboot=k panic=-1";
    o.ramBytes = 64ull << 20;
    o.maxInstructions = 20'000'000'000;  // a safety net: the panic comes far earlier
    UniqueFd out(::memfd_create("out", MFD_CLOEXEC)), err(::memfd_create("err", MFD_CLOEXEC));
    o.stdoutFd = out.get();
    o.stderrFd = err.get();
    const int status = runApp(sys, o);
    const std::string log = consoleLog("vm0");
    const std::string errText = test::readAll(err.get());
    EXPECT_EQ(status, 0) << errText << log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
    EXPECT_THAT(log, HasSubstr("Linux version"));
    EXPECT_THAT(log, HasSubstr("console=ttyS0 reboot=k panic=-1 cxvm.instance=vm0"));
    EXPECT_THAT(log, HasSubstr("Kernel panic")) << errText;
    EXPECT_THAT(errText, Not(HasSubstr("not allowed")));
}

// The `disks` attribute through the VM instance process (runApp passes --disk): Debian's
// kernel and initrd from scripts/build-disk-image mount /dev/vda1 read-write inside the
// instance's sandbox and run /bin/sync as init: virtio-blk's preadv, pwritev and FLUSH
// (fdatasync) on the I/O thread. When init exits the kernel panics and reboots
// (panic=-1), which stops the VM. On a sparse copy: the cache stays pristine.
TEST_F(VmInstance, DiskFromTheSpecMountsInTheVmInstanceSandbox) {
    const fs::path cached = vmm::GuestFiles::imageCacheDir() / "debian-12-i386";
    for (const char* f : {"debian-12-i386.img", "vmlinuz", "initrd.img", "inputs"})
        if (!fs::exists(cached / f)) GTEST_SKIP() << "no Debian image in " << cached << " (scripts/build-disk-image)";
    ASSERT_EQ(std::system(("cp --sparse=always " + (cached / "debian-12-i386.img").string() + " " +
                           (dir_ / "disk.img").string())
                              .c_str()),
              0);
    adl::System sys = test::fixture("vm");
    sys.instances = {test::inst("vm0", "VmPlain")};
    auto str = [](std::string v) {
        adl::Value x;
        x.kind = adl::Value::Kind::String;
        x.s = std::move(v);
        x.loc = {"app.camkes", 7, 9};
        return x;
    };
    auto& attrs = sys.instances[0].attributes;
    attrs["kernel_image"] = str((cached / "vmlinuz").string());
    attrs["initrd_image"] = str((cached / "initrd.img").string());
    adl::Value disk;
    disk.kind = adl::Value::Kind::Dict;
    disk.dict = {{"file", str("disk.img")}};  // relative: the app folder
    attrs["disks"].kind = adl::Value::Kind::List;
    attrs["disks"].list = {disk};
    sys.connections.clear();
    RunAppOptions o;
    o.appDir = dir_;
    o.buildDir = dir_;
    o.logDir = dir_ / "logs";
    o.engine = "interp";
    o.stdinFd = null_.get();
    o.cmdline = "console=ttyS0 root=/dev/vda1 rw init=/bin/sync panic=-1 reboot=k";
    o.ramBytes = 256ull << 20;
    o.maxInstructions = 100'000'000'000;  // a safety net
    UniqueFd out(::memfd_create("out", MFD_CLOEXEC)), err(::memfd_create("err", MFD_CLOEXEC));
    o.stdoutFd = out.get();
    o.stderrFd = err.get();
    const int status = runApp(sys, o);
    const std::string log = consoleLog("vm0");
    const std::string errText = test::readAll(err.get());
    const std::string tail = log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
    EXPECT_EQ(status, 0) << errText << tail;
    EXPECT_THAT(log, HasSubstr("[vda]")) << tail;
    EXPECT_THAT(log, HasSubstr("EXT4-fs (vda1): mounted filesystem")) << tail;
    EXPECT_THAT(log, HasSubstr("Attempted to kill init")) << tail;
    EXPECT_THAT(errText, Not(HasSubstr("not allowed")));
}

}  // namespace
}  // namespace cxvm::system

namespace cxvm::system {
namespace {

// tests/system/apps/vmapp: a VM component built by cmake/CAmkES.cmake from the app's
// spec and vm_handler.c, found in the app's build folder like `cxvm run` finds it.
TEST_F(VmInstance, AppBuiltVmComponentRunsItsHandler) {
    const fs::path appDir = fs::path(CXVM_SOURCE_DIR) / "tests/system/apps/vmapp";
    auto loaded = adl::loadSpec(appDir / "app.camkes");
    ASSERT_TRUE(loaded.ok());
    RunAppOptions o = options(tinyRom("Hi\n", 4, 21, 0, After::DebugExit));
    o.appDir = appDir;
    o.buildDir = fs::path(CXVM_BINARY_DIR) / "tests/system/apps/vmapp";
    ASSERT_TRUE(fs::exists(o.buildDir / "Init0"));
    EXPECT_TRUE(runsAsProcesses(*loaded.system, o));
    UniqueFd out(::memfd_create("out", MFD_CLOEXEC)), err(::memfd_create("err", MFD_CLOEXEC));
    o.stdoutFd = out.get();
    o.stderrFd = err.get();
    EXPECT_EQ(runApp(*loaded.system, o), 99) << test::readAll(err.get());
    EXPECT_THAT(test::readAll(out.get()), HasSubstr("Hi\nvm0: APP POKE ebx=21\n"));
    // Without the built component the one VM could run inside cxvm.
    o.buildDir = dir_;
    o.appDir = dir_;
    EXPECT_FALSE(runsAsProcesses(*loaded.system, o));
}

}  // namespace
}  // namespace cxvm::system
