#include "DiffCase.h"

#include <capstone/capstone.h>
#include <fmt/format.h>

#include <cstring>

namespace cxvm::x86::diff {

namespace {
constexpr const char* kRegNames[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
}

std::vector<std::string> compareOutcomes(const DiffCase& c, const DiffOutcome& want,
                                         const DiffOutcome& got, const Layout& layout) {
    std::vector<std::string> d;
    if (want.faulted != got.faulted || (want.faulted && want.vector != got.vector)) {
        d.push_back(fmt::format("end: host {} vs emulator {}",
                                want.faulted ? fmt::format("fault #{} at {:#x}", want.vector, want.eip) : "normal",
                                got.faulted ? fmt::format("fault #{} at {:#x}", got.vector, got.eip) : "normal"));
        return d;  // the rest is not comparable
    }
    if (want.faulted && want.eip != got.eip)
        d.push_back(fmt::format("fault eip: host {:#x} vs emulator {:#x}", want.eip, got.eip));
    for (unsigned i = 0; i < 8; ++i)
        if (want.regs[i] != got.regs[i])
            d.push_back(fmt::format("{}: host {:#010x} vs emulator {:#010x}", kRegNames[i], want.regs[i], got.regs[i]));
    const std::uint32_t mask = kComparedFlags & ~c.undefinedFlags;
    if ((want.eflags ^ got.eflags) & mask)
        d.push_back(fmt::format("eflags: host {:#x} vs emulator {:#x} (compared bits {:#x}, differing {:#x})",
                                want.eflags, got.eflags, mask, (want.eflags ^ got.eflags) & mask));
    for (std::size_t i = 0; i < want.memory.size() && i < got.memory.size(); ++i) {
        if (want.memory[i] != got.memory[i]) {
            std::size_t j = i;
            while (j < want.memory.size() && j < i + 16 && want.memory[j] != got.memory[j]) ++j;
            std::string w, g;
            for (std::size_t k = i; k < j; ++k) {
                w += fmt::format("{:02x}", want.memory[k]);
                g += fmt::format("{:02x}", got.memory[k]);
            }
            d.push_back(fmt::format("memory {:#x}: host {} vs emulator {}", layout.data + i, w, g));
            if (d.size() > 12) break;
            i = j;
        }
    }
    if (c.usesFpu && !want.faulted) {
        const X87HostImage& a = want.fpu;
        const X87HostImage& b = got.fpu;
        if ((a.cw & 0xFFFF) != (b.cw & 0xFFFF)) d.push_back(fmt::format("fpu cw: host {:#06x} vs emulator {:#06x}", a.cw & 0xFFFF, b.cw & 0xFFFF));
        if ((a.sw & 0xFFFF) != (b.sw & 0xFFFF)) d.push_back(fmt::format("fpu sw: host {:#06x} vs emulator {:#06x}", a.sw & 0xFFFF, b.sw & 0xFFFF));
        if ((a.tw & 0xFFFF) != (b.tw & 0xFFFF)) d.push_back(fmt::format("fpu tw: host {:#06x} vs emulator {:#06x}", a.tw & 0xFFFF, b.tw & 0xFFFF));
        const unsigned top = (a.sw >> 11) & 7;
        for (unsigned i = 0; i < 8; ++i) {
            const unsigned phys = (top + i) & 7;
            if (((a.tw >> (2 * phys)) & 3) == 3) continue;  // empty: contents do not matter
            if (std::memcmp(a.st[i].data(), b.st[i].data(), 10) != 0) {
                std::string w, g;
                for (int k = 9; k >= 0; --k) {
                    w += fmt::format("{:02x}", a.st[i][k]);
                    g += fmt::format("{:02x}", b.st[i][k]);
                }
                d.push_back(fmt::format("fpu st{}: host {} vs emulator {}", i, w, g));
            }
        }
    }
    return d;
}

std::string disassemble(const std::vector<std::uint8_t>& code, std::uint32_t address) {
    csh h;
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &h) != CS_ERR_OK) return "(capstone unavailable)";
    cs_insn* insn = nullptr;
    const std::size_t n = cs_disasm(h, code.data(), code.size(), address, 0, &insn);
    std::string out;
    std::size_t covered = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::string bytes;
        for (unsigned k = 0; k < insn[i].size; ++k) bytes += fmt::format("{:02x} ", insn[i].bytes[k]);
        out += fmt::format("  {:08x}  {:<30} {} {}\n", insn[i].address, bytes, insn[i].mnemonic, insn[i].op_str);
        covered += insn[i].size;
    }
    if (covered < code.size()) {
        out += "  (undecodable:";
        for (std::size_t k = covered; k < code.size(); ++k) out += fmt::format(" {:02x}", code[k]);
        out += ")\n";
    }
    cs_free(insn, n);
    cs_close(&h);
    return out;
}

}  // namespace cxvm::x86::diff
