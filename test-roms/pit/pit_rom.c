/*
 * ROM "pit": the 8254 as kernels use it. Channel 0 in modes 2 and 3 with
 * IRQ0 counted through the PIC over a window timed by the TSC (itself
 * calibrated against channel 2's counter), the counter latch command, the
 * read-back command, and channel 2 gated by port 0x61 (the calibration loop:
 * mode 0, gate on, poll OUT2 in bit 5). Rates are printed only as inside or
 * outside a tolerance; no raw count is printed.
 */
#include "irq.h"

#define VEC_PIT     0x20
#define SPINS       50000000u
#define TOLERANCE   20                  /* percent */

static void on_pit(unsigned v) { (void)v; pic1_eoi(); }

static uint8_t readback_status(unsigned ch)
{
    outb(PIT_CMD, (uint8_t)(0xE0 | (2u << ch)));   /* read-back: status only (COUNT# = 1) */
    return inb((uint16_t)(PIT_CH0 + ch));
}

/* PIT IRQ0 deliveries during `ms` milliseconds of TSC time. */
static uint32_t pit_irqs_in(uint64_t tsc_hz, unsigned ms)
{
    outb(PIC1_DATA, 0xFE);
    irq_wait(VEC_PIT, irq_count[VEC_PIT] + 1, 100000);  /* start just after an edge */
    uint32_t n = irqs_in_window(VEC_PIT, tsc_hz / 1000 * ms);
    outb(PIC1_DATA, 0xFF);
    return n;
}

/* Latches channel `ch` until the value differs from `last`. */
static uint16_t next_latched(unsigned ch, uint16_t last)
{
    for (uint32_t i = 0; i < SPINS; i++) {
        uint16_t v = pit_latch(ch);
        if (v != last)
            return v;
    }
    return last;
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom pit\n");
    irq_init();
    irq_handler[VEC_PIT] = on_pit;
    pic_remap(0x20, 0x28, 0xFF, 0xFF);

    uint64_t tsc_hz = rate_per_sec(tsc_sample, 30);

    /* Channel 0, mode 2 (rate generator), 11932 = ~100 Hz: ~30 edges in 300 ms. */
    pit_program(0, 2, 11932);
    next_latched(0, pit_latch(0));      /* let the count load */
    uint8_t st = readback_status(0);
    rom_printf("ch0 mode 2: read-back status & 0x7f = 0x%02x (rw=3 mode=2 binary, count loaded) %s\n", st & 0x7F,
               rom_verdict((st & 0x7F) == 0x34));
    uint32_t n = pit_irqs_in(tsc_hz, 300);
    rom_printf("ch0 mode 2 at 100 Hz, IRQ0s in 300 ms of TSC time: within %u%% of 30: %s\n", TOLERANCE,
               rom_verdict(within(n, 30, TOLERANCE)));

    /* Mode 3 (square wave), 23864 = ~50 Hz: one IRQ0 edge per period. */
    pit_program(0, 3, 23864);
    next_latched(0, pit_latch(0));
    st = readback_status(0);
    rom_printf("ch0 mode 3: read-back status & 0x7f = 0x%02x %s\n", st & 0x7F, rom_verdict((st & 0x7F) == 0x36));
    n = pit_irqs_in(tsc_hz, 300);
    rom_printf("ch0 mode 3 at 50 Hz, IRQ0s in 300 ms of TSC time: within %u%% of 15: %s\n", TOLERANCE,
               rom_verdict(within(n, 15, TOLERANCE)));

    /* Counter latch: successive distinct values decrease (one reload allowed). */
    pit_program(0, 2, 0);               /* 65536: 55 ms per period */
    uint16_t prev = next_latched(0, pit_latch(0));
    unsigned downs = 0, ups = 0;
    for (int i = 0; i < 8; i++) {
        uint16_t v = next_latched(0, prev);
        if (v < prev)
            downs++;
        else if (v > prev)
            ups++;
        prev = v;
    }
    rom_printf("latch: 8 successive values, count decreased %s, reloads<=1 %s\n", rom_verdict(downs >= 7),
               rom_verdict(ups <= 1));

    /* Read-back of count and status together (0xC2): status first, then the count bytes. */
    outb(PIT_CMD, 0xC2);
    st = inb(PIT_CH0);
    uint8_t lo = inb(PIT_CH0), hi = inb(PIT_CH0);
    (void)lo;
    (void)hi;
    uint8_t st_again = readback_status(0);
    rom_printf("read-back count+status: status & 0x7f = 0x%02x, then status alone 0x%02x %s\n", st & 0x7F,
               st_again & 0x7F, rom_verdict((st & 0x7F) == 0x34 && (st_again & 0x7F) == 0x34));

    /* Lobyte-only access (RW = 1) on channel 2, mode 0: status shows rw=1. */
    outb(PORT_61, (uint8_t)(inb(PORT_61) & ~0x03));
    outb(PIT_CMD, 0x90);                /* ch2, lobyte, mode 0 */
    outb(PIT_CH2, 0xFF);
    st = readback_status(2);
    rom_printf("ch2 lobyte mode 0: status & 0x3f = 0x%02x %s\n", st & 0x3F, rom_verdict((st & 0x3F) == 0x10));

    /*
     * Calibration loop: gate off, ch2 mode 0 with 59659 (50 ms), gate on,
     * poll port 0x61 bit 5 (OUT2). OUT2 may be seen late (the host), never early.
     */
    uint64_t t0 = rdtsc();
    outb(PORT_61, (uint8_t)(inb(PORT_61) & ~0x03));     /* gate 2 off, speaker off */
    pit_program(2, 0, 59659);
    uint8_t p61 = inb(PORT_61);
    st = readback_status(2);
    outb(PORT_61, (uint8_t)((inb(PORT_61) & ~0x02) | 0x01));   /* gate 2 on */
    uint32_t i;
    for (i = 0; i < SPINS; i++)
        if (inb(PORT_61) & 0x20)
            break;
    uint64_t elapsed_us = (rdtsc() - t0) * 1000000 / tsc_hz;
    rom_printf("ch2 mode 0 programmed: OUT2 (0x61 bit 5) low %s\n", rom_verdict((p61 & 0x20) == 0));
    rom_printf("ch2 status & 0x3f = 0x%02x, OUT low %s\n", st & 0x3F, rom_verdict((st & 0xBF) == 0x30));
    rom_printf("ch2 gate on: OUT2 went high %s\n", rom_verdict(i < SPINS));
    rom_printf("ch2 50 ms one-shot: OUT2 not high before 45 ms of TSC time %s\n", rom_verdict(elapsed_us >= 45000));
    st = readback_status(2);
    rom_printf("ch2 status after terminal count: OUT bit set %s\n", rom_verdict((st & 0x80) != 0));
    uint8_t still = inb(PORT_61) & 0x20;
    rom_printf("ch2 mode 0 OUT stays high %s\n", rom_verdict(still != 0));
    outb(PORT_61, (uint8_t)(inb(PORT_61) & ~0x03));
    outb(PIC1_DATA, 0xFF);
    rom_done();
}
