#include "boot/rootfs/BusyboxBase.h"

#include <array>
#include <string_view>
#include <utility>

namespace cxvm::boot {
namespace {

constexpr std::array<std::pair<std::string_view, std::uint32_t>, 19> kDirectories = {{
    {"bin", 0755},  {"sbin", 0755},    {"usr", 0755},     {"usr/bin", 0755},
    {"usr/sbin", 0755}, {"etc", 0755}, {"etc/init.d", 0755}, {"dev", 0755},
    {"proc", 0555}, {"sys", 0555},     {"tmp", 01777},    {"root", 0700},
    {"run", 0755},  {"var", 0755},     {"var/log", 0755}, {"lib", 0755},
    {"lib/modules", 0755}, {"opt", 0755}, {"mnt", 0755},
}};

// Applets that must work before rcS runs `busybox --install -s`: PID 1, the shell, the
// init script's tools, getty/login, and shutting down.
constexpr std::array<std::string_view, 20> kEssentialApplets = {
    "bin/sh",        "bin/ash",       "bin/mount",   "bin/umount",   "bin/hostname",
    "bin/login",     "bin/cat",       "bin/echo",    "bin/mkdir",    "bin/ls",
    "sbin/init",     "sbin/getty",    "sbin/insmod", "sbin/lsmod",   "sbin/modprobe",
    "sbin/poweroff", "sbin/reboot",   "sbin/halt",   "sbin/mdev",    "bin/mknod",
};

// MD5-crypt of "root" (salt "cxvm"): busybox's login checks it with its own crypt.
constexpr std::string_view kShadow = "root:$1$cxvm$z13BB.AS7lPIUQSB454KJ/:19000:0:99999:7:::\n";

constexpr std::string_view kInittab =
    "# busybox init (PID 1 after /init). Format: id:runlevels:action:process\n"
    "::sysinit:/etc/init.d/rcS\n"
    "ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100\n"
    "::ctrlaltdel:/sbin/reboot\n"
    "::shutdown:/bin/umount -a -r\n";

constexpr std::string_view kRcS =
    "#!/bin/sh\n"
    "# System start (from /etc/inittab): kernel filesystems, applet links, hostname, then\n"
    "# every /etc/init.d/S??* script in order (camkes_init is one of them).\n"
    "[ -e /proc/self ] || mount -t proc proc /proc\n"
    "/bin/busybox --install -s\n"
    "grep -q ' /sys ' /proc/mounts || mount -t sysfs sysfs /sys\n"
    "grep -q ' /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev\n"
    "mount -t tmpfs -o mode=0755 tmpfs /run\n"
    "hostname -F /etc/hostname\n"
    "for s in /etc/init.d/S??*; do\n"
    "    [ -x \"$s\" ] && \"$s\" start\n"
    "done\n";

constexpr std::string_view kProfile =
    "export PATH=/usr/bin:/bin:/usr/sbin:/sbin\n"
    "export PS1='\\h:\\w\\$ '\n";

}  // namespace

void addBusyboxBase(RootfsTree& tree, std::span<const std::uint8_t> busybox) {
    for (auto [dir, perm] : kDirectories) tree.addDirectory(dir, perm);
    tree.addFile("bin/busybox", busybox, 0755);
    for (auto applet : kEssentialApplets)
        tree.addSymlink(applet, applet.starts_with("bin/") ? "busybox" : "../bin/busybox");
    // The kernel runs /init from an initramfs; busybox picks the applet from argv[0].
    tree.addSymlink("init", "bin/busybox");
    tree.addDevice("dev/console", CpioFileType::CharDevice, 5, 1, 0600);
    tree.addDevice("dev/null", CpioFileType::CharDevice, 1, 3, 0666);
    tree.addFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    tree.addFile("etc/shadow", kShadow, 0600);
    tree.addFile("etc/group", "root:x:0:\n");
    tree.addFile("etc/hostname", "cxvm\n");
    tree.addFile("etc/issue", "\nWelcome to cxvm\n\n");
    tree.addFile("etc/inittab", kInittab);
    tree.addFile("etc/init.d/rcS", kRcS, 0755);
    tree.addFile("etc/profile", kProfile);
}

}  // namespace cxvm::boot
