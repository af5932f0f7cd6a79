/*
 * Output: every message goes to COM1 (a 16550 at 0x3F8, polled) and to the
 * VGA text screen at physical 0xB8000 (80x25 cells of character + attribute).
 * The screen's top rows are a status board, a title and one line per
 * process slot (console_status, kept up to date by proc.c); the rows below
 * them are the log, which scrolls up a line when full. panic() and power_off() end the run
 * through QEMU's isa-debug-exit device at port 0xF4: the emulator exits with
 * status (value << 1) | 1.
 */
#include "kernel.h"

#define COM1 0x3F8
#define DEBUG_EXIT_PORT 0xF4
#define VGA_COLS 80
#define VGA_ROWS 25
#define VGA_ATTR 0x07                   /* light grey on black */
#define TITLE_ATTR 0x1F                 /* white on blue */
#define LOG_TOP (1 + STATUS_ROWS)       /* the title, the status lines, then the log */

static volatile uint16_t *vga;
static unsigned vga_col, vga_row;
/* Column heads over the status lines (proc.c's show() writes them in these columns). */
static const char title[] = "  pid  program   state       faults  frames  copies   cr3-tour";

void console_init(void)
{
    outb(COM1 + 1, 0x00);               /* no interrupts */
    outb(COM1 + 3, 0x80);               /* DLAB on: set the divisor */
    outb(COM1 + 0, 0x01);               /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);               /* 8 bits, no parity, 1 stop bit */
    outb(COM1 + 2, 0xC7);               /* FIFOs on and cleared */
    outb(COM1 + 4, 0x03);               /* DTR, RTS */
}

/* Called once the direct map exists (vm_init): from then on messages also appear on screen. */
void console_enable_vga(void)
{
    vga = phys_to_virt(0xB8000);
    for (unsigned i = 0; i < VGA_COLS * VGA_ROWS; i++)
        vga[i] = (uint16_t)((i < VGA_COLS ? TITLE_ATTR : VGA_ATTR) << 8 | (i < sizeof title - 1 ? title[i] : ' '));
    vga_col = 0;
    vga_row = LOG_TOP;
}

static void serial_putc(char c)
{
    for (unsigned spins = 0; spins < 100000 && !(inb(COM1 + 5) & 0x20); spins++)
        ;                               /* LSR bit 5: transmit holding register empty */
    outb(COM1, (uint8_t)c);
}

static void vga_newline(void)
{
    vga_col = 0;
    if (++vga_row < VGA_ROWS)
        return;
    for (unsigned i = VGA_COLS * LOG_TOP; i < VGA_COLS * (VGA_ROWS - 1); i++)
        vga[i] = vga[i + VGA_COLS];
    for (unsigned i = 0; i < VGA_COLS; i++)
        vga[VGA_COLS * (VGA_ROWS - 1) + i] = VGA_ATTR << 8 | ' ';
    vga_row = VGA_ROWS - 1;
}

static void vga_putc(char c)
{
    if (!vga)
        return;
    if (c == '\n') {
        vga_newline();
        return;
    }
    if (vga_col == VGA_COLS)
        vga_newline();
    vga[vga_row * VGA_COLS + vga_col++] = (uint16_t)(VGA_ATTR << 8 | (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        serial_putc(s[i]);
        vga_putc(s[i]);
    }
}

/*
 * A small printf: %s %c %d %u %x %lu %ld %lx %p and %%, with an optional 0
 * and width (and '-' to pad %s on the right), sending what it makes to emit.
 */
typedef void emit_fn(const char *s, size_t n);

static void put_number(emit_fn *emit, uint64_t v, unsigned base, bool negative, unsigned width, char pad)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (negative)
        buf[n++] = '-';
    while ((unsigned)n < width && n < (int)sizeof buf)
        buf[n++] = pad;
    while (n > 0)
        emit(&buf[--n], 1);
}

static void vformat(emit_fn *emit, const char *fmt, __builtin_va_list ap)
{
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            emit(p, 1);
            continue;
        }
        p++;
        char pad = ' ';
        unsigned width = 0;
        bool is_long = false, left = false;
        if (*p == '-')
            left = true, p++;
        if (*p == '0')
            pad = '0', p++;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (unsigned)(*p++ - '0');
        if (*p == 'l')
            is_long = true, p++;
        switch (*p) {
        case 's': {
            const char *s = __builtin_va_arg(ap, const char *);
            size_t n = strlen(s);
            emit(s, n);
            for (; left && n < width; n++)
                emit(" ", 1);
            break;
        }
        case 'c': {
            char c = (char)__builtin_va_arg(ap, int);
            emit(&c, 1);
            break;
        }
        case 'd': {
            int64_t v = is_long ? __builtin_va_arg(ap, int64_t) : __builtin_va_arg(ap, int);
            put_number(emit, v < 0 ? (uint64_t)-v : (uint64_t)v, 10, v < 0, width, pad);
            break;
        }
        case 'u':
            put_number(emit, is_long ? __builtin_va_arg(ap, uint64_t) : __builtin_va_arg(ap, unsigned), 10, false, width, pad);
            break;
        case 'x':
            put_number(emit, is_long ? __builtin_va_arg(ap, uint64_t) : __builtin_va_arg(ap, unsigned), 16, false, width, pad);
            break;
        case 'p':
            emit("0x", 2);
            put_number(emit, __builtin_va_arg(ap, uint64_t), 16, false, width, pad);
            break;
        case '%':
            emit("%", 1);
            break;
        default:
            emit("?", 1);
            break;
        }
    }
}

void kprintf(const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    vformat(console_write, fmt, ap);
    __builtin_va_end(ap);
}

/* One status line: row 1 + line of the screen, attribute attr, cut at 80 columns. */
static volatile uint16_t *status_cell;
static unsigned status_left;
static uint8_t status_attr;

static void status_emit(const char *s, size_t n)
{
    for (size_t i = 0; i < n && status_left > 0; i++, status_left--)
        *status_cell++ = (uint16_t)(status_attr << 8 | (uint8_t)s[i]);
}

void console_status(unsigned line, uint8_t attr, const char *fmt, ...)
{
    if (!vga || line >= STATUS_ROWS)
        return;
    status_cell = vga + (1 + line) * VGA_COLS;
    status_left = VGA_COLS;
    status_attr = attr;
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    vformat(status_emit, fmt, ap);
    __builtin_va_end(ap);
    while (status_left > 0)
        status_emit(" ", 1);
}

_Noreturn void power_off(uint32_t code)
{
    cli();
    outl(DEBUG_EXIT_PORT, code);
    for (;;)
        __asm__ volatile("hlt");
}

_Noreturn void panic(const char *fmt, ...)
{
    __builtin_va_list ap;
    kprintf("panic: ");
    __builtin_va_start(ap, fmt);
    vformat(console_write, fmt, ap);
    __builtin_va_end(ap);
    kprintf("\n");
    power_off(2);
}
