#include "x86/Cpu.h"

#include "util/Error.h"
#include "x86/X87Unit.h"

#include <fmt/format.h>

#include <memory>

namespace cxvm::x86 {

Cpu::Cpu(CpuBus bus)
    : tlbMap_(mapTlb()),
      tlb_(reinterpret_cast<TlbEntry*>(tlbMap_.data())),
      mem_(bus.memory),
      io_(bus.io),
      mmio_(bus.mmio),
      pins_(bus.pins),
      clock_(bus.clock),
      icache_(std::make_unique<DecodedInsn[]>(kICacheSize)),
      blockTable_(std::make_unique<Block*[]>(kBlockTableSize)),
      blockPool_(Mapping::map(sizeof(Block) * kBlockPool, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)),
      arena_(Mapping::map(sizeof(Insn) * kArenaInsns, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)),
      x87_(makeX87Unit()) {
    if (jit::BlockCompiler::hostSupported(*this)) jit_ = std::make_unique<jit::BlockCompiler>(*this);
    reset();
}

Mapping Cpu::mapTlb() {
    constexpr std::size_t len = sizeof(TlbEntry) * kTlbSize;
    constexpr int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
#if defined(MAP_32BIT)
    try {
        return Mapping::map(len, prot, flags | MAP_32BIT);
    } catch (const Error&) {  // the low 2 GiB are full: interpreted only
    }
#endif
    return Mapping::map(len, prot, flags);
}

void Cpu::setCompile(bool on, unsigned threshold, std::size_t codeBytes) {
    flushBlocks();  // no block keeps code of a compiler that is gone
    jit_ = nullptr;
    if (on && jit::BlockCompiler::hostSupported(*this))
        jit_ = std::make_unique<jit::BlockCompiler>(*this, codeBytes);
    compileThreshold_ = threshold;
}

bool Cpu::compileBlock(Block& b) {
    if (!b.d32) return true;  // compiled code computes 32-bit EIPs: interpreted
    // vm86 code is 16-bit, so the test above already keeps it interpreted, and d32 is
    // part of a block's key: no block compiled for 32-bit protected mode is found there.
    // Explicit, in case 16-bit blocks are ever compiled (their key would then need VM:
    // blocks are found by host address, whatever the mode).
    if (eflags_ & fl::VM) return true;
    b.code = jit_->compile(b);
    if (!b.code) {
        // A full arena is flushed and the block compiled again; any other failure would
        // fail again after the flush (and loop): the block stays interpreted.
        if (jit_->arenaFull()) return false;
        b.uncompilable = true;
        return true;
    }
    ++blocksCompiled_;
    return true;
}

Cpu::~Cpu() = default;

void Cpu::reset() {
    for (auto& r : regs_) r = 0;
    regs_[EDX] = 0x600 | (9 << 4) | 5;  // family 6 model 9 stepping 5, as CPUID.1 (SDM 9.1.4)
    eip_ = insnEip_ = 0xFFF0;
    loadFlags(0);
    for (auto& s : seg_) {
        s = SegCache{};
        s.type = 0x3;  // read/write data, accessed
        s.derive();
    }
    seg_[CS].selector = 0xF000;
    seg_[CS].base = 0xFFFF0000u;
    seg_[CS].type = 0xB;  // execute/read code, accessed
    seg_[CS].derive();
    ldtr_ = SegCache{};
    ldtr_.s = 0;
    ldtr_.type = 2;
    tr_ = SegCache{};
    tr_.s = 0;
    tr_.type = 0xB;
    gdtr_ = idtr_ = TableReg{0, 0xFFFF};
    cr0_ = cr0::ET | cr0::CD | cr0::NW;
    cr2_ = cr3_ = cr4_ = 0;
    for (auto& d : dr_) d = 0;
    dr_[6] = 0xFFFF0FF0u;
    dr_[7] = 0x400;
    setCpl(0);
    msrSysenterCs_ = msrSysenterEsp_ = msrSysenterEip_ = 0;
    tscOffset_ = 0;
    halted_ = false;
    nmiBlocked_ = false;
    inhibitAt_ = UINT64_MAX;
    shutdownReason_.clear();
    tlbFlush(true);
    if (x87_) x87_->reset();
    for (auto& x : xmm_) x = Xmm{};  // SDM Vol. 3 Table 9-1: XMM0-7 +0.0, MXCSR 1F80H
    mxcsr_ = mxcsr::kReset;
}

void Cpu::setFlat32(std::uint32_t eip, std::uint32_t esp, unsigned cpl) {
    cr0_ = cr0::PE | cr0::ET | cr0::NE;
    for (unsigned s = 0; s < kSegCount; ++s) {
        SegCache c;
        c.base = 0;
        c.limit = 0xFFFFFFFFu;
        c.g = 1;
        c.db = 1;
        c.dpl = static_cast<std::uint8_t>(cpl);
        c.type = s == CS ? 0xB : 0x3;
        c.selector = static_cast<std::uint16_t>((s == CS ? 0x08 : 0x10) | cpl);
        c.derive();
        seg_[s] = c;
    }
    setCpl(cpl);
    eip_ = insnEip_ = eip;
    regs_[ESP] = esp;
    loadFlags(0);
    tlbFlush(true);
}

void Cpu::setCpl(unsigned c) {
    cpl_ = c;
    userAcc_ = c == 3 ? 2 : 0;
    invalidateFetch();
}

// ---------------------------------------------------------------- flags

namespace {
constexpr std::array<std::uint8_t, 256> makeParity() {
    std::array<std::uint8_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
        unsigned n = 0;
        for (unsigned b = 0; b < 8; ++b) n += (i >> b) & 1;
        t[i] = (n & 1) ? 0 : fl::PF;
    }
    return t;
}
constexpr auto kParity = makeParity();
}  // namespace

std::uint32_t Cpu::arithFlags() const {
    if (lfOp_ == FlagOp::Eager) return (eflags_ & (fl::kArith & ~fl::CF)) | cf_;
    const std::uint32_t m = sizeMask(lfSize_);
    const std::uint32_t sign = 1u << (lfSize_ * 8 - 1);
    const std::uint32_t a = lfA_ & m, b = lfB_ & m, r = lfRes_ & m;
    std::uint32_t f = cf_;
    f |= kParity[r & 0xFF];
    if (r == 0) f |= fl::ZF;
    if (r & sign) f |= fl::SF;
    switch (lfOp_) {
    case FlagOp::Add:
    case FlagOp::Adc:
    case FlagOp::Inc:
        f |= (a ^ b ^ r) & fl::AF;
        if ((a ^ r) & (b ^ r) & sign) f |= fl::OF;
        break;
    case FlagOp::Sub:
    case FlagOp::Sbb:
    case FlagOp::Dec:
        f |= (a ^ b ^ r) & fl::AF;
        if ((a ^ b) & (a ^ r) & sign) f |= fl::OF;
        break;
    case FlagOp::Shift:
        if (lfB_) f |= fl::OF;
        break;
    default: break;
    }
    return f;
}

bool Cpu::cond(unsigned cc) const {
    bool r;
    switch (cc >> 1) {
    case 0: r = getOF(); break;
    case 1: r = cf_; break;
    case 2: r = getZF(); break;
    case 3: r = cf_ || getZF(); break;
    case 4: r = getSF(); break;
    case 5: r = arithFlags() & fl::PF; break;
    case 6: r = getSF() != getOF(); break;
    default: r = getZF() || (getSF() != getOF()); break;
    }
    return r != (cc & 1);
}

std::uint32_t Cpu::eflags() const {
    return (eflags_ & ~fl::kArith) | arithFlags() | fl::kReserved1;
}

void Cpu::setEflags(std::uint32_t v) {
    loadFlags(v & 0x003F7FD5u);
}

void Cpu::setSegment(unsigned s, const SegCache& c) {
    seg_[s] = c;
    seg_[s].derive();
    if (s == CS) setCpl(protectedMode() ? c.selector & 3 : 0);
    if (s == SS && protectedMode()) setCpl(c.dpl);
    invalidateFetch();
}

std::uint32_t Cpu::cr(unsigned n) const {
    switch (n) {
    case 0: return cr0_;
    case 2: return cr2_;
    case 3: return cr3_;
    case 4: return cr4_;
    default: return 0;
    }
}

void Cpu::setCr(unsigned n, std::uint32_t v) {
    switch (n) {
    case 0: cr0_ = v | cr0::ET; break;
    case 2: cr2_ = v; break;
    case 3: cr3_ = v; break;
    case 4: cr4_ = v; break;
    default: break;
    }
    tlbFlush(true);
}

void Cpu::segFault(unsigned s, std::uint32_t, unsigned, bool) {
    if (s == SS) raise(vec::SS, 0);
    raise(vec::GP, 0);
}

// ---------------------------------------------------------------- MMU

void Cpu::tlbFlush(bool includingGlobal) {
    for (unsigned i = 0; i < kTlbSize; ++i) {
        TlbEntry& e = tlb_[i];
        if (!includingGlobal && (e.linPage & kTlbGlobal) && e.tag[0] != 1) continue;
        e.tag[0] = e.tag[1] = e.tag[2] = e.tag[3] = 1;
        e.linPage &= ~kTlbGlobal;
    }
    if (includingGlobal) largeCached_ = false;
    invalidateFetch();
}

void Cpu::tlbFlushPage(std::uint32_t lin) {
    if (largeCached_) {
        // A 4 MiB page is cached as many 4 KiB entries; INVLPG drops the whole page.
        for (unsigned i = 0; i < kTlbSize; ++i) {
            TlbEntry& e = tlb_[i];
            if ((e.linPage & kTlbLarge) && (e.linPage >> 22) == (lin >> 22))
                e.tag[0] = e.tag[1] = e.tag[2] = e.tag[3] = 1;
        }
    }
    TlbEntry& e = tlb_[(lin >> 12) & (kTlbSize - 1)];
    e.tag[0] = e.tag[1] = e.tag[2] = e.tag[3] = 1;
    invalidateFetch();
}

bool Cpu::translate(std::uint32_t lin, unsigned acc, bool write, std::uint32_t& phys,
                    bool noFault) {
    const bool user = acc & 2;
    std::uint32_t page;
    bool canUser = true, canWrite = true, global = false, large = false, dirty = true;
    if (!(cr0_ & cr0::PG)) {
        page = lin & ~0xFFFu;
    } else {
        auto pf = [&](bool present) -> bool {
            if (noFault) return false;
            cr2_ = lin;
            raise(vec::PF, (present ? 1u : 0u) | (write ? 2u : 0u) | (user ? 4u : 0u));
        };
        const std::uint32_t pdeAddr = (cr3_ & ~0xFFFu) | ((lin >> 22) << 2);
        std::uint32_t pde;
        physRead(pdeAddr, &pde, 4);
        if (!(pde & 1)) return pf(false);
        if ((pde & 0x80) && (cr4_ & cr4::PSE)) {
            canUser = pde & 4;
            canWrite = pde & 2;
            const bool allowed = (!user || canUser) &&
                                 (!write || canWrite || (!user && !(cr0_ & cr0::WP)));
            if (!allowed) return pf(true);
            std::uint32_t npde = pde | 0x20 | (write ? 0x40 : 0);
            if (npde != pde) physWrite(pdeAddr, &npde, 4);
            dirty = npde & 0x40;
            global = (pde & 0x100) && (cr4_ & cr4::PGE);
            large = true;
            page = (pde & 0xFFC00000u) | (lin & 0x3FF000u);
        } else {
            const std::uint32_t pteAddr = (pde & ~0xFFFu) | ((lin >> 10) & 0xFFC);
            std::uint32_t pte;
            physRead(pteAddr, &pte, 4);
            if (!(pte & 1)) return pf(false);
            canUser = (pde & 4) && (pte & 4);
            canWrite = (pde & 2) && (pte & 2);
            const bool allowed = (!user || canUser) &&
                                 (!write || canWrite || (!user && !(cr0_ & cr0::WP)));
            if (!allowed) return pf(true);
            if (!(pde & 0x20)) {
                std::uint32_t npde = pde | 0x20;
                physWrite(pdeAddr, &npde, 4);
            }
            std::uint32_t npte = pte | 0x20 | (write ? 0x40 : 0);
            if (npte != pte) physWrite(pteAddr, &npte, 4);
            dirty = npte & 0x40;
            global = (pte & 0x100) && (cr4_ & cr4::PGE);
            page = pte & ~0xFFFu;
        }
    }
    phys = page | (lin & 0xFFF);
    if (noFault) return true;
    // Fill the TLB for RAM/ROM pages; MMIO pages always take the slow path.
    const hw::MemoryRegion* region = mem_.regionAt(page);
    if (!region || page - region->gpa > region->size - 0x1000) return true;
    TlbEntry& e = tlb_[(lin >> 12) & (kTlbSize - 1)];
    const std::uint32_t tag = lin & ~0xFFFu;
    e.linPage = tag | (global ? kTlbGlobal : 0) | (large ? kTlbLarge : 0);
    e.physPage = page;
    e.hostDelta = reinterpret_cast<std::uintptr_t>(region->host + (page - region->gpa)) - tag;
    largeCached_ |= large;
    const bool supWrite = canWrite || !(cr0_ & cr0::WP);
    // Pages holding translated code are never mapped writable: their stores take the
    // slow path, which invalidates the translations (physWrite).
    const bool storable = dirty && !region->readOnly && !mem_.codeWatched(page);
    e.tag[0] = tag;
    e.tag[1] = (supWrite && storable) ? tag : 1;
    e.tag[2] = canUser ? tag : 1;
    e.tag[3] = (canUser && canWrite && storable) ? tag : 1;
    return true;
}

void Cpu::physRead(std::uint32_t phys, void* dst, unsigned len) {
    if (std::uint8_t* h = mem_.tryHost(phys, len)) {
        std::memcpy(dst, h, len);
        return;
    }
    std::uint64_t v = mmio_.read(phys, len);
    std::memcpy(dst, &v, len);
}

void Cpu::physWrite(std::uint32_t phys, const void* src, unsigned len) {
    if (const hw::MemoryRegion* r = mem_.regionAt(phys)) {
        if (r->readOnly) return;  // ROM: writes are dropped
        if (std::uint8_t* h = mem_.tryHost(phys, len)) {
            std::memcpy(h, src, len);
            if (mem_.codeWatched(phys)) [[unlikely]]
                codePageWritten(phys);
            return;
        }
    }
    std::uint64_t v = 0;
    std::memcpy(&v, src, len);
    mmio_.write(phys, len, v);
}

void Cpu::readSlow(std::uint32_t lin, void* dst, unsigned len, unsigned acc) {
    const unsigned first = std::min(len, 0x1000 - (lin & 0xFFF));
    std::uint32_t p0, p1 = 0;
    translate(lin, acc, false, p0);
    if (first < len) translate(lin + first, acc, false, p1);
    physRead(p0, dst, first);
    if (first < len) physRead(p1, static_cast<std::uint8_t*>(dst) + first, len - first);
}

void Cpu::writeSlow(std::uint32_t lin, const void* src, unsigned len, unsigned acc) {
    const unsigned first = std::min(len, 0x1000 - (lin & 0xFFF));
    std::uint32_t p0, p1 = 0;
    // Both pages are checked before either is written (no partial commits).
    translate(lin, acc | 1, true, p0);
    if (first < len) translate(lin + first, acc | 1, true, p1);
    physWrite(p0, src, first);
    if (first < len) physWrite(p1, static_cast<const std::uint8_t*>(src) + first, len - first);
}

bool Cpu::readLinear(std::uint32_t lin, void* dst, unsigned len) {
    auto* d = static_cast<std::uint8_t*>(dst);
    for (unsigned i = 0; i < len; ++i) {
        std::uint32_t p;
        if (!translate(lin + i, 0, false, p, true)) return false;
        physRead(p, d + i, 1);
    }
    return true;
}

bool Cpu::writeLinear(std::uint32_t lin, const void* src, unsigned len) {
    const auto* s = static_cast<const std::uint8_t*>(src);
    for (unsigned i = 0; i < len; ++i) {
        std::uint32_t p;
        if (!translate(lin + i, 0, true, p, true)) return false;
        physWrite(p, s + i, 1);
    }
    return true;
}

std::uint8_t Cpu::fetchByte(std::uint32_t off) {
    const SegCache& cs = seg_[CS];
    if (off > cs.hi) [[unlikely]]
        raise(vec::GP, 0);
    const std::uint32_t lin = cs.base + off;
    if ((lin & ~0xFFFu) == fetchPage_) [[likely]]
        return fetchHost_[lin & 0xFFF];
    std::uint32_t phys;
    translate(lin, userAcc_, false, phys);
    const TlbEntry& e = tlb_[(lin >> 12) & (kTlbSize - 1)];
    if (e.tag[userAcc_] == (lin & ~0xFFFu)) {
        fetchPage_ = lin & ~0xFFFu;
        fetchHost_ = e.at(fetchPage_);
        return fetchHost_[lin & 0xFFF];
    }
    std::uint8_t b;
    physRead(phys, &b, 1);  // code in MMIO: byte at a time
    return b;
}

// ---------------------------------------------------------------- run loop

void Cpu::setTrace(const TraceOptions& t) { trace_ = t; }

void Cpu::step() {
    insnEip_ = eip_;
    insnEsp_ = regs_[ESP];
    const SegCache& cs = seg_[CS];
    const std::uint32_t lin = cs.base + eip_;
    if ((lin & ~0xFFFu) == fetchPage_ && (lin & 0xFFF) <= 0x1000 - 16) [[likely]] {
        const std::uint8_t* p = fetchHost_ + (lin & 0xFFF);
        DecodedInsn& e = icache_[reinterpret_cast<std::uintptr_t>(p) & (kICacheSize - 1)];
        std::uint64_t b0;
        std::memcpy(&b0, p, 8);
        if (e.host != p || (b0 & e.mask0) != e.raw0 || e.d32 != cs.db ||
            (e.insn.len > 8 && std::memcmp(e.raw1, p + 8, e.insn.len - 8u) != 0)) [[unlikely]] {
            e.host = nullptr;
            e.insn = Insn{};
            decode(e.insn);
            const unsigned len = e.insn.len;
            e.mask0 = len >= 8 ? ~0ull : ((1ull << (8 * len)) - 1);
            e.raw0 = b0 & e.mask0;
            if (len > 8) std::memcpy(e.raw1, p + 8, len - 8);
            e.d32 = cs.db;
            e.host = p;
        } else if (eip_ + (e.insn.len - 1u) > cs.hi) [[unlikely]] {
            raise(vec::GP, 0);  // a cached instruction still obeys the CS limit
        }
        eip_ = insnEip_ + e.insn.len;
        if (!cs.db) eip_ &= 0xFFFF;
        e.insn.fn(*this, e.insn);
        ++retired_;
        return;
    }
    Insn in;
    decode(in);
    eip_ = insnEip_ + in.len;
    if (!seg_[CS].db) eip_ &= 0xFFFF;
    in.fn(*this, in);
    ++retired_;
}

void Cpu::checkInterrupts() {
    insnEip_ = eip_;
    insnEsp_ = regs_[ESP];
    if (pins_.nmi.load(std::memory_order_relaxed) && !nmiBlocked_ && retired_ != inhibitAt_) {
        pins_.nmi.store(false, std::memory_order_relaxed);
        halted_ = false;
        nmiBlocked_ = true;
        deliver(vec::NMI, IntKind::Hardware, false, 0);
        return;
    }
    if ((eflags_ & fl::IF) && pins_.intr.load(std::memory_order_relaxed) && retired_ != inhibitAt_) {
        std::uint8_t v = pins_.controller ? pins_.controller->acknowledge() : 0xFF;
        halted_ = false;
        deliver(v, IntKind::Hardware, false, 0);
    }
}

// ---------------------------------------------------------------- translated blocks

namespace {
// Code generation of ROM pages: their bytes never change.
constexpr std::uint32_t kRomGeneration = 1;
}  // namespace

void Cpu::flushBlocks() {
    std::fill_n(blockTable_.get(), kBlockTableSize, nullptr);
    jumpCache_.fill(nullptr);
    blocksUsed_ = arenaUsed_ = 0;
    if (jit_) jit_->clear();
    ++blockFlushes_;
}

void Cpu::revokeWriteMappings(std::uint32_t physPage) {
    for (unsigned i = 0; i < kTlbSize; ++i) {
        TlbEntry& e = tlb_[i];
        if (e.physPage == physPage) e.tag[1] = e.tag[3] = 1;
    }
}

void Cpu::codePageWritten(std::uint32_t phys) {
    ++codePageWrites_;
    mem_.noteWrite(phys, 1);
    // Self-modifying code: the running block may hold stale decodes of what follows.
    if (curBlockGen_ == &mem_.pageGenerations()[phys >> 12]) blockExit_ = true;
}

bool Cpu::inRom(const std::uint8_t* host) const {
    for (const hw::MemoryRegion& r : mem_.regions())
        if (r.readOnly && host >= r.host && host < r.host + r.size) return true;
    return false;
}

Block* Cpu::buildBlock(const std::uint8_t* host, std::uint32_t lin) {
    const std::uint8_t* ram = mem_.ramBase();
    const std::uint32_t* genPtr = &kRomGeneration;
    if (host >= ram && host < ram + mem_.ramSize()) {
        const auto gpa = static_cast<std::uint32_t>(host - ram);
        if (!mem_.codeWatched(gpa)) {
            if (!mem_.watchCode(gpa)) return nullptr;  // dataport page: decoded per instruction
            if (mem_.codeGenerationWraps() != codeGenWraps_) {
                codeGenWraps_ = mem_.codeGenerationWraps();
                flushBlocks();
            }
            revokeWriteMappings(gpa & ~0xFFFu);
        }
        genPtr = &mem_.pageGenerations()[gpa >> 12];
    } else if (!inRom(host)) {
        return nullptr;
    }
    if (blocksUsed_ == kBlockPool || arenaUsed_ + kMaxBlockInsns > kArenaInsns) flushBlocks();
    Insn* out = &arena()[arenaUsed_];
    const SegCache& cs = seg_[CS];
    const std::uint32_t saved = insnEip_;
    std::uint32_t off = eip_;
    unsigned n = 0, bytes = 0;
    try {
        // Stop 16 bytes before the page end: no instruction of a block crosses pages.
        while (n < kMaxBlockInsns && (lin & 0xFFF) + bytes <= 0x1000 - 16) {
            insnEip_ = off;
            Insn& in = *std::construct_at(&out[n]);
            decode(in);
            if (!cs.db && off + in.len > 0x10000) break;  // IP wraps inside it
            ++n;
            bytes += in.len;
            off = cs.db ? off + in.len : (off + in.len) & 0xFFFF;
            if (in.endsBlock) break;
        }
    } catch (const Fault&) {
        // Ends the block before the instruction that cannot be decoded; executing it
        // (per instruction) raises the fault at the right time.
    }
    insnEip_ = saved;
    if (n == 0) return nullptr;
    Block& b = *std::construct_at(&blocks()[blocksUsed_++]);
    ++blockBuilds_;
    b.host = host;
    b.genPtr = genPtr;
    b.gen = *genPtr;
    b.insns = out;
    b.count = static_cast<std::uint16_t>(n);
    b.lastOff = bytes - 1;
    b.d32 = cs.db;
    arenaUsed_ += n;
    // Chained buckets: a block stays findable however many others hash alike, so a
    // collision never costs a re-decode (the pool holds one copy of each live block).
    // Stale blocks (their page was written since) leave the bucket here, so a guest that
    // keeps rewriting code cannot grow a chain.
    Block*& head = blockTable_[blockSlot(host)];
    for (Block** link = &head; *link;) {
        if (*(*link)->genPtr != (*link)->gen)
            *link = (*link)->hashNext;
        else
            link = &(*link)->hashNext;
    }
    b.hashNext = head;
    head = &b;
    return &b;
}

Block* Cpu::findBlock(const std::uint8_t* p, std::uint32_t lin) {
    const bool d32 = seg_[CS].db;
    Block*& cached = jumpCache_[(reinterpret_cast<std::uintptr_t>(p) >> 2) & (kJumpCacheSize - 1)];
    if (cached && cached->current(p) && cached->d32 == d32) return cached;
    for (Block* b = blockTable_[blockSlot(p)]; b; b = b->hashNext)
        if (b->current(p) && b->d32 == d32) return cached = b;
    return cached = buildBlock(p, lin);
}

Block* Cpu::enterBlock() {
    insnEip_ = eip_;
    insnEsp_ = regs_[ESP];
    const SegCache& cs = seg_[CS];
    const std::uint32_t lin = cs.base + eip_;
    if ((lin & ~0xFFFu) != fetchPage_) [[unlikely]] {
        const TlbEntry& e = tlb_[(lin >> 12) & (kTlbSize - 1)];
        if (eip_ > cs.hi) return nullptr;  // step() raises #GP
        if (e.tag[userAcc_] != (lin & ~0xFFFu)) {
            std::uint32_t phys;
            translate(lin, userAcc_, false, phys);  // #PF on the fetch, as step() would
            if (e.tag[userAcc_] != (lin & ~0xFFFu)) return nullptr;  // code in MMIO
        }
        fetchPage_ = lin & ~0xFFFu;
        fetchHost_ = e.at(fetchPage_);
    }
    if ((lin & 0xFFF) > 0x1000 - 16) [[unlikely]]
        return nullptr;  // may cross into the next page: per instruction
    return findBlock(fetchHost_ + (lin & 0xFFF), lin);
}

// One block through the handlers, stopping early where runBlocks would leave.
inline void Cpu::interpretBlock(const Block& b, std::uint64_t limit, std::uint32_t ipMask) {
    const Insn* in = b.insns;
    const Insn* const last = in + std::min<std::uint64_t>(b.count, limit - retired_);
    do {
        insnEip_ = eip_;
        insnEsp_ = regs_[ESP];
        const std::uint32_t next = (eip_ + in->len) & ipMask;
        eip_ = next;
        in->fn(*this, *in);
        ++retired_;
        // A taken branch, or anything that changed how code is fetched or asked to stop.
        if (eip_ != next || blockExit_) [[unlikely]]
            break;
    } while (++in != last);
}

// Runs translated blocks until `limit` instructions have retired, an instruction asks to
// leave (blockExit_: control transfer to another mode, CR/TLB change, stop, SMC), or
// INTR becomes deliverable. Between blocks, the next one is one of the previous block's
// two remembered successors when the fetch window still maps EIP to its bytes (the host
// address is compared, so a CR3 switch or remap can never resume a stale chain), else a
// table lookup whose result is remembered. CS cannot change without blockExit_, so its
// base, limit and default size are loop invariants.
void Cpu::runBlocks(std::uint64_t limit) {
    Block* b = enterBlock();
    if (!b) return step();
    const SegCache& cs = seg_[CS];
    const std::uint32_t csBase = cs.base;
    const std::uint32_t hi = cs.db ? cs.hi : std::min<std::uint32_t>(cs.hi, 0xFFFF);
    const std::uint32_t ipMask = cs.db ? 0xFFFFFFFFu : 0xFFFFu;
    const std::atomic<bool>& intr = pins_.intr;
    // Compiled code only with a page-granular CS (base and limit + 1 page aligned, as
    // every flat or paged OS has it): there a block within the limit has its whole page
    // within it, so direct jumps (never out of their page) skip the CS-limit check.
    const bool compiledCs = (csBase & 0xFFFu) == 0 && (hi & 0xFFFu) == 0xFFFu;
    blockLimit_ = limit;
    for (;;) {
        if (eip_ + b->lastOff > hi || eip_ + b->lastOff < eip_) [[unlikely]]
            return step();  // the CS limit falls inside the block
        if (!b->code && jit_ && b->runs++ >= compileThreshold_ && !b->uncompilable) [[unlikely]] {
            if (!compileBlock(*b)) {  // the code arena is full: start over
                flushBlocks();
                b = enterBlock();
                if (!b) return step();
                continue;
            }
        }
        curBlockGen_ = b->genPtr;
        blockExit_ = false;
        Block** slot = nullptr;  // where compiled code wants to find its successor
        if (b->code && compiledCs && b->count <= limit - retired_) {
            lastBlock_ = b;
            b->code(*this);
            b = lastBlock_;  // compiled blocks chain to their successors
            slot = exitSlot_;
        } else {
            interpretBlock(*b, limit, ipMask);
        }
        if (blockExit_ || retired_ >= limit) return;
        if (intr.load(std::memory_order_relaxed) && (eflags_ & fl::IF)) return;
        const std::uint32_t lin = csBase + eip_;
        if ((lin & ~0xFFFu) != fetchPage_ || (lin & 0xFFF) > 0x1000 - 16) [[unlikely]] {
            b = enterBlock();
            if (!b) return step();
            continue;
        }
        const std::uint8_t* p = fetchHost_ + (lin & 0xFFF);
        Block* nb = b->succ[0];
        if (nb && nb->current(p)) [[likely]] {
        } else if (nb = b->succ[1]; nb && nb->current(p)) {
            std::swap(b->succ[0], b->succ[1]);  // most recent first
        } else {
            const std::uint64_t flushes = blockFlushes_;
            nb = findBlock(p, lin);
            if (!nb) return step();
            if (flushes != blockFlushes_) {  // a flush recycled b
                b = nb;
                continue;
            }
            b->succ[1] = b->succ[0];
            b->succ[0] = nb;
        }
        if (slot) {
            *slot = nb;
            if (nb->code) linkExit(*b, slot, *nb);
        }
        b = nb;
    }
}

// The exit compiled code left by (`slot`) has a direct jump not linked yet, and `nb`,
// compiled, is its target: the jump goes to nb's code from now on. Only between blocks
// of one page and code generation (Block::jumpAt).
void Cpu::linkExit(Block& b, Block** slot, const Block& nb) {
    if (slot != &b.link[0] && slot != &b.link[1]) return;
    const auto k = static_cast<unsigned>(slot - b.link);
    if (!b.jumpAt[k] || !b.code) return;
    if (nb.host != b.host + b.jumpTo[k] || nb.genPtr != b.genPtr || nb.gen != b.gen) return;
    jit_->link(b, k, nb);
    b.jumpAt[k] = 0;  // linked for good
    ++blockLinks_;
}

RunResult Cpu::run(std::uint64_t maxInstructions) {
    const std::uint64_t end = retired_ + maxInstructions;
    RunResult result;
    stopAfterInsn_ = false;
    std::uint64_t nextCheck = retired_;
    for (;;) {
        try {
            if (halted_) {
                checkInterrupts();
                if (halted_) {
                    result.reason = StopReason::Halt;
                    return result;
                }
            }
            while (retired_ < end) {
                // requestStop() and NMI are looked at every kCheckInterval instructions
                // (microseconds), profile samples exactly when due; INTR at every block
                // boundary.
                if (retired_ >= nextCheck) [[unlikely]] {
                    nextCheck = retired_ + kCheckInterval;
                    if (stop_.load(std::memory_order_relaxed)) {
                        stop_.store(false, std::memory_order_relaxed);
                        result.reason = StopReason::Stopped;
                        return result;
                    }
                    if (pins_.nmi.load(std::memory_order_relaxed)) checkInterrupts();
                    if (retired_ >= nextProfile_) [[unlikely]] {
                        ++profile_[seg_[CS].base + eip_];
                        nextProfile_ += profileInterval_;  // no drift: one per interval
                        if (nextProfile_ <= retired_) nextProfile_ = retired_ + profileInterval_;
                    }
                    if (profileInterval_) nextCheck = std::min(nextCheck, nextProfile_);
                }
                bool single = trace_.enabled;
                if (pins_.intr.load(std::memory_order_relaxed) && (eflags_ & fl::IF)) [[unlikely]] {
                    if (retired_ != inhibitAt_)
                        checkInterrupts();
                    else
                        single = true;  // STI/MOV SS shadow: one instruction, then INTR
                }
                if (single) [[unlikely]] {
                    if (trace_.enabled) traceInsn();
                    step();
                } else {
                    runBlocks(std::min(end, nextCheck));
                }
                if (stopAfterInsn_) [[unlikely]] {
                    stopAfterInsn_ = false;
                    if (pendingStop_ == StopReason::Halt) {
                        checkInterrupts();  // an interrupt already pending wakes HLT at once
                        if (!halted_) continue;
                    }
                    result.reason = pendingStop_;
                    return result;
                }
            }
            result.reason = StopReason::SliceEnd;
            return result;
        } catch (const Fault& f) {
            curBlockGen_ = nullptr;
            eip_ = insnEip_;
            regs_[ESP] = insnEsp_;
            if (exceptionExit_) {
                result.reason = StopReason::Exception;
                result.fault = f;
                return result;
            }
            deliverFault(f);
            if (!shutdownReason_.empty()) {
                result.reason = StopReason::Shutdown;
                return result;
            }
        }
    }
}

void Cpu::deliverFault(Fault f) {
    // SDM Vol. 3 6.15, Table 6-5: which second fault turns into #DF.
    auto contributory = [](std::uint8_t v) { return v == 0 || (v >= 10 && v <= 13); };
    Fault cur = f;
    for (;;) {
        try {
            deliver(cur.vector, IntKind::Exception, cur.hasCode, cur.code);
            return;
        } catch (const Fault& g) {
            if (cur.vector == vec::DF) {
                shutdownReason_ = fmt::format(
                    "triple fault: vector {} (error {:#x}) while delivering #DF at {:04x}:{:08x}",
                    g.vector, g.code, seg_[CS].selector, insnEip_);
                return;
            }
            const bool df = (contributory(cur.vector) && contributory(g.vector)) ||
                            (cur.vector == vec::PF && (g.vector == vec::PF || contributory(g.vector)));
            cur = df ? Fault{vec::DF, true, 0} : g;
        }
    }
}

}  // namespace cxvm::x86
