/*
 * ROM "ioapic": the I/O APIC at 0xFEC00000 with the 8259s masked, as an
 * APIC kernel uses it: ID, version and entry count; the PIT's ISA IRQ0 on
 * pin 2 (the MADT's override) and the RTC's IRQ8 on pin 8 routed to local
 * APIC vectors; edge delivery, the mask bit, and level-triggered delivery
 * with remote IRR and EOI using the RTC, whose IRQ line stays high until
 * register C is read. The rate is printed only as inside or outside a
 * tolerance, timed by the TSC (calibrated against PIT channel 2's counter).
 */
#include "irq.h"

#define VEC_PIT     0x30
#define VEC_RTC     0x38
#define PIN_PIT     2
#define PIN_RTC     8
#define TOLERANCE   20                  /* percent */

#define REDIR_LEVEL     (1u << 15)
#define REDIR_REMOTE    (1u << 14)
#define REDIR_PENDING   (1u << 12)

static volatile int level_mode;
static volatile uint32_t remote_irr_seen, tmr_seen;

static void on_pit(unsigned v) { (void)v; lapic_eoi(); }

static void on_rtc(unsigned v)
{
    remote_irr_seen = ioapic_redir_lo(PIN_RTC) & REDIR_REMOTE;
    tmr_seen = (uint32_t)lapic_bit(LAPIC_TMR, v);
    if (level_mode)
        return;                         /* main reads C and sends the EOI */
    cmos_read(0x0C);
    lapic_eoi();
}

static void rtc_periodic_1024(int on)
{
    cmos_write(0x0A, 0x26);
    uint8_t b = cmos_read(0x0B);
    cmos_write(0x0B, on ? (b | 0x40) : (b & ~0x40));
    cmos_read(0x0C);
}

static void settle(void)
{
    sti();
    __asm__ volatile("nop; nop" ::: "memory");
    cli();
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom ioapic\n");
    irq_init();
    irq_handler[VEC_PIT] = on_pit;
    irq_handler[VEC_RTC] = on_rtc;
    pic_remap(0x20, 0x28, 0xFF, 0xFF);              /* the 8259s masked */
    lapic_write(LAPIC_SVR, 0x1FF);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED | 0x700);
    lapic_write(LAPIC_TPR, 0);

    uint32_t id = ioapic_read(0), ver = ioapic_read(1);
    unsigned entries = ((ver >> 16) & 0xFF) + 1;
    rom_printf("id=%u version=0x%02x entries=%u %s\n", (id >> 24) & 0xF, ver & 0xFF, entries,
               rom_verdict(((id >> 24) & 0xF) == 0 && ver & 0xFF && entries == 24));
    ioapic_write(0, 0x05000000);
    uint32_t id2 = ioapic_read(0);
    ioapic_write(0, id);
    rom_printf("id write 5: reads %u %s\n", (id2 >> 24) & 0xF, rom_verdict(((id2 >> 24) & 0xF) == 5));

    /* Every pin masked; a redirection entry reads back what was written. */
    for (unsigned p = 0; p < entries; p++)
        ioapic_redir(p, LVT_MASKED | (0xA0 + p), 0);
    ioapic_write(0x10 + 2 * 5, LVT_MASKED | REDIR_LEVEL | (1u << 13) | 0x85);
    ioapic_write(0x11 + 2 * 5, 0xAB000000);
    uint32_t lo = ioapic_redir_lo(5), hi = ioapic_redir_hi(5);
    rom_printf("pin 5 readback: lo=0x%08x hi=0x%08x %s\n", lo, hi,
               rom_verdict(lo == (LVT_MASKED | REDIR_LEVEL | (1u << 13) | 0x85) && hi == 0xAB000000));
    ioapic_redir(5, LVT_MASKED | 0x85, 0);

    /* PIT channel 0 at ~1000 Hz: ISA IRQ0 arrives on pin 2 (MADT override 0 -> GSI 2). */
    pit_program(0, 2, 1193);
    ioapic_redir(PIN_PIT, VEC_PIT, 0);              /* fixed, physical, edge, active high, dest 0 */
    uint32_t n = irq_wait(VEC_PIT, 10, 100000);
    lo = ioapic_redir_lo(PIN_PIT);
    rom_printf("pin 2 edge -> vector 0x%02x: 10 deliveries=%d remote irr=%u tmr=%d %s\n", VEC_PIT, n >= 10,
               (lo >> 14) & 1, lapic_bit(LAPIC_TMR, VEC_PIT), rom_verdict(n >= 10 && !(lo & REDIR_REMOTE)));
    uint32_t stray = 0;
    for (unsigned v = 0xA0; v < 0xA0 + 24; v++)
        stray += irq_count[v];
    rom_printf("masked pins' vectors saw nothing: %s\n", rom_verdict(stray == 0));

    /* The PIT at ~100 Hz through pin 2: ~30 interrupts in 300 ms of TSC time. */
    uint64_t tsc_hz = rate_per_sec(tsc_sample, 30);
    pit_program(0, 2, 11932);
    irq_wait(VEC_PIT, irq_count[VEC_PIT] + 1, 100000);
    n = irqs_in_window(VEC_PIT, tsc_hz / 1000 * 300);
    rom_printf("pit 100 Hz via pin 2, interrupts in 300 ms of TSC time: within %u%% of 30: %s\n", TOLERANCE,
               rom_verdict(within(n, 30, TOLERANCE)));
    pit_program(0, 2, 1193);

    /* RTC IRQ8 on pin 8, edge, 1024 Hz. */
    ioapic_redir(PIN_RTC, VEC_RTC, 0);
    rtc_periodic_1024(1);
    uint32_t rtc0 = irq_count[VEC_RTC];
    n = irq_wait(VEC_RTC, rtc0 + 16, 1000000) - rtc0;
    rom_printf("pin 8 edge -> vector 0x%02x: 16 deliveries=%d %s\n", VEC_RTC, n >= 16, rom_verdict(n >= 16));

    /* Mask bit: pin 2 masked for 32 RTC ticks: no PIT interrupt. */
    ioapic_redir(PIN_PIT, LVT_MASKED | VEC_PIT, 0);
    settle();                           /* one already accepted may still arrive */
    uint32_t pit0 = irq_count[VEC_PIT];
    rtc0 = irq_count[VEC_RTC];
    uint32_t r = irq_wait(VEC_RTC, rtc0 + 32, 1000000) - rtc0;
    rom_printf("pin 2 masked over 32 rtc ticks: pit deliveries=%u %s\n", irq_count[VEC_PIT] - pit0,
               rom_verdict(r >= 32 && irq_count[VEC_PIT] == pit0));
    ioapic_redir(PIN_PIT, VEC_PIT, 0);
    n = irq_wait(VEC_PIT, irq_count[VEC_PIT] + 5, 100000);
    rom_printf("pin 2 unmasked: delivered again %s\n", rom_verdict(n >= pit0 + 5));
    ioapic_redir(PIN_PIT, LVT_MASKED | VEC_PIT, 0);
    pit_program(0, 2, 0);

    /* Level-triggered: the RTC holds IRQ8 high until register C is read. */
    rtc_periodic_1024(0);
    settle();
    level_mode = 1;
    ioapic_redir(PIN_RTC, REDIR_LEVEL | VEC_RTC, 0);
    uint32_t c0 = irq_count[VEC_RTC];
    rtc_periodic_1024(1);
    n = irq_wait(VEC_RTC, c0 + 1, 100000) - c0;
    lo = ioapic_redir_lo(PIN_RTC);
    rom_printf("level -> vector 0x%02x: delivered=%u remote irr in handler=%u tmr=%u, after: remote irr=%u isr=%d %s\n",
               VEC_RTC, n, remote_irr_seen ? 1u : 0u, tmr_seen, (lo >> 14) & 1, lapic_bit(LAPIC_ISR, VEC_RTC),
               rom_verdict(n == 1 && remote_irr_seen && tmr_seen && (lo & REDIR_REMOTE) &&
                           lapic_bit(LAPIC_ISR, VEC_RTC)));

    /* No EOI yet: nothing more, whatever the RTC does (C unread: the line simply stays high). */
    pit_program(0, 2, 11932);           /* 10 ms per reload, counted by latching */
    sti();
    for (int wraps = 0; wraps < 3;) {
        uint16_t a = pit_latch(0), b = pit_latch(0);
        if (b > a)
            wraps++;
    }
    cli();
    n = irq_count[VEC_RTC] - c0;
    rom_printf("level, no eoi, 30 ms: deliveries=%u %s\n", n, rom_verdict(n == 1));

    /* EOI with the line still high: remote IRR clears and the entry fires again. */
    remote_irr_seen = 0;
    lapic_eoi();
    n = irq_wait(VEC_RTC, c0 + 2, 100000) - c0;
    rom_printf("level, eoi with line high: redelivered=%u remote irr in handler=%u %s\n", n,
               remote_irr_seen ? 1u : 0u, rom_verdict(n == 2 && remote_irr_seen));

    /* Periodic off, C read (line low), then EOI: remote IRR clear, nothing more. */
    cmos_write(0x0B, (uint8_t)(cmos_read(0x0B) & ~0x40));
    cmos_read(0x0C);
    lapic_eoi();
    lo = ioapic_redir_lo(PIN_RTC);
    sti();
    for (int wraps = 0; wraps < 3;) {
        uint16_t a = pit_latch(0), b = pit_latch(0);
        if (b > a)
            wraps++;
    }
    cli();
    n = irq_count[VEC_RTC] - c0;
    rom_printf("level, line low then eoi: remote irr=%u isr=%d deliveries=%u %s\n", (lo >> 14) & 1,
               lapic_bit(LAPIC_ISR, VEC_RTC), n, rom_verdict(!(lo & REDIR_REMOTE) && !lapic_bit(LAPIC_ISR, VEC_RTC) && n == 2));
    ioapic_redir(PIN_RTC, LVT_MASKED | VEC_RTC, 0);
    pit_program(0, 2, 0);
    rom_done();
}
