#pragma once
// A translated block (docs/x86.md "Blocks"): a straight-line run of decoded instructions
// inside one guest page, ending at a control transfer, keyed by the host address (= guest
// physical address) of its first byte. Validity is one compare of the page's code
// generation (hw::GuestMemory code-page watch): writes to a watched page always take the
// slow store path, which bumps it.
#include <cstdint>

namespace cxvm::x86 {

class Cpu;
struct Insn;

// A block compiled to host code (jit/BlockCompiler.h): runs it from Cpu::eip().
using BlockCode = void (*)(Cpu&);

struct Block {
    const std::uint8_t* host = nullptr;
    const std::uint32_t* genPtr = nullptr;  // the page's code generation
    std::uint32_t gen = 0;                  // its value when decoded
    const Insn* insns = nullptr;            // in the CPU's decode arena
    BlockCode code = nullptr;               // compiled, once hot
    std::uint32_t runs = 0;                 // interpreted runs so far
    std::uint32_t lastOff = 0;              // offset of the block's last byte
    std::uint16_t count = 0;
    bool d32 = false;
    bool uncompilable = false;  // the compiler failed on it: always interpreted
    Block* succ[2] = {};        // blocks that followed this one, most recent first
    // Compiled code's hint per exit (jit/BlockCompiler: 0 = branch taken or any computed
    // target, 1 = fall-through): the block that followed last time, verified like
    // `current` before compiled code jumps to it, so a stale hint only costs a lookup.
    Block* link[2] = {};
    // Direct jumps (jit/BlockCompiler): an exit whose target lies in the same page has a
    // jump whose rel32 is at code + jumpAt[exit] (0: none, or already linked), to the
    // block at host + jumpTo[exit]. runBlocks points it at that block's code once both are
    // compiled (BlockCompiler::link). A link is never undone: both blocks are decodes of
    // one page at one code generation, so a write to the page makes them stale together,
    // and every way into a page's blocks from elsewhere (runBlocks, the chain code)
    // compares the generation first.
    std::uint16_t jumpAt[2] = {};
    std::int16_t jumpTo[2] = {};
    Block* hashNext = nullptr;  // next block in the same table bucket
    // Still the decode of the bytes at `at`: same start, page not written since.
    [[nodiscard]] bool current(const std::uint8_t* at) const {
        return host == at && *genPtr == gen;
    }
};

}  // namespace cxvm::x86
