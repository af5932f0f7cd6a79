/* IDT gates for vectors 32-255, the common dispatcher, and controller helpers (irq.h). */
#include "irq.h"

extern const uint64_t rom_irq_stubs[224];      /* irq_stubs.S: vectors 32..255 */

irq_fn irq_handler[256];
volatile uint32_t irq_count[256];
volatile uint8_t irq_log[IRQ_LOG_SIZE];
volatile uint32_t irq_log_len;

struct irq_idtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

void irq_init(void)
{
    /* The runtime's IDT (runtime.c) has room for 256 gates; fill 32-255 in place. */
    struct irq_idtr idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    volatile uint32_t *idt = (volatile uint32_t *)idtr.base;
    for (unsigned v = 32; v < 256; v++) {
        if (v == VEC_USER_RETURN)
            continue;
        uint64_t h = rom_irq_stubs[v - 32];
        volatile uint32_t *g = idt + v * 4;    /* 16-byte 64-bit interrupt gate, DPL 0 */
        g[0] = (uint32_t)(h & 0xffff) | ((uint32_t)SEL_KCODE << 16);
        g[1] = (uint32_t)(h & 0xffff0000) | 0x8E00;
        g[2] = (uint32_t)(h >> 32);
        g[3] = 0;
    }
}

void irq_log_reset(void)
{
    irq_log_len = 0;
}

void irq_reset_counts(void)
{
    for (unsigned v = 0; v < 256; v++)
        irq_count[v] = 0;
    irq_log_len = 0;
}

void rom_irq_dispatch(uint64_t vector);

void rom_irq_dispatch(uint64_t vector)
{
    unsigned v = (unsigned)vector & 0xff;
    irq_count[v]++;
    if (irq_log_len < IRQ_LOG_SIZE)
        irq_log[irq_log_len] = (uint8_t)v;
    irq_log_len++;
    if (irq_handler[v])
        irq_handler[v](v);
}

void pic_remap(uint8_t base1, uint8_t base2, uint8_t mask1, uint8_t mask2)
{
    outb(PIC1_CMD, 0x11);               /* ICW1: edge, cascade, ICW4 follows */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, base1);             /* ICW2: vector base */
    outb(PIC2_DATA, base2);
    outb(PIC1_DATA, 0x04);              /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 0x02);              /*       slave identity 2 */
    outb(PIC1_DATA, 0x01);              /* ICW4: 8086 mode, normal EOI */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, mask1);             /* OCW1 */
    outb(PIC2_DATA, mask2);
}

void pit_program(unsigned ch, unsigned mode, uint16_t count)
{
    outb(PIT_CMD, (uint8_t)((ch << 6) | 0x30 | (mode << 1)));
    outb((uint16_t)(PIT_CH0 + ch), (uint8_t)count);
    outb((uint16_t)(PIT_CH0 + ch), (uint8_t)(count >> 8));
}

uint16_t pit_latch(unsigned ch)
{
    outb(PIT_CMD, (uint8_t)(ch << 6));  /* counter latch command */
    uint8_t lo = inb((uint16_t)(PIT_CH0 + ch));
    uint8_t hi = inb((uint16_t)(PIT_CH0 + ch));
    return (uint16_t)(lo | hi << 8);
}

uint32_t irq_wait(unsigned vec, uint32_t n, uint32_t max_wakeups)
{
    for (uint32_t i = 0; i < max_wakeups && irq_count[vec] < n; i++) {
        sti_hlt();
        cli();
    }
    return irq_count[vec];
}

uint32_t irq_spin(unsigned vec, uint32_t n, uint32_t spins)
{
    for (uint32_t i = 0; i < spins && irq_count[vec] < n; i++)
        __asm__ volatile("pause" : : : "memory");
    return irq_count[vec];
}

int within(uint64_t measured, uint64_t want, unsigned pct)
{
    uint64_t lo = want * (100 - pct) / 100, hi = want * (100 + pct) / 100;
    return measured >= lo && measured <= hi;
}

/* One measurement: 0 if channel 2 ran out (a very late wake-up) and it must be repeated. */
static int rate_once(uint64_t (*sample)(void), unsigned ms, uint64_t *rate)
{
    uint32_t span = PIT_HZ / 1000 * ms;
    outb(PORT_61, (uint8_t)(inb(PORT_61) & ~0x03));     /* gate off, speaker off */
    pit_program(2, 0, 0xFFFF);
    outb(PORT_61, (uint8_t)((inb(PORT_61) & ~0x02) | 0x01));
    uint16_t c0 = pit_latch(2);
    uint64_t s0 = sample();
    uint16_t c1 = c0;
    while ((uint32_t)(c0 - c1) < span && !(inb(PORT_61) & 0x20))
        c1 = pit_latch(2);
    c1 = pit_latch(2);
    uint64_t s1 = sample();
    if ((inb(PORT_61) & 0x20) || c1 >= c0)             /* OUT2 high: the count wrapped */
        return 0;
    *rate = (s1 - s0) * PIT_HZ / (uint32_t)(c0 - c1);
    return 1;
}

uint64_t rate_per_sec(uint64_t (*sample)(void), unsigned ms)
{
    uint64_t r[3] = {0, 0, 0};
    for (int i = 0, tries = 0; i < 3 && tries < 20; tries++)
        if (rate_once(sample, ms, &r[i]))
            i++;
    /* median of three */
    uint64_t a = r[0], b = r[1], c = r[2];
    if (a > b) { uint64_t t = a; a = b; b = t; }
    if (b > c) { uint64_t t = b; b = c; c = t; }
    if (a > b) { uint64_t t = a; a = b; b = t; }
    return b;
}

uint64_t tsc_sample(void) { return rdtsc(); }

uint32_t irqs_in_window(unsigned vec, uint64_t ticks)
{
    uint64_t end = rdtsc() + ticks;
    uint32_t n0 = irq_count[vec], counted = n0;
    for (uint32_t i = 0; i < 10000000; i++) {
        sti_hlt();
        cli();
        if (rdtsc() >= end)
            break;
        counted = irq_count[vec];
    }
    return counted - n0;
}
