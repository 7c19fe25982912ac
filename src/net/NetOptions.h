#pragma once
// A network interface as the user names it (docs/network.md): `cxvm run --net SPEC`
// (repeatable) and a VM's `nics` attribute both become NicOptions.
//
//   user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=52:54:00:12:34:56]
//   tap,ifname=NAME[,mac=...]
//
// QEMU's spelling for -netdev user / tap, so that its recipes carry over.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::net {

struct MacAddress {
    std::array<std::uint8_t, 6> bytes{};
    friend bool operator==(const MacAddress&, const MacAddress&) = default;
    [[nodiscard]] std::string str() const;
};
// "52:54:00:12:34:56"; nullopt for anything else (6 two-digit hex groups, ':' between).
std::optional<MacAddress> parseMac(std::string_view s);
// The default MAC of the `index`-th NIC (0-based): 52:54:00:12:34:56, :57, ... (QEMU's
// first default, then distinct, stable across runs).
MacAddress defaultMac(unsigned index);

enum class BackendKind : std::uint8_t { User, Tap };

// hostfwd: connections to HOSTADDR:HOSTPORT on the host reach GUESTADDR:GUESTPORT.
struct HostForward {
    bool udp = false;
    std::uint32_t hostAddr = 0;   // network byte order; 0: every address (INADDR_ANY)
    std::uint16_t hostPort = 0;
    std::uint32_t guestAddr = 0;  // network byte order; 0: the DHCP address (10.0.2.15)
    std::uint16_t guestPort = 0;
    std::string text;             // as written, for messages
};

struct NicOptions {
    BackendKind kind = BackendKind::User;
    std::vector<HostForward> hostForwards;  // user only
    std::string ifname;                     // tap only
    std::optional<MacAddress> mac;          // default: defaultMac(index)
    // Where the user named the NIC ("--net user,..." or "spec.camkes:30:31: vm0.nics[0]"),
    // put in front of the backend's errors.
    std::string origin;
};

// Parses a --net value. Throws cxvm::Error "<what>: ..." naming the bad part.
NicOptions parseNetSpec(std::string_view spec, std::string_view what);
// One hostfwd rule ("tcp:127.0.0.1:2222-:22"). Throws cxvm::Error "<what>: ...".
HostForward parseHostForward(std::string_view rule, std::string_view what);
// The --net value that parses back to `nic` (without origin).
std::string formatNetSpec(const NicOptions& nic);

}  // namespace cxvm::net
