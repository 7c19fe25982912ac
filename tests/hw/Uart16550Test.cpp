#include "hw/Uart16550.h"

#include "FakeDevices.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using cxvm::hw::TimedDevice;
using cxvm::hw::Uart16550;
using cxvm::hw::test::FakeClock;
using cxvm::hw::test::IrqRecorder;

namespace {

constexpr std::uint16_t kBase = 0x3F8;
enum : std::uint16_t { RBR = kBase, IER = kBase + 1, IIR = kBase + 2, FCR = kBase + 2, LCR = kBase + 3,
                       MCR = kBase + 4, LSR = kBase + 5, MSR = kBase + 6, SCR = kBase + 7 };

struct UartFixture : ::testing::Test {
    FakeClock clock;
    IrqRecorder irqs;
    std::vector<std::string> chunks;
    Uart16550 uart{"com1", clock, cxvm::hw::IrqLine(irqs, 4),
                   [this](std::span<const std::uint8_t> b) { chunks.emplace_back(b.begin(), b.end()); }};

    unsigned in(std::uint16_t port) { return uart.ioRead(port, 1); }
    void out(std::uint16_t port, unsigned v) { uart.ioWrite(port, 1, v); }
    bool irq() const { return irqs.level[4]; }
    std::size_t feed(std::string_view s) {
        return uart.receive(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
    }
};

TEST_F(UartFixture, ResetState) {
    EXPECT_EQ(in(IIR), 0x01u);
    EXPECT_EQ(in(LSR), 0x60u) << "THRE and TEMT";
    EXPECT_EQ(in(MSR), 0xB0u) << "DCD, DSR, CTS of an attached terminal";
    EXPECT_EQ(in(IER), 0u);
    EXPECT_EQ(in(MCR), 0u);
}

TEST_F(UartFixture, PassesLinux8250Autoconfig) {
    // IER: low nibble read/write, high nibble reads 0.
    out(IER, 0);
    EXPECT_EQ(in(IER) & 0x0F, 0u);
    out(IER, 0x0F);
    EXPECT_EQ(in(IER) & 0x0F, 0x0Fu);
    out(IER, 0xF0);
    EXPECT_EQ(in(IER), 0u);
    // Loopback: OUT2|RTS must show as DCD|CTS.
    out(MCR, 0x10 | 0x0A);
    EXPECT_EQ(in(MSR) & 0xF0, 0x90u);
    out(MCR, 0);
    // EFR probe with LCR=0xBF writes FCR on a 16550A; then FIFO enable -> IIR bits 7..6 = 11.
    out(LCR, 0xBF);
    out(FCR, 0);
    out(LCR, 0);
    out(FCR, 0x01);
    EXPECT_EQ(in(IIR) >> 6, 3u) << "16550A";
    // Not a 16650: with DLAB set, offset 2 still reads IIR (non-zero), not an EFR of 0.
    out(LCR, 0x80);
    EXPECT_NE(in(IIR), 0u);
    out(LCR, 0);
    // Not a 16750: IIR bit 5 never sets.
    out(FCR, 0x21);
    EXPECT_EQ(in(IIR) >> 5, 6u);
    out(LCR, 0x80);
    out(FCR, 0x21);
    EXPECT_EQ(in(IIR) >> 5, 6u);
    out(LCR, 0);
}

TEST_F(UartFixture, ThreInterruptReArmsOnIerWriteAsLinuxStartupTests) {
    out(MCR, 0x08);  // OUT2: connect INTR to the PIC
    out(IER, 0x02);
    EXPECT_TRUE(irq());
    EXPECT_EQ(in(IIR), 0x02u);
    EXPECT_EQ(in(IIR), 0x01u) << "reading IIR acknowledged THRE";
    EXPECT_FALSE(irq());
    out(IER, 0x00);
    out(IER, 0x02);
    EXPECT_EQ(in(IIR), 0x02u) << "re-armed by enabling ETBEI again (UART_BUG_THRE test)";
    out(IER, 0x02);
    EXPECT_EQ(in(IIR), 0x01u) << "only a 0->1 change of ETBEI re-arms";
    out(RBR, 'x');
    EXPECT_EQ(in(IIR), 0x02u) << "THR empties at once and interrupts again";
    out(IER, 0);
    EXPECT_EQ(in(IIR), 0x01u);
}

TEST_F(UartFixture, Out2GatesTheIrqLine) {
    out(IER, 0x02);
    EXPECT_EQ(in(IIR), 0x02u);
    out(IER, 0);
    out(IER, 0x02);
    EXPECT_FALSE(irq()) << "without OUT2 the PC's IRQ driver is off";
    out(MCR, 0x08);
    EXPECT_TRUE(irq());
    out(MCR, 0x18);
    EXPECT_FALSE(irq()) << "loopback forces OUT2 inactive";
}

TEST_F(UartFixture, IirPrioritiesLineStatusDataThreModem) {
    out(FCR, 0x01);  // FIFO, trigger 1
    out(MCR, 0x18);  // loopback + OUT2 (to make modem-status and overrun events)
    out(MCR, 0x19);  // DTR -> DSR changes: DDSR
    for (int i = 0; i < 17; ++i) out(RBR, 'a' + i);  // 16 fit, the 17th overruns
    out(IER, 0x0F);
    EXPECT_EQ(in(IIR), 0xC6u) << "receiver line status first";
    EXPECT_EQ(in(LSR) & 0x03, 0x03u) << "DR + OE";
    EXPECT_EQ(in(LSR) & 0x02, 0u) << "OE cleared by reading LSR";
    EXPECT_EQ(in(IIR), 0xC4u) << "then received data";
    for (int i = 0; i < 16; ++i) EXPECT_EQ(in(RBR), static_cast<unsigned>('a' + i));
    EXPECT_EQ(in(LSR) & 0x01, 0u);
    EXPECT_EQ(in(IIR), 0xC2u) << "then THRE (cleared by this read)";
    EXPECT_EQ(in(IIR), 0xC0u) << "then modem status";
    EXPECT_EQ(in(MSR) & 0x0F, 0x03u) << "DCTS (CTS fell entering loopback) and DDSR";
    EXPECT_EQ(in(IIR), 0xC1u);
}

TEST_F(UartFixture, ReceiveRespectsFifoCapacity) {
    EXPECT_EQ(feed("abc"), 1u) << "character mode holds one byte";
    EXPECT_EQ(in(RBR), 'a');
    out(FCR, 0x01);
    EXPECT_EQ(feed("0123456789abcdefXYZ"), 16u);
    EXPECT_EQ(uart.rxSpace(), 0u);
    EXPECT_EQ(in(LSR) & 0x02, 0u) << "receive() never overruns";
    EXPECT_EQ(in(RBR), '0');
    EXPECT_EQ(uart.rxSpace(), 1u);
    out(FCR, 0x03);  // clear RX FIFO
    EXPECT_EQ(in(LSR) & 0x01, 0u);
}

TEST_F(UartFixture, TriggerLevelAndCharacterTimeout) {
    out(LCR, 0x80);
    out(RBR, 1);  // divisor 1: 115200 baud
    out(IER, 0);
    out(LCR, 0x03);  // 8N1
    EXPECT_EQ(uart.charTimeNs(), 86'806u);
    out(FCR, 0x81);  // FIFO, trigger 8 (Linux's default for 16550A)
    out(MCR, 0x08);
    out(IER, 0x01);
    feed("abcd");
    EXPECT_FALSE(irq()) << "below the trigger level";
    EXPECT_EQ(uart.nextDeadlineNs(), 4 * 86'806u);
    clock.now = 4 * 86'806 - 1;
    uart.advanceTo(clock.now);
    EXPECT_FALSE(irq());
    clock.now = 4 * 86'806;
    uart.advanceTo(clock.now);
    EXPECT_TRUE(irq());
    EXPECT_EQ(in(IIR), 0xCCu) << "character timeout";
    EXPECT_EQ(in(RBR), 'a');
    EXPECT_EQ(in(IIR), 0xC1u) << "a read clears the timeout and restarts its timer";
    EXPECT_EQ(uart.nextDeadlineNs(), clock.now + 4 * 86'806u);
    feed("efghijk");
    EXPECT_EQ(in(IIR), 0xC4u) << "10 bytes >= trigger 8";
    for (int i = 0; i < 3; ++i) in(RBR);
    EXPECT_EQ(in(IIR), 0xC1u) << "7 left: below the trigger again";
}

TEST_F(UartFixture, TimeoutVisibleToAPollingGuestWithoutAdvance) {
    out(FCR, 0xC1);  // trigger 14
    out(IER, 0x01);
    feed("x");
    clock.now = uart.nextDeadlineNs();
    EXPECT_EQ(in(IIR), 0xCCu);
}

TEST_F(UartFixture, OutputIsBufferedAndHandedOverInChunks) {
    for (char c : std::string("hello, world\n")) out(RBR, static_cast<unsigned>(c));
    EXPECT_TRUE(chunks.empty()) << "no per-byte sink call";
    uart.advanceTo(1);
    ASSERT_EQ(chunks.size(), 1u);
    EXPECT_EQ(chunks[0], "hello, world\n");
    uart.advanceTo(2);
    EXPECT_EQ(chunks.size(), 1u) << "nothing new, no call";
    for (int i = 0; i < 5000; ++i) out(RBR, 'z');
    uart.flush();
    ASSERT_EQ(chunks.size(), 3u) << "a full buffer is handed over on its own";
    EXPECT_EQ(chunks[1].size() + chunks[2].size(), 5000u);
}

TEST_F(UartFixture, LoopbackFeedsTheReceiverNotTheSink) {
    out(MCR, 0x10);
    out(RBR, 0x5A);
    uart.flush();
    EXPECT_TRUE(chunks.empty());
    EXPECT_EQ(in(LSR) & 0x01, 0x01u);
    EXPECT_EQ(in(RBR), 0x5Au);
    out(RBR, 1);
    out(RBR, 2);
    EXPECT_EQ(in(LSR) & 0x02, 0x02u) << "character mode: the second byte overran the first";
    EXPECT_EQ(in(RBR), 2u);
}

TEST_F(UartFixture, HostInputWaitsWhileInLoopback) {
    out(MCR, 0x10);
    EXPECT_EQ(uart.rxSpace(), 0u);
    EXPECT_EQ(feed("k"), 0u);
    EXPECT_EQ(in(LSR) & 0x01, 0u);
    out(MCR, 0x00);
    EXPECT_EQ(feed("k"), 1u);
}

TEST_F(UartFixture, LoopbackModemLinesAndDeltas) {
    out(MCR, 0x10);
    EXPECT_EQ(in(MSR), 0x0Bu) << "entering loopback drops DCD, DSR, CTS: deltas, lines 0";
    out(MCR, 0x1F);
    EXPECT_EQ(in(MSR), 0xFBu) << "all four lines, deltas for CTS DSR DCD (RI rising is no TERI)";
    out(MCR, 0x1B);
    EXPECT_EQ(in(MSR), 0xB4u) << "RI fell: trailing edge";
    EXPECT_EQ(in(MSR), 0xB0u) << "deltas clear on read";
}

TEST_F(UartFixture, DivisorLatchAndScratch) {
    out(LCR, 0x83);
    out(RBR, 0x34);
    out(IER, 0x12);
    EXPECT_EQ(in(RBR), 0x34u);
    EXPECT_EQ(in(IER), 0x12u);
    out(LCR, 0x03);
    EXPECT_EQ(in(IER), 0u) << "IER untouched by divisor writes";
    EXPECT_EQ(in(LCR), 0x03u);
    out(SCR, 0xA5);
    EXPECT_EQ(in(SCR), 0xA5u);
    // 0x1234 divisor, 7E2: 1 + 7 + 1 + 2 bits.
    out(LCR, 0x0E);
    EXPECT_EQ(uart.charTimeNs(), (11ull * 0x1234 * 1'000'000'000 + 115199) / 115200);
}

TEST_F(UartFixture, FifoDisabledMeansNoFifoBitsAndNoTimeout) {
    out(FCR, 0x01);
    out(FCR, 0x00);
    EXPECT_EQ(in(IIR) & 0xC0, 0u);
    feed("a");
    EXPECT_EQ(uart.nextDeadlineNs(), TimedDevice::kNever);
}

TEST_F(UartFixture, WideAccessesSplitIntoRegisters) {
    out(SCR, 0x77);
    EXPECT_EQ(uart.ioRead(LSR, 2) & 0xFFFF, 0xB060u) << "LSR then MSR";
}

}  // namespace
