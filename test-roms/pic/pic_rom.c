/*
 * ROM "pic": the 8259A pair as a PIC-only kernel drives it. Remapped to
 * 0x20/0x28 with ICW1-4, masks read back, IRR and ISR through OCW3, the PIT
 * (IRQ0) and the RTC (IRQ8, through the slave on IRQ2) as interrupt sources;
 * the I/O APIC is left alone and the local APIC keeps LINT0 in ExtINT mode
 * as the firmware leaves it. Nothing printed depends on timing.
 */
#include "irq.h"

#define VEC_BASE1   0x20
#define VEC_BASE2   0x28
#define VEC_PIT     (VEC_BASE1 + 0)
#define VEC_RTC     (VEC_BASE2 + 0)
#define SPINS       20000000u

static volatile uint8_t isr1_seen, isr2_seen, irr1_seen;
static volatile int eoi_in_handler;

/* Polls until (read() & bit) or SPINS reads; 1 if the bit came. */
static int poll_bit(uint8_t (*read)(void), uint8_t bit)
{
    for (uint32_t i = 0; i < SPINS; i++)
        if (read() & bit)
            return 1;
    return 0;
}

/* Waits until PIT channel 0 has reloaded n times (its latched count went up); 1 if it did. */
static int pit_wait_wraps(int n)
{
    uint16_t last = pit_latch(0);
    for (uint32_t i = 0; i < SPINS && n > 0; i++) {
        uint16_t now = pit_latch(0);
        if (now > last)
            n--;
        last = now;
    }
    return n == 0;
}

static void on_pit(unsigned v)
{
    (void)v;
    isr1_seen = pic1_isr();
    irr1_seen = pic1_irr();
    if (eoi_in_handler)
        pic1_eoi();
}

static void on_rtc(unsigned v)
{
    (void)v;
    isr1_seen = pic1_isr();
    isr2_seen = pic2_isr();
    cmos_read(0x0C);                    /* register C read acknowledges the RTC's IRQ */
    if (eoi_in_handler) {
        pic2_eoi();
        pic1_eoi();
    }
}

static void print_vectors(const char *what)
{
    rom_printf("%s: log", what);
    for (uint32_t i = 0; i < irq_log_len && i < IRQ_LOG_SIZE; i++)
        rom_printf(" 0x%02x", irq_log[i]);
    rom_printf("\n");
}

static void rtc_periodic(int on)
{
    cmos_write(0x0A, 0x26);             /* 32.768 kHz time base, rate 6: 1024 Hz */
    uint8_t b = cmos_read(0x0B);
    cmos_write(0x0B, on ? (b | 0x40) : (b & ~0x40));
    cmos_read(0x0C);
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom pic\n");
    irq_init();
    irq_handler[VEC_PIT] = on_pit;
    irq_handler[VEC_RTC] = on_rtc;

    /* ICW1-4, everything masked; then OCW1 masks read back. */
    pic_remap(VEC_BASE1, VEC_BASE2, 0xFF, 0xFF);
    uint8_t m1 = inb(PIC1_DATA), m2 = inb(PIC2_DATA);
    rom_printf("remap masks: master=0x%02x slave=0x%02x %s\n", m1, m2, rom_verdict(m1 == 0xFF && m2 == 0xFF));
    outb(PIC1_DATA, 0xA5);
    outb(PIC2_DATA, 0x5A);
    m1 = inb(PIC1_DATA);
    m2 = inb(PIC2_DATA);
    rom_printf("ocw1 readback: master=0x%02x slave=0x%02x %s\n", m1, m2, rom_verdict(m1 == 0xA5 && m2 == 0x5A));
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
    rom_printf("after remap: isr=0x%02x,0x%02x %s\n", pic1_isr(), pic2_isr(),
               rom_verdict(pic1_isr() == 0 && pic2_isr() == 0));

    /* OCW3 read register select sticks: two reads of port 0x20 after one OCW3. */
    outb(PIC1_CMD, 0x0B);
    uint8_t a = inb(PIC1_CMD), b = inb(PIC1_CMD);
    rom_printf("ocw3 isr select sticks: 0x%02x 0x%02x %s\n", a, b, rom_verdict(a == 0 && b == 0));

    /* PIT channel 0, mode 2 at ~1 kHz: IRR latches the edge though IRQ0 is masked. */
    pit_program(0, 2, 1193);
    int got = poll_bit(pic1_irr, 0x01);
    rom_printf("masked irq0: irr bit0 set=%d, delivered=%u %s\n", got, irq_count[VEC_PIT],
               rom_verdict(got && irq_count[VEC_PIT] == 0));

    /* Unmasked with IF=0: still pending, not delivered. */
    outb(PIC1_DATA, 0xFE);
    got = poll_bit(pic1_irr, 0x01);
    rom_printf("unmasked irq0, IF=0: pending=%d delivered=%u %s\n", got, irq_count[VEC_PIT],
               rom_verdict(got && irq_count[VEC_PIT] == 0));

    /* STI: delivered at 0x20, ISR bit 0 set in the handler (no EOI yet). */
    eoi_in_handler = 0;
    irq_log_reset();
    uint32_t n = irq_wait(VEC_PIT, 1, 1000);
    rom_printf("irq0 delivered: count=%u isr in handler=0x%02x %s\n", n, isr1_seen,
               rom_verdict(n == 1 && isr1_seen == 0x01));
    print_vectors("irq0 vectors");

    /* Without EOI, IRQ0 stays in service: a new edge sets IRR but is not delivered. */
    sti();
    got = poll_bit(pic1_irr, 0x01);
    uint32_t later = irq_count[VEC_PIT];
    cli();
    uint8_t isr = pic1_isr();
    rom_printf("no eoi: isr=0x%02x new edge pending=%d count=%u %s\n", isr, got, later,
               rom_verdict(isr == 0x01 && got && later == 1));

    /* Non-specific EOI clears ISR; the pending edge is then delivered. */
    pic1_eoi();
    isr = pic1_isr();
    rom_printf("eoi: isr=0x%02x %s\n", isr, rom_verdict(isr == 0x00));
    eoi_in_handler = 1;
    n = irq_wait(VEC_PIT, 2, 1000);
    rom_printf("after eoi: delivered again %s\n", rom_verdict(n >= 2));
    n = irq_wait(VEC_PIT, 10, 1000);
    rom_printf("with eoi in handler: 10 deliveries=%d isr in handler=0x%02x %s\n", n >= 10, isr1_seen,
               rom_verdict(n >= 10 && isr1_seen == 0x01));

    /* Specific EOI (OCW2 0x60 | level) also clears the bit. */
    eoi_in_handler = 0;
    irq_wait(VEC_PIT, irq_count[VEC_PIT] + 1, 1000);
    isr = pic1_isr();
    outb(PIC1_CMD, 0x60);
    uint8_t isr_after = pic1_isr();
    rom_printf("specific eoi level 0: isr 0x%02x -> 0x%02x %s\n", isr, isr_after,
               rom_verdict(isr == 0x01 && isr_after == 0x00));
    eoi_in_handler = 1;

    /* Masked line not delivered, even with IF=1, while its edges keep coming. */
    outb(PIC1_DATA, 0xFF);
    uint32_t before = irq_count[VEC_PIT];
    sti();
    int wraps = pit_wait_wraps(3);
    got = poll_bit(pic1_irr, 0x01);
    cli();
    rom_printf("masked, IF=1, 3 periods: wrapped=%d edge pending=%d new deliveries=%u %s\n", wraps, got,
               irq_count[VEC_PIT] - before, rom_verdict(wraps && got && irq_count[VEC_PIT] == before));

    /* Slave cascade: RTC IRQ8 -> slave IRQ0 -> master IRQ2, vector 0x28. */
    pit_program(0, 2, 0);               /* slow the PIT down: 18.2 Hz, masked anyway */
    rtc_periodic(1);
    outb(PIC2_DATA, 0xFE);              /* slave: IRQ8 only; master IRQ2 still masked */
    got = poll_bit(pic2_irr, 0x01);
    int master_sees = poll_bit(pic1_irr, 0x04);
    rom_printf("irq8, master irq2 masked: slave irr=%d master irr bit2=%d delivered=%u %s\n", got,
               master_sees, irq_count[VEC_RTC], rom_verdict(got && master_sees && irq_count[VEC_RTC] == 0));
    eoi_in_handler = 0;
    outb(PIC1_DATA, 0xFB);
    n = irq_wait(VEC_RTC, 1, 1000);
    rom_printf("irq8 delivered at 0x%02x: count=%u master isr=0x%02x slave isr=0x%02x %s\n", VEC_RTC, n,
               isr1_seen, isr2_seen, rom_verdict(n == 1 && isr1_seen == 0x04 && isr2_seen == 0x01));
    pic2_eoi();
    uint8_t s_isr = pic2_isr(), m_isr = pic1_isr();
    rom_printf("slave eoi only: slave isr=0x%02x master isr=0x%02x %s\n", s_isr, m_isr,
               rom_verdict(s_isr == 0 && m_isr == 0x04));
    pic1_eoi();
    m_isr = pic1_isr();
    rom_printf("master eoi: master isr=0x%02x %s\n", m_isr, rom_verdict(m_isr == 0));
    eoi_in_handler = 1;
    n = irq_wait(VEC_RTC, 5, 1000);
    rom_printf("irq8 5 deliveries=%d %s\n", n >= 5, rom_verdict(n >= 5));

    /* Priority: IRQ0 and IRQ8 (via IRQ2) both pending with IF=0: IRQ0 first. */
    pit_program(0, 2, 1193);
    outb(PIC1_DATA, 0xFA);              /* IRQ0 and IRQ2 */
    irq_log_reset();
    got = poll_bit(pic1_irr, 0x01) && poll_bit(pic1_irr, 0x04);
    sti();
    __asm__ volatile("nop; nop" ::: "memory");
    cli();
    uint32_t len = irq_log_len;
    rom_printf("both pending=%d: first two vectors 0x%02x 0x%02x %s\n", got, irq_log[0], irq_log[1],
               rom_verdict(got && len >= 2 && irq_log[0] == VEC_PIT && irq_log[1] == VEC_RTC));

    /* Everything masked again; nothing in service. */
    rtc_periodic(0);
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
    rom_printf("end: isr=0x%02x,0x%02x %s\n", pic1_isr(), pic2_isr(), rom_verdict(pic1_isr() == 0 && pic2_isr() == 0));
    rom_puts("spurious irq7: not reproducible under QEMU (its 8259 model drops INTR with the request), not tested\n");
    rom_done();
}
