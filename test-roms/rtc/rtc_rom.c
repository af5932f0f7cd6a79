/*
 * ROM "rtc": the MC146818 RTC and CMOS at 0x70/0x71. QEMU runs it with
 * -rtc base=2020-01-02T03:04:05 (qemu-args), so the date and the hour and
 * minute are fixed; seconds are never printed. Reads wait for UIP to clear
 * and repeat until two reads agree. Status registers A-D, BCD and binary,
 * 24- and 12-hour modes, setting the time (SET bit) and the rollover at the
 * next update-ended interrupt, the periodic interrupt's rate over a window
 * timed by the TSC (tolerance), the alarm flag, the CMOS memory size
 * bytes for -m 256, and RAM-like bytes (shutdown status).
 */
#include "irq.h"

#define VEC_PIT     0x20
#define VEC_RTC     0x28
#define TOLERANCE   20

#define REG_A 0x0A
#define REG_B 0x0B
#define REG_C 0x0C
#define REG_D 0x0D
#define B_SET   0x80
#define B_PIE   0x40
#define B_AIE   0x20
#define B_UIE   0x10
#define B_DM    0x04                    /* binary */
#define B_24H   0x02

static volatile uint8_t last_c, c_or;

static void on_pit(unsigned v) { (void)v; pic1_eoi(); }
static void on_rtc(unsigned v)
{
    (void)v;
    last_c = cmos_read(REG_C);
    c_or |= last_c;
    pic2_eoi();
    pic1_eoi();
}

struct rtc_time { uint8_t sec, min, hour, wday, mday, mon, year, century; };

static void read_once(struct rtc_time *t)
{
    for (uint32_t i = 0; i < 10000000 && (cmos_read(REG_A) & 0x80); i++)  /* UIP */
        ;
    t->sec = cmos_read(0x00);
    t->min = cmos_read(0x02);
    t->hour = cmos_read(0x04);
    t->wday = cmos_read(0x06);
    t->mday = cmos_read(0x07);
    t->mon = cmos_read(0x08);
    t->year = cmos_read(0x09);
    t->century = cmos_read(0x32);
}

/* Reads until two successive reads agree (an update may fall between). */
static void read_time(struct rtc_time *t)
{
    struct rtc_time u;
    read_once(t);
    for (int i = 0; i < 10; i++) {
        read_once(&u);
        if (u.sec == t->sec && u.min == t->min && u.hour == t->hour && u.mday == t->mday && u.mon == t->mon &&
            u.year == t->year)
            break;
        *t = u;
    }
}

static int bcd_ok(uint8_t v) { return (v & 0x0F) <= 9 && (v >> 4) <= 9; }
static unsigned from_bcd(uint8_t v) { return (v >> 4) * 10u + (v & 0x0F); }

static uint32_t rtc_irqs_in_pit_ticks(uint32_t pit_ticks)
{
    irq_wait(VEC_PIT, irq_count[VEC_PIT] + 1, 100000);
    uint32_t r0 = irq_count[VEC_RTC], p0 = irq_count[VEC_PIT];
    irq_wait(VEC_PIT, p0 + pit_ticks, 10000000);
    return irq_count[VEC_RTC] - r0;
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom rtc\n");
    irq_init();
    irq_handler[VEC_PIT] = on_pit;
    irq_handler[VEC_RTC] = on_rtc;
    pic_remap(0x20, 0x28, 0xFF, 0xFF);

    /* Status registers: A = 32.768 kHz divider, rate 6; B = 24-hour BCD, no interrupts. */
    cmos_write(REG_A, 0x26);
    cmos_write(REG_B, B_24H);
    cmos_read(REG_C);
    uint8_t a = cmos_read(REG_A) & 0x7F, b = cmos_read(REG_B), c = cmos_read(REG_C), d = cmos_read(REG_D);
    rom_printf("status: A&0x7f=0x%02x B=0x%02x C=0x%02x D=0x%02x %s\n", a, b, c, d,
               rom_verdict(a == 0x26 && b == B_24H && c == 0 && d == 0x80));

    /* BCD, 24-hour: the date and hour:minute of -rtc base. */
    struct rtc_time t;
    read_time(&t);
    int valid = bcd_ok(t.sec) && bcd_ok(t.min) && bcd_ok(t.hour) && bcd_ok(t.mday) && bcd_ok(t.mon) && bcd_ok(t.year) &&
                bcd_ok(t.century) && from_bcd(t.sec) < 60;
    rom_printf("bcd 24h: %02x%02x-%02x-%02x %02x:%02x weekday=%u seconds valid bcd %s\n", t.century, t.year, t.mon,
               t.mday, t.hour, t.min, t.wday, rom_verdict(valid));

    /* Binary mode (B bit 2). */
    cmos_write(REG_B, B_24H | B_DM);
    read_time(&t);
    rom_printf("binary 24h: %u%02u-%02u-%02u %02u:%02u seconds<60 %s\n", t.century, t.year, t.mon, t.mday, t.hour,
               t.min, rom_verdict(t.sec < 60 && t.year == 20 && t.mon == 1 && t.mday == 2));

    /* 12-hour mode (B bit 1 clear), BCD: 03 AM reads 0x03, PM bit clear. */
    cmos_write(REG_B, 0);
    read_time(&t);
    rom_printf("bcd 12h: hour=0x%02x %s\n", t.hour, rom_verdict(t.hour == 0x03));
    cmos_write(REG_B, B_24H);

    /* SET: write 2021-12-31 23:59:59 (BCD), release; the next update rolls over to 2022-01-01. */
    cmos_write(REG_B, B_SET | B_24H);
    cmos_write(0x00, 0x59);
    cmos_write(0x02, 0x59);
    cmos_write(0x04, 0x23);
    cmos_write(0x06, 0x06);
    cmos_write(0x07, 0x31);
    cmos_write(0x08, 0x12);
    cmos_write(0x09, 0x21);
    cmos_write(0x32, 0x20);
    cmos_write(0x01, 0x00);             /* alarm 00:00:00: matches at the rollover */
    cmos_write(0x03, 0x00);
    cmos_write(0x05, 0x00);
    read_once(&t);
    rom_printf("set, held: %02x%02x-%02x-%02x %02x:%02x:%02x %s\n", t.century, t.year, t.mon, t.mday, t.hour, t.min,
               t.sec, rom_verdict(t.year == 0x21 && t.mon == 0x12 && t.mday == 0x31 && t.hour == 0x23 && t.sec == 0x59));

    /* Update-ended interrupt (UIE) through the slave PIC: once a second. */
    c_or = 0;
    cmos_read(REG_C);
    cmos_write(REG_B, B_24H | B_UIE);   /* clearing SET starts the clock */
    outb(PIC1_DATA, 0xFB);
    outb(PIC2_DATA, 0xFE);
    uint32_t n = irq_wait(VEC_RTC, 1, 1000000);
    uint8_t flags = last_c;
    read_time(&t);
    rom_printf("update-ended irq: delivered=%u C=0x%02x (IRQF|AF|UF: alarm 00:00:00 matched too) %s\n", n, flags,
               rom_verdict(n == 1 && (flags & 0xF0) == 0xB0));
    rom_printf("rollover: %02x%02x-%02x-%02x %02x:%02x weekday=%u %s\n", t.century, t.year, t.mon, t.mday, t.hour,
               t.min, t.wday, rom_verdict(t.century == 0x20 && t.year == 0x22 && t.mon == 0x01 && t.mday == 0x01 &&
                                          t.hour == 0 && t.min == 0));
    cmos_write(REG_B, B_24H);
    cmos_read(REG_C);

    /* Periodic interrupt at rate 10 (64 Hz) and 12 (16 Hz), counted over 500 ms of TSC time. */
    uint64_t tsc_hz = rate_per_sec(tsc_sample, 30);
    pit_program(0, 2, 1193);
    outb(PIC1_DATA, 0xFA);
    cmos_write(REG_A, 0x2A);
    cmos_write(REG_B, B_24H | B_PIE);
    cmos_read(REG_C);
    c_or = 0;
    irq_wait(VEC_RTC, irq_count[VEC_RTC] + 1, 100000);
    n = irqs_in_window(VEC_RTC, tsc_hz / 2);
    rom_printf("periodic rate 10 (64 Hz), interrupts in 500 ms: within %u%% of 32: %s; C had IRQF|PF: %s\n",
               TOLERANCE, rom_verdict(within(n, 32, TOLERANCE)), rom_verdict((c_or & 0xC0) == 0xC0));
    cmos_write(REG_A, 0x2C);
    irq_wait(VEC_RTC, irq_count[VEC_RTC] + 1, 100000);
    n = irqs_in_window(VEC_RTC, tsc_hz / 2);
    rom_printf("periodic rate 12 (16 Hz), interrupts in 500 ms: within %u%% of 8: %s\n", TOLERANCE,
               rom_verdict(within(n, 8, TOLERANCE)));

    /* PIE off: silence over 50 PIT ticks. */
    cmos_write(REG_A, 0x26);
    cmos_write(REG_B, B_24H);
    cmos_read(REG_C);
    n = rtc_irqs_in_pit_ticks(50);
    rom_printf("periodic off: interrupts in 50 PIT ticks=%u %s\n", n, rom_verdict(n == 0));
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
    pit_program(0, 2, 0);

    /* CMOS memory size bytes, as the firmware's interface defines them, for -m 256. */
    unsigned base = cmos_read(0x15) | cmos_read(0x16) << 8;
    unsigned ext = cmos_read(0x17) | cmos_read(0x18) << 8;
    unsigned ext2 = cmos_read(0x30) | cmos_read(0x31) << 8;
    unsigned above16 = cmos_read(0x34) | cmos_read(0x35) << 8;
    unsigned above4g = cmos_read(0x5B) | cmos_read(0x5C) << 8 | (unsigned)cmos_read(0x5D) << 16;
    rom_printf("memory: base=%u KiB ext(0x17)=%u KiB ext(0x30)=%u KiB above 16M=%u x 64 KiB above 4G=%u %s\n", base,
               ext, ext2, above16, above4g,
               rom_verdict(base == 640 && ext == 0xFFFF && ext2 == 0xFFFF && above16 == (256 - 16) * 16 && above4g == 0));

    /* RAM-like bytes: shutdown status (0x0F) and 0x40; bit 7 of the index (NMI mask) does not change the byte. */
    uint8_t saved = cmos_read(0x0F);
    cmos_write(0x0F, 0xA5);
    uint8_t r1 = cmos_read(0x0F), r2 = cmos_read(0x8F);
    cmos_write(0x0F, 0x5A);
    uint8_t r3 = cmos_read(0x0F);
    cmos_write(0x0F, saved);
    cmos_write(0x40, 0x3C);
    uint8_t r4 = cmos_read(0x40);
    cmos_write(0x40, 0);
    rom_printf("shutdown byte: 0x%02x 0x%02x (nmi-mask index) 0x%02x; byte 0x40: 0x%02x %s\n", r1, r2, r3, r4,
               rom_verdict(r1 == 0xA5 && r2 == 0xA5 && r3 == 0x5A && r4 == 0x3C));
    outb(0x70, 0x0D);                   /* leave NMIs enabled and D selected */
    rom_done();
}
