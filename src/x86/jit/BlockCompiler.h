#pragma once
// Compiles hot translated blocks (32-bit code) to host x86-64 code. The frequent simple
// instructions -- MOV, the ALU group on registers and loads, LEA, INC/DEC -- become a few
// host instructions with the segment check and the software-TLB lookup inline; anything
// else, and every miss of an inline fast path, calls the instruction's C++ handler, so
// the compiled block and the interpreter always agree (the handlers are the semantics).
// See docs/x86.md, "Compiled blocks".
#include "x86/jit/CodeArena.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "x86/Block.h"
#include "x86/CpuState.h"

namespace cxvm::x86::jit {

class Emitter;

// Compiled code (BlockCode, Block.h) runs from Cpu::eip(), the block's first
// instruction. A handler's Fault (or any exception) unwinds through it like through any
// C++ frame -- every block has the same frame, described once to the unwinder -- with
// EIP, ESP and the retired count those of the faulting instruction, as after an
// interpreted fault.

class BlockCompiler {
public:
    // `arenaBytes`: room for compiled code (tests make it small to exercise flushes).
    explicit BlockCompiler(const Cpu& cpu, std::size_t arenaBytes = kArenaBytes);
    ~BlockCompiler();
    BlockCompiler(const BlockCompiler&) = delete;
    BlockCompiler& operator=(const BlockCompiler&) = delete;
    // nullptr when the code arena is full (flush it with the blocks, then retry) or the
    // host cannot run compiled code.
    // The block's end goes on to its most recent successor when that one is compiled
    // and nothing asks to leave. Sets the block's direct-jump sites (Block::jumpAt).
    BlockCode compile(Block& block);
    // Points the direct jump of `from`'s exit `exit` (Block::jumpAt) at `to`'s code.
    void link(const Block& from, unsigned exit, const Block& to);
    void clear() { arena_.clear(); }
    // No room for another block: compile() fails until clear().
    [[nodiscard]] bool arenaFull() const;
    [[nodiscard]] std::size_t codeBytes() const { return arena_.used(); }
    // An x86-64 host, and `cpu`'s TLB in the low 2 GiB (Cpu::mapTlb).
    [[nodiscard]] static bool hostSupported(const Cpu& cpu);

    static constexpr std::size_t kArenaBytes = std::size_t{32} << 20;

    // Byte offsets of the Cpu fields compiled code reads and writes (from rbx = Cpu*).
    struct Layout {
        int regs, eip, insnEip, insnEsp, retired, blockExit;
        int lfOp, lfSize, lfA, lfB, lfRes, cf, eflags;
        int userAcc;
        int seg[8];  // SegCache of each segment register
        int fetchPage, fetchHost, curBlockGen, blockLimit, lastBlock;
        int jumpCache;  // Cpu::jumpCache_ (kJumpCacheSize Block* by host address)
        int exitSlot;   // Cpu::exitSlot_
        const void* intr;  // the INTR pin (an atomic<bool>)
        const void* tlb;   // the software TLB (fixed for the CPU's life)
        const SegCache* segState;  // Cpu::seg_: the segments as a block is compiled
    };

private:
    CodeArena arena_;
    Layout layout_{};
    std::vector<std::uint8_t> ehFrame_;  // registered with the unwinder while alive
    std::unique_ptr<Emitter> emitter_;
};

}  // namespace cxvm::x86::jit
