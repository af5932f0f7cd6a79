/*
 * Interrupt support for the device ROMs: IDT gates for vectors 32-255 that
 * count each delivery and call an optional handler, and small accessors for
 * the PC's interrupt controllers and timers (8259A PIC pair, 8254 PIT, local
 * APIC, I/O APIC, CMOS). Every ROM programs what it uses itself.
 *
 *   irq_init();                        // gates for 32-255 (not 0x80)
 *   irq_handler[vec] = fn;             // optional: runs with IF = 0, before any EOI
 *   sti(); ... irq_count[vec] ...      // deliveries so far
 */
#ifndef CR3_ROM_IRQ_H
#define CR3_ROM_IRQ_H

#include "runtime.h"

void irq_init(void);
typedef void (*irq_fn)(unsigned vector);
extern irq_fn irq_handler[256];
extern volatile uint32_t irq_count[256];
/* The first IRQ_LOG_SIZE vectors delivered since irq_log_reset(). */
#define IRQ_LOG_SIZE 32
extern volatile uint8_t irq_log[IRQ_LOG_SIZE];
extern volatile uint32_t irq_log_len;
void irq_log_reset(void);
/* Clears every counter and the log. */
void irq_reset_counts(void);

static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
/* STI's one-instruction shadow makes "sti; hlt" wait without losing a wake-up. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
static inline void io_delay(void) { outb(0x80, 0); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t read_rflags(void) { uint64_t v; __asm__ volatile("pushfq; popq %0" : "=r"(v)); return v; }

/* ---- 8259A PIC pair (8259A datasheet: ICW1-4, OCW1-3) ---- */
#define PIC1_CMD    0x20
#define PIC1_DATA   0x21
#define PIC2_CMD    0xA0
#define PIC2_DATA   0xA1
/* ICW1-4: edge triggered, cascade on IRQ2, 8086 mode, normal EOI; then masks. */
void pic_remap(uint8_t base1, uint8_t base2, uint8_t mask1, uint8_t mask2);
static inline uint8_t pic1_irr(void) { outb(PIC1_CMD, 0x0A); return inb(PIC1_CMD); }
static inline uint8_t pic1_isr(void) { outb(PIC1_CMD, 0x0B); return inb(PIC1_CMD); }
static inline uint8_t pic2_irr(void) { outb(PIC2_CMD, 0x0A); return inb(PIC2_CMD); }
static inline uint8_t pic2_isr(void) { outb(PIC2_CMD, 0x0B); return inb(PIC2_CMD); }
static inline void pic1_eoi(void) { outb(PIC1_CMD, 0x20); }
static inline void pic2_eoi(void) { outb(PIC2_CMD, 0x20); }

/* ---- 8254 PIT (1.193182 MHz input) ---- */
#define PIT_HZ      1193182u
#define PIT_CH0     0x40
#define PIT_CH2     0x42
#define PIT_CMD     0x43
#define PORT_61     0x61
/* Channel ch (0-2), mode 0-5, lobyte/hibyte access, binary count. */
void pit_program(unsigned ch, unsigned mode, uint16_t count);
/* Counter latch command, then low and high byte. */
uint16_t pit_latch(unsigned ch);

/* ---- local APIC (xAPIC MMIO; SDM Vol. 3A chapter 11) ---- */
#define LAPIC_BASE      0xFEE00000UL
#define LAPIC_ID        0x020
#define LAPIC_VERSION   0x030
#define LAPIC_TPR       0x080
#define LAPIC_PPR       0x0A0
#define LAPIC_EOI       0x0B0
#define LAPIC_LDR       0x0D0
#define LAPIC_DFR       0x0E0
#define LAPIC_SVR       0x0F0
#define LAPIC_ISR       0x100
#define LAPIC_TMR       0x180
#define LAPIC_IRR       0x200
#define LAPIC_ESR       0x280
#define LAPIC_ICR_LO    0x300
#define LAPIC_ICR_HI    0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_ICR 0x380
#define LAPIC_TIMER_CCR 0x390
#define LAPIC_TIMER_DCR 0x3E0
#define LVT_MASKED      0x10000u
static inline uint32_t lapic_read(unsigned reg) { return *(volatile uint32_t *)(LAPIC_BASE + reg); }
static inline void lapic_write(unsigned reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }
static inline void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }
/* Bit vec of the 256-bit ISR/TMR/IRR register that starts at reg. */
static inline int lapic_bit(unsigned reg, unsigned vec) { return (lapic_read(reg + (vec / 32) * 16) >> (vec % 32)) & 1; }

/* ---- I/O APIC (82093AA datasheet) ---- */
#define IOAPIC_BASE     0xFEC00000UL
static inline uint32_t ioapic_read(unsigned reg)
{
    *(volatile uint32_t *)IOAPIC_BASE = reg;
    return *(volatile uint32_t *)(IOAPIC_BASE + 0x10);
}
static inline void ioapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)IOAPIC_BASE = reg;
    *(volatile uint32_t *)(IOAPIC_BASE + 0x10) = v;
}
/* Redirection entry of pin: low dword (vector, modes, mask), high dword (destination). */
static inline uint32_t ioapic_redir_lo(unsigned pin) { return ioapic_read(0x10 + 2 * pin); }
static inline uint32_t ioapic_redir_hi(unsigned pin) { return ioapic_read(0x11 + 2 * pin); }
static inline void ioapic_redir(unsigned pin, uint32_t lo, uint32_t hi)
{
    ioapic_write(0x10 + 2 * pin, lo | LVT_MASKED); /* masked while the halves disagree */
    ioapic_write(0x11 + 2 * pin, hi);
    ioapic_write(0x10 + 2 * pin, lo);
}

/* ---- CMOS / RTC (MC146818) at 0x70/0x71; bit 7 of the index is NMI disable ---- */
static inline uint8_t cmos_read(uint8_t reg) { outb(0x70, reg); return inb(0x71); }
static inline void cmos_write(uint8_t reg, uint8_t v) { outb(0x70, reg); outb(0x71, v); }

/* Waits (STI; HLT) until irq_count[vec] reaches n or max_wakeups wake-ups pass; returns the count. */
uint32_t irq_wait(unsigned vec, uint32_t n, uint32_t max_wakeups);
/* Busy-waits with IF as it is, at most spins iterations, until irq_count[vec] >= n. */
uint32_t irq_spin(unsigned vec, uint32_t n, uint32_t spins);

/*
 * Timing that survives a host that deschedules QEMU: a rate is measured by
 * reading a counter back to back with PIT channel 2's latched count at the
 * start and at the end of a window, so a late wake-up stretches both alike.
 * Channel 2 runs in mode 0 from 0xFFFF (55 ms) with its gate on (port 0x61).
 */
/* Counts per second of the increasing counter `sample`, over about ms (<= 40) ms; median of three. */
uint64_t rate_per_sec(uint64_t (*sample)(void), unsigned ms);
uint64_t tsc_sample(void);
/*
 * Deliveries of vector vec during the next `ticks` TSC ticks, waiting in
 * STI; HLT (so QEMU's timers run while the vCPU sleeps); the source must keep
 * interrupting. A delivery that wakes the CPU after the window is not counted.
 */
uint32_t irqs_in_window(unsigned vec, uint64_t ticks);

/* "ok" when measured lies within want * (1 +- pct/100). */
int within(uint64_t measured, uint64_t want, unsigned pct);

#endif
