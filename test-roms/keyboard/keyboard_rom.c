/*
 * ROM "keyboard": the 8042 controller and its PS/2 keyboard as a kernel's
 * driver initialises them: controller self test and interface tests, the
 * configuration byte, then keyboard commands (reset, identify, scancode set,
 * echo, LEDs, typematic, enable) and their replies, and IRQ1 through the
 * PIC. No keystrokes: QEMU cannot be fed keys deterministically here.
 */
#include "irq.h"

#define KBC_DATA    0x60
#define KBC_STATUS  0x64
#define KBC_CMD     0x64
#define ST_OBF      0x01
#define ST_IBF      0x02
#define ST_SYS      0x04
#define ST_AUX      0x20
#define VEC_KBD     0x21
#define SPINS       2000000u

static volatile uint8_t irq_data, irq_bytes[8];
static volatile unsigned irq_nbytes;

static void on_kbd(unsigned v)
{
    (void)v;
    irq_data = inb(KBC_DATA);
    if (irq_nbytes < sizeof irq_bytes)
        irq_bytes[irq_nbytes] = irq_data;
    irq_nbytes++;
    pic1_eoi();
}

static void wait_write(void)
{
    for (uint32_t i = 0; i < SPINS && (inb(KBC_STATUS) & ST_IBF); i++)
        ;
}
static void kbc_cmd(uint8_t c) { wait_write(); outb(KBC_CMD, c); }
static void kbc_data(uint8_t d) { wait_write(); outb(KBC_DATA, d); }

/* The next output byte, or -1 when none comes. */
static int kbc_read(void)
{
    for (uint32_t i = 0; i < SPINS; i++)
        if (inb(KBC_STATUS) & ST_OBF)
            return inb(KBC_DATA);
    return -1;
}

static void flush(void)
{
    for (int i = 0; i < 32 && (inb(KBC_STATUS) & ST_OBF); i++) {
        inb(KBC_DATA);
        for (volatile int k = 0; k < 1000; k++)
            ;
    }
}

/* Sends keyboard command bytes, then reads `want_n` replies into r; prints and checks them. */
static void kbd_case(const char *name, const uint8_t *cmd, int cmd_n, const int *want, int want_n)
{
    int r[4];
    int ok = 1;
    rom_printf("kbd %s:", name);
    for (int i = 0; i < cmd_n; i++)
        rom_printf(" %02x", cmd[i]);
    rom_printf(" ->");
    int got = 0;
    for (int i = 0; i < cmd_n; i++) {
        kbc_data(cmd[i]);
        if (i + 1 < cmd_n) {            /* a multi-byte command: each byte is ACKed */
            r[got] = kbc_read();
            got++;
        }
    }
    while (got < want_n) {
        r[got] = kbc_read();
        got++;
    }
    for (int i = 0; i < want_n; i++) {
        if (r[i] < 0)
            rom_printf(" none");
        else
            rom_printf(" %02x", r[i]);
        ok &= r[i] == want[i];
    }
    int extra = kbc_read();
    if (extra >= 0)
        rom_printf(" extra %02x", extra);
    rom_printf(" %s\n", rom_verdict(ok && extra < 0));
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom keyboard\n");
    irq_init();
    irq_handler[VEC_KBD] = on_kbd;
    pic_remap(0x20, 0x28, 0xFF, 0xFF);

    /* Disable both ports, flush, then a known configuration: no IRQs, no translation. */
    kbc_cmd(0xAD);
    kbc_cmd(0xA7);
    flush();
    kbc_cmd(0x60);
    kbc_data(0x30);                     /* both clocks disabled, IRQs off, XLAT off */
    kbc_cmd(0x20);
    int cfg = kbc_read();
    rom_printf("config write 0x30 reads 0x%02x %s\n", cfg, rom_verdict(cfg == 0x30));

    kbc_cmd(0xAA);
    int st = kbc_read();
    rom_printf("controller self test: 0x%02x %s\n", st, rom_verdict(st == 0x55));
    uint8_t status = inb(KBC_STATUS);
    rom_printf("status system flag=%u obf=%u %s\n", (status & ST_SYS) ? 1u : 0u, status & ST_OBF,
               rom_verdict((status & ST_SYS) && !(status & ST_OBF)));
    kbc_cmd(0x60);                      /* the self test may reset the configuration: set it again */
    kbc_data(0x30);
    kbc_cmd(0xAB);
    int it = kbc_read();
    rom_printf("keyboard interface test: 0x%02x %s\n", it, rom_verdict(it == 0x00));
    kbc_cmd(0xA9);
    int at = kbc_read();
    rom_printf("aux interface test: 0x%02x %s\n", at, rom_verdict(at == 0x00));

    /* 0xD2: the controller writes a byte to its output buffer as if from the keyboard. */
    kbc_cmd(0xD2);
    kbc_data(0x5A);
    int echo = kbc_read();
    rom_printf("write keyboard output buffer (0xd2 0x5a): 0x%02x %s\n", echo, rom_verdict(echo == 0x5A));

    /* Enable the keyboard port (0xAE), IRQs still off. */
    kbc_cmd(0xAE);
    kbc_cmd(0x20);
    cfg = kbc_read();
    rom_printf("after 0xae: config 0x%02x (keyboard clock enabled) %s\n", cfg, rom_verdict(cfg == 0x20));

    static const uint8_t reset[] = {0xFF}, ident[] = {0xF2}, getset[] = {0xF0, 0x00}, set1[] = {0xF0, 0x01},
                         echo_c[] = {0xEE}, leds[] = {0xED, 0x07}, leds0[] = {0xED, 0x00},
                         typem[] = {0xF3, 0x20}, enable[] = {0xF4}, disable[] = {0xF5}, set2[] = {0xF0, 0x02};
    static const int w_reset[] = {0xFA, 0xAA}, w_ident[] = {0xFA, 0xAB, 0x83}, w_get2[] = {0xFA, 0xFA, 0x02},
                     w_ack2[] = {0xFA, 0xFA}, w_get1[] = {0xFA, 0xFA, 0x01}, w_echo[] = {0xEE}, w_ack[] = {0xFA};
    kbd_case("reset", reset, 1, w_reset, 2);
    kbd_case("identify", ident, 1, w_ident, 3);
    kbd_case("get scancode set", getset, 2, w_get2, 3);
    kbd_case("set scancode set 1", set1, 2, w_ack2, 2);
    kbd_case("get scancode set", getset, 2, w_get1, 3);
    kbd_case("set scancode set 2", set2, 2, w_ack2, 2);
    kbd_case("echo", echo_c, 1, w_echo, 1);
    kbd_case("leds on", leds, 2, w_ack2, 2);
    kbd_case("leds off", leds0, 2, w_ack2, 2);
    kbd_case("typematic", typem, 2, w_ack2, 2);
    kbd_case("disable scanning", disable, 1, w_ack, 1);
    kbd_case("enable scanning", enable, 1, w_ack, 1);

    /* IRQ1: configuration bit 0; the echo reply interrupts through the PIC. */
    kbc_cmd(0x60);
    kbc_data(0x01);                     /* keyboard IRQ on, clocks on, no translation */
    outb(PIC1_DATA, 0xFD);
    irq_data = 0;
    kbc_data(0xEE);
    uint32_t n = irq_wait(VEC_KBD, 1, 1000000);
    rom_printf("irq1 on echo: delivered=%u data=0x%02x %s\n", n, irq_data, rom_verdict(n == 1 && irq_data == 0xEE));
    irq_nbytes = 0;
    kbc_data(0xF2);
    n = irq_wait(VEC_KBD, 4, 1000000);
    rom_printf("irq1 per byte of identify: interrupts=%u bytes 0x%02x 0x%02x 0x%02x %s\n", n - 1, irq_bytes[0],
               irq_bytes[1], irq_bytes[2],
               rom_verdict(n == 4 && irq_nbytes == 3 && irq_bytes[0] == 0xFA && irq_bytes[1] == 0xAB &&
                           irq_bytes[2] == 0x83));
    outb(PIC1_DATA, 0xFF);
    kbc_cmd(0x60);
    kbc_data(0x00);
    rom_done();
}
