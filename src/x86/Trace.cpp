// --trace: one line per executed instruction -- linear address, CS:EIP, bytes,
// disassembly (capstone) and the general registers with EFLAGS.
#include "x86/Cpu.h"

#include <capstone/capstone.h>
#include <fmt/format.h>

namespace cxvm::x86 {

namespace {
struct Disassembler {
    csh h16 = 0, h32 = 0;
    bool ok16 = false, ok32 = false;
    Disassembler() {
        ok16 = cs_open(CS_ARCH_X86, CS_MODE_16, &h16) == CS_ERR_OK;
        ok32 = cs_open(CS_ARCH_X86, CS_MODE_32, &h32) == CS_ERR_OK;
    }
    ~Disassembler() {
        if (ok16) cs_close(&h16);
        if (ok32) cs_close(&h32);
    }
    Disassembler(const Disassembler&) = delete;
    Disassembler& operator=(const Disassembler&) = delete;
    std::string text(const std::uint8_t* bytes, std::size_t n, std::uint32_t addr, bool code32) {
        csh h = code32 ? h32 : h16;
        if (!(code32 ? ok32 : ok16)) return "?";
        cs_insn* insn = nullptr;
        std::string out = "(bad)";
        if (cs_disasm(h, bytes, n, addr, 1, &insn) == 1) {
            out = fmt::format("{} {}", insn->mnemonic, insn->op_str);
            out.resize(out.size() - (out.back() == ' ' ? 1 : 0));
        }
        if (insn) cs_free(insn, 1);
        return out;
    }
};
}  // namespace

void Cpu::traceInsn() {
    const std::uint32_t lin = seg_[CS].base + eip_;
    if (trace_.count == 0 || lin < trace_.fromAddress || lin > trace_.toAddress) return;
    --trace_.count;
    static thread_local Disassembler dis;
    std::uint8_t bytes[16] = {};
    unsigned n = 0;
    while (n < 15 && readLinear(lin + n, &bytes[n], 1)) ++n;
    const bool code32 = seg_[CS].db;
    std::string hex;
    for (unsigned i = 0; i < std::min(n, 8u); ++i) hex += fmt::format("{:02x}", bytes[i]);
    std::string text = n ? dis.text(bytes, n, eip_, code32) : "<no code page>";
    std::FILE* out = trace_.out ? trace_.out : stderr;
    fmt::print(out,
               "{:08x} {:04x}:{:08x} {:<16} {:<32} eax={:08x} ebx={:08x} ecx={:08x} edx={:08x} "
               "esi={:08x} edi={:08x} ebp={:08x} esp={:08x} fl={:08x} cpl={}\n",
               lin, seg_[CS].selector, eip_, hex, text, regs_[EAX], regs_[EBX], regs_[ECX],
               regs_[EDX], regs_[ESI], regs_[EDI], regs_[EBP], regs_[ESP], eflags(), cpl_);
}

}  // namespace cxvm::x86
