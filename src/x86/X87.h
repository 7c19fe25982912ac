#pragma once
// The x87 floating-point unit of the emulated i686 (Intel SDM Vol. 1 ch. 8).
//
// Exactness: every arithmetic, transcendental, compare, load and store instruction runs
// on the host's own x87 (X87Host.h) with the guest's control word, stack and tags loaded,
// so result bits, C0-C3, exception flags and the unmasked responses (biased results,
// untouched destinations) are the hardware's own. The control instructions (FNINIT,
// FNCLEX, FLDCW, FNSTCW, FNSTSW, FLDENV, FNSTENV, FRSTOR, FNSAVE) and the guest's
// FIP/FCS/FOP/FDP/FDS bookkeeping are done in software, because the host would report
// host addresses there. Other host architectures would need a soft-float backend behind
// the same X87Host seam; see docs/x87.md.
#include <array>
#include <cstdint>

namespace cxvm::x86 {

// Memory as the CPU sees it for one FPU instruction. offset is the effective address in
// the operand's segment; the CPU applies segmentation and paging and may throw its fault
// exception, which X87::execute lets pass with the FPU state unchanged.
class X87MemoryBus {
public:
    virtual ~X87MemoryBus() = default;
    virtual void read(std::uint32_t offset, void* dst, unsigned len) = 0;
    virtual void write(std::uint32_t offset, const void* src, unsigned len) = 0;
};

// What the CPU's decoder knows about the ESC instruction it hands over.
struct X87Context {
    std::uint8_t opcode;  // D8..DF
    std::uint8_t modrm;
    bool operand16;       // operand-size attribute 16 (FLDENV/FNSTENV/FRSTOR/FNSAVE layout)
    bool protectedMode;   // CR0.PE and not virtual-8086: selects the environment layout
    std::uint32_t eip;    // offset of the instruction (first prefix) for FIP
    std::uint16_t cs;
    std::uint32_t dataOffset;  // effective address of the memory operand, if any
    std::uint16_t ds;          // selector of the memory operand's segment (FDS)
};

enum class X87Outcome : std::uint8_t {
    Done,
    PendingException,  // an unmasked exception is pending: the CPU raises #MF (vector 16)
                       // if CR0.NE, else asserts IRQ13 (FERR#); nothing was executed
    Invalid,           // not an x87 instruction on this CPU: #UD
};

// Status word bits (SDM Vol. 1 8.1.3).
namespace x87sw {
inline constexpr std::uint16_t IE = 1u << 0, DE = 1u << 1, ZE = 1u << 2, OE = 1u << 3,
                               UE = 1u << 4, PE = 1u << 5, SF = 1u << 6, ES = 1u << 7,
                               C0 = 1u << 8, C1 = 1u << 9, C2 = 1u << 10, C3 = 1u << 14,
                               B = 1u << 15;
inline constexpr std::uint16_t kExceptions = 0x3F;
inline constexpr unsigned kTopShift = 11;
}  // namespace x87sw

// One 80-bit register: 64-bit significand (explicit integer bit) and sign+exponent.
struct X87Reg {
    std::uint64_t significand = 0;
    std::uint16_t signExponent = 0;
    bool operator==(const X87Reg&) const = default;
};

// The host FNSAVE image (32-bit protected-mode layout, SDM Vol. 1 Fig. 8-10): the
// guest's CW/SW/TW and stack registers live in it so that one FRSTOR/FNSAVE pair moves
// the whole guest state through the host FPU. The env pointer fields are host scratch.
struct X87HostImage {
    std::uint32_t cw, sw, tw, fip, fcsFop, fdp, fds;
    std::array<std::array<std::uint8_t, 10>, 8> st;  // ST(0)..ST(7), 80-bit little endian
};
static_assert(sizeof(X87HostImage) == 108);

class X87 {
public:
    X87() { reset(); }

    // Processor RESET state (SDM Vol. 3 Table 9-1): CW 0040H, SW 0, TW 5555H (all
    // registers +0.0 and tagged zero), pointers 0.
    void reset();
    // FNINIT: CW 037FH, SW 0, all registers empty, pointers 0; contents are kept.
    void init();

    // Executes one ESC instruction. ax receives FNSTSW AX; eflags carries ZF/PF/CF for
    // FCOMI/FUCOMI (written) and FCMOVcc (read).
    X87Outcome execute(const X87Context& ctx, X87MemoryBus& mem, std::uint16_t& ax,
                       std::uint32_t& eflags);

    // An exception flag is set whose mask bit is clear: the next waiting FPU instruction
    // (and FWAIT, checked by the CPU) reports it.
    bool hasPendingUnmaskedException() const;

    // State accessors (tests, the CPU's trace, save/restore of a VM).
    std::uint16_t controlWord() const { return static_cast<std::uint16_t>(img_.cw); }
    std::uint16_t statusWord() const { return static_cast<std::uint16_t>(img_.sw); }
    // The full tag word as FNSTENV reports it: 00 valid, 01 zero, 10 special, 11 empty.
    std::uint16_t tagWord() const;
    unsigned top() const { return (img_.sw >> x87sw::kTopShift) & 7; }
    X87Reg st(unsigned i) const;        // ST(i), regardless of tag
    X87Reg physical(unsigned r) const;  // R0..R7
    bool isEmpty(unsigned physicalReg) const;
    std::uint32_t fip() const { return fip_; }
    std::uint16_t fcs() const { return fcs_; }
    std::uint16_t fop() const { return fop_; }
    std::uint32_t fdp() const { return fdp_; }
    std::uint16_t fds() const { return fds_; }

    void setControlWord(std::uint16_t cw);
    // ES and B follow the flags and masks; a new TOP leaves R0..R7 where they are.
    void setStatusWord(std::uint16_t sw);
    void setTagWord(std::uint16_t tw);     // only empty (11) versus not empty matters
    void setSt(unsigned i, X87Reg v);      // ST(i) contents; the tag is not changed

    // ---- MMX aliasing (SDM Vol. 1 9.5) ----
    // MMi is the significand (bits 63:0) of physical register Ri, whatever TOP is.
    std::uint64_t mmx(unsigned i) const {
        std::uint64_t v;
        __builtin_memcpy(&v, img_.st[(i - top()) & 7].data(), 8);
        return v;
    }
    // Every MMX instruction but EMMS: TOP <- 0 (R0..R7 stay where they are) and every
    // tag valid (SDM Vol. 1 Table 9-1).
    void enterMmx() {
        if (top() != 0) setTop(0);
        img_.tw = 0;
    }
    // Writing MMi (after enterMmx): significand = v, sign and exponent bits all 1.
    void setMmx(unsigned i, std::uint64_t v) {
        __builtin_memcpy(img_.st[i & 7].data(), &v, 8);
        img_.st[i & 7][8] = 0xFF;
        img_.st[i & 7][9] = 0xFF;
    }
    void emms() { img_.tw = 0xFFFF; }  // EMMS: every tag empty

    // ---- FXSAVE/FXRSTOR (SDM Vol. 1 10.5.1, Table 10-2), the x87 part ----
    // Bytes 0-23 (FCW, FSW, abridged FTW, FOP, FIP, FCS, FDP, FDS) and the register
    // fields at 32 + 16 * i (ST(i), 10 bytes; the 6 reserved bytes are not written).
    void storeFx(std::uint8_t* image) const;
    // The inverse; the abridged tag becomes empty / not empty.
    void loadFx(const std::uint8_t* image);

private:
    X87Outcome executeControl(const X87Context& ctx, X87MemoryBus& mem, std::uint16_t& ax);
    void storeEnvironment(const X87Context& ctx, std::uint8_t* out) const;
    void loadEnvironment(const X87Context& ctx, const std::uint8_t* in);
    void recomputeErrorSummary();
    void setTop(unsigned newTop);

    X87HostImage img_{};
    std::uint32_t fip_ = 0, fdp_ = 0;
    std::uint16_t fcs_ = 0, fds_ = 0, fop_ = 0;
};

}  // namespace cxvm::x86
