/*
 * The local APIC (SDM Vol. 3A chapter 11) at its reset address 0xFEE00000,
 * reached through the direct map. Its timer interrupts the running process
 * periodically on vector VEC_TIMER. The period is a fixed count, not
 * calibrated: nothing the tour prints depends on how often it fires.
 */
#include "kernel.h"

#define LAPIC_PHYS      0xFEE00000
#define LAPIC_EOI       0x0B0
#define LAPIC_SVR       0x0F0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_INITIAL   0x380
#define LAPIC_DIVIDE    0x3E0
#define TIMER_PERIODIC  (1u << 17)
#define TIMER_COUNT     200000

static volatile uint32_t *reg(uint32_t offset) { return phys_to_virt(LAPIC_PHYS + offset); }

void lapic_init(void)
{
    /* The 8259s are not used: mask every line. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    *reg(LAPIC_SVR) = 0x100 | VEC_SPURIOUS;             /* software enable */
    *reg(LAPIC_DIVIDE) = 0x3;                           /* divide by 16 */
    *reg(LAPIC_LVT_TIMER) = TIMER_PERIODIC | VEC_TIMER;
    *reg(LAPIC_INITIAL) = TIMER_COUNT;
}

void lapic_eoi(void) { *reg(LAPIC_EOI) = 0; }
