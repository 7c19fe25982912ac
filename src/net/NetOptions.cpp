#include "net/NetOptions.h"

#include "util/Error.h"

#include <arpa/inet.h>

#include <charconv>

namespace cxvm::net {

namespace {

constexpr std::string_view kUsage =
    "expected user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT][,mac=XX:XX:XX:XX:XX:XX] "
    "or tap,ifname=NAME[,mac=...]";

std::optional<std::uint16_t> port(std::string_view s) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v == 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// "" -> 0 (any / default), else a dotted IPv4 address in network byte order.
std::optional<std::uint32_t> address(std::string_view s) {
    if (s.empty()) return 0u;
    const std::string z(s);
    in_addr a{};
    if (::inet_pton(AF_INET, z.c_str(), &a) != 1) return std::nullopt;
    return a.s_addr;
}

std::string addressText(std::uint32_t a) {
    if (a == 0) return "";
    char b[INET_ADDRSTRLEN];
    in_addr in{};
    in.s_addr = a;
    return ::inet_ntop(AF_INET, &in, b, sizeof b) ? b : "";
}

}  // namespace

std::string MacAddress::str() const {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2], bytes[3],
                       bytes[4], bytes[5]);
}

std::optional<MacAddress> parseMac(std::string_view s) {
    if (s.size() != 17) return std::nullopt;
    MacAddress m;
    for (std::size_t i = 0; i < 6; ++i) {
        if (i > 0 && s[3 * i - 1] != ':') return std::nullopt;
        unsigned v = 0;
        const char* b = s.data() + 3 * i;
        auto [p, ec] = std::from_chars(b, b + 2, v, 16);
        if (ec != std::errc() || p != b + 2) return std::nullopt;
        m.bytes[i] = static_cast<std::uint8_t>(v);
    }
    return m;
}

MacAddress defaultMac(unsigned index) {
    MacAddress m{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    const unsigned low = 0x3456u + index;  // carries into the fifth byte after :ff
    m.bytes[4] = static_cast<std::uint8_t>(low >> 8);
    m.bytes[5] = static_cast<std::uint8_t>(low);
    return m;
}

HostForward parseHostForward(std::string_view rule, std::string_view what) {
    HostForward f;
    f.text = std::string(rule);
    auto bad = [&](std::string_view why) {
        return Error::format("{}: hostfwd={}: {} (expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, "
                             "e.g. tcp:127.0.0.1:2222-:22)",
                             what, rule, why);
    };
    const auto colon = rule.find(':');
    if (colon == std::string_view::npos) throw bad("no protocol");
    const std::string_view proto = rule.substr(0, colon);
    if (proto == "udp")
        f.udp = true;
    else if (proto != "tcp")
        throw bad(fmt::format("protocol '{}' is neither tcp nor udp", proto));
    const std::string_view rest = rule.substr(colon + 1);
    const auto dash = rest.find('-');
    if (dash == std::string_view::npos) throw bad("no '-' between the host and the guest side");
    auto side = [&](std::string_view s, std::uint32_t& addr, std::uint16_t& p, std::string_view name) {
        const auto c = s.rfind(':');
        if (c == std::string_view::npos) throw bad(fmt::format("the {} side has no ':PORT'", name));
        const auto a = address(s.substr(0, c));
        if (!a) throw bad(fmt::format("'{}' is not an IPv4 address", s.substr(0, c)));
        const auto n = port(s.substr(c + 1));
        if (!n) throw bad(fmt::format("'{}' is not a port (1-65535)", s.substr(c + 1)));
        addr = *a;
        p = *n;
    };
    side(rest.substr(0, dash), f.hostAddr, f.hostPort, "host");
    side(rest.substr(dash + 1), f.guestAddr, f.guestPort, "guest");
    return f;
}

NicOptions parseNetSpec(std::string_view spec, std::string_view what) {
    NicOptions n;
    const auto comma = spec.find(',');
    const std::string_view type = spec.substr(0, comma);
    if (type == "user")
        n.kind = BackendKind::User;
    else if (type == "tap")
        n.kind = BackendKind::Tap;
    else
        throw Error::format("{}: unknown network type '{}' ({})", what, type, kUsage);
    std::string_view rest = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    while (!rest.empty()) {
        const auto c = rest.find(',');
        const std::string_view opt = rest.substr(0, c);
        rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
        const auto eq = opt.find('=');
        const std::string_view key = opt.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? std::string_view{} : opt.substr(eq + 1);
        if (eq == std::string_view::npos || value.empty())
            throw Error::format("{}: option '{}' needs a value ({})", what, opt, kUsage);
        if (key == "mac") {
            const auto m = parseMac(value);
            if (!m) throw Error::format("{}: mac={}: expected six hex bytes like 52:54:00:12:34:56", what, value);
            if (m->bytes[0] & 1)
                throw Error::format("{}: mac={}: a multicast address (lowest bit of the first byte set) cannot "
                                    "be a NIC's address",
                                    what, value);
            if (*m == MacAddress{})
                throw Error::format("{}: mac={}: the all-zero address cannot be a NIC's address", what, value);
            n.mac = m;
        } else if (key == "hostfwd" && n.kind == BackendKind::User) {
            n.hostForwards.push_back(parseHostForward(value, what));
        } else if (key == "ifname" && n.kind == BackendKind::Tap) {
            if (value.size() >= 16)  // IFNAMSIZ with its NUL
                throw Error::format("{}: ifname={}: interface names have at most 15 characters", what, value);
            n.ifname = std::string(value);
        } else {
            throw Error::format("{}: option '{}' does not apply to type {} ({})", what, key, type, kUsage);
        }
    }
    if (n.kind == BackendKind::Tap && n.ifname.empty())
        throw Error::format("{}: tap needs ifname=NAME (an existing tap device: ip tuntap add dev NAME mode tap)",
                            what);
    return n;
}

std::string formatNetSpec(const NicOptions& nic) {
    std::string s = nic.kind == BackendKind::User ? "user" : "tap,ifname=" + nic.ifname;
    for (const HostForward& f : nic.hostForwards)
        s += fmt::format(",hostfwd={}:{}:{}-{}:{}", f.udp ? "udp" : "tcp", addressText(f.hostAddr), f.hostPort,
                         addressText(f.guestAddr), f.guestPort);
    if (nic.mac) s += ",mac=" + nic.mac->str();
    return s;
}

}  // namespace cxvm::net
