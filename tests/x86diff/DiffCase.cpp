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
    std::uint32_t undefined = c.undefinedFlags;
    if (want.faulted) {
        for (const auto& [offset, mask] : c.undefinedBefore)
            if (layout.snippet() + offset <= want.eip) undefined = mask;
    }
    const std::uint32_t mask = kComparedFlags & ~undefined;
    if ((want.eflags ^ got.eflags) & mask)
        d.push_back(fmt::format("eflags: host {:#x} vs emulator {:#x} (compared bits {:#x}, differing {:#x})",
                                want.eflags, got.eflags, mask, (want.eflags ^ got.eflags) & mask));
    const auto ignored = [&](std::size_t i) {
        for (const auto& [off, len] : c.ignoredMemory)
            if (i >= off && i < off + len) return true;
        return false;
    };
    for (std::size_t i = 0; i < want.memory.size() && i < got.memory.size(); ++i) {
        if (want.memory[i] != got.memory[i] && !ignored(i)) {
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
    if (c.usesSse && !want.faulted) {
        if (want.mxcsr != got.mxcsr)
            d.push_back(fmt::format("mxcsr: host {:#06x} vs emulator {:#06x}", want.mxcsr, got.mxcsr));
        for (unsigned i = 0; i < 8; ++i)
            if (want.xmm[i] != got.xmm[i])
                d.push_back(fmt::format("xmm{}: host {:016x}{:016x} vs emulator {:016x}{:016x}", i,
                                        want.xmm[i][1], want.xmm[i][0], got.xmm[i][1], got.xmm[i][0]));
    }
    if (c.usesFpu && !want.faulted) {
        const X87HostImage& a = want.fpu;
        const X87HostImage& b = got.fpu;
        if ((a.cw & 0xFFFF) != (b.cw & 0xFFFF)) d.push_back(fmt::format("fpu cw: host {:#06x} vs emulator {:#06x}", a.cw & 0xFFFF, b.cw & 0xFFFF));
        if ((a.sw & 0xFFFF) != (b.sw & 0xFFFF)) d.push_back(fmt::format("fpu sw: host {:#06x} vs emulator {:#06x}", a.sw & 0xFFFF, b.sw & 0xFFFF));
        // (mmxSignificandsOnly: which registers are empty, not the full tags)
        auto emptyTags = [](std::uint32_t tw) {
            unsigned e = 0;
            for (unsigned r = 0; r < 8; ++r) e |= (((tw >> (2 * r)) & 3) == 3 ? 1u : 0u) << r;
            return e;
        };
        if (c.mmxSignificandsOnly ? emptyTags(a.tw) != emptyTags(b.tw) : (a.tw & 0xFFFF) != (b.tw & 0xFFFF))
            d.push_back(fmt::format("fpu tw: host {:#06x} vs emulator {:#06x}", a.tw & 0xFFFF, b.tw & 0xFFFF));
        const unsigned top = (a.sw >> 11) & 7;
        const std::size_t compared = c.mmxSignificandsOnly ? 8 : 10;
        for (unsigned i = 0; i < 8; ++i) {
            const unsigned phys = (top + i) & 7;
            if (((a.tw >> (2 * phys)) & 3) == 3) continue;  // empty: contents do not matter
            if (std::memcmp(a.st[i].data(), b.st[i].data(), compared) != 0) {
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
    std::string out;
    std::size_t at = 0;
    while (at < code.size()) {
        cs_insn* insn = nullptr;
        const std::size_t n = cs_disasm(h, code.data() + at, code.size() - at, address + at, 0, &insn);
        for (std::size_t i = 0; i < n; ++i) {
            std::string bytes;
            for (unsigned k = 0; k < insn[i].size; ++k) bytes += fmt::format("{:02x} ", insn[i].bytes[k]);
            out += fmt::format("  {:08x}  {:<30} {} {}\n", insn[i].address, bytes, insn[i].mnemonic, insn[i].op_str);
            at += insn[i].size;
        }
        cs_free(insn, n);
        if (at < code.size()) {
            // capstone rejects e.g. LOCK on a form that does not allow it: show the byte
            // and go on with the next one
            out += fmt::format("  {:08x}  {:02x}{:<28} (prefix capstone rejects here)\n", address + at, code[at], "");
            ++at;
        }
    }
    cs_close(&h);
    return out;
}

}  // namespace cxvm::x86::diff
