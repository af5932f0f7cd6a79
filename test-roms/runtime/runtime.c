/* Serial output, exit, GDT/TSS/IDT setup and the exception handler. */
#include "runtime.h"

#define COM1        0x3F8
#define EXIT_PORT   0xF4

/* ---- serial (16550 UART on COM1) ---- */

static void serial_init(void)
{
    outb(COM1 + 1, 0x00);               /* IER: no interrupts */
    outb(COM1 + 3, 0x80);               /* LCR: DLAB = 1 */
    outb(COM1 + 0, 0x01);               /* divisor 1 = 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);               /* LCR: 8N1, DLAB = 0 */
    outb(COM1 + 2, 0xC7);               /* FCR: FIFO on, clear both, 14-byte trigger */
    outb(COM1 + 4, 0x03);               /* MCR: DTR | RTS, OUT2 off */
}

void rom_putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20))     /* LSR bit 5: THR empty */
        ;
    outb(COM1, (uint8_t)c);
}

void rom_puts(const char *s)
{
    while (*s)
        rom_putc(*s++);
}

static void put_num(uint64_t v, unsigned base, int width, char pad)
{
    char buf[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (width > n) {
        rom_putc(pad);
        width--;
    }
    while (n)
        rom_putc(buf[--n]);
}

void rom_put_hex(uint64_t v, int width) { put_num(v, 16, width, '0'); }
void rom_put_dec(uint64_t v) { put_num(v, 10, 0, ' '); }

void rom_printf(const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            rom_putc(*fmt);
            continue;
        }
        char pad = ' ';
        int width = 0, longs = 0;
        fmt++;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = __builtin_va_arg(ap, const char *);
            int len = 0;
            while (s[len])
                len++;
            for (; width > len; width--)
                rom_putc(' ');
            rom_puts(s);
            break;
        }
        case 'c':
            rom_putc((char)__builtin_va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = longs ? __builtin_va_arg(ap, int64_t) : __builtin_va_arg(ap, int);
            if (v < 0) {
                rom_putc('-');
                v = -v;
            }
            put_num((uint64_t)v, 10, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = longs ? __builtin_va_arg(ap, uint64_t) : __builtin_va_arg(ap, unsigned);
            put_num(v, *fmt == 'x' ? 16 : 10, width, pad);
            break;
        }
        case 'p':
            rom_puts("0x");
            put_num((uint64_t)__builtin_va_arg(ap, void *), 16, 16, '0');
            break;
        case '%':
            rom_putc('%');
            break;
        default:                        /* unknown: print it as is */
            rom_putc('%');
            if (!*fmt)
                goto out;
            rom_putc(*fmt);
            break;
        }
    }
out:
    __builtin_va_end(ap);
}

/* ---- exit and verdicts ---- */

void rom_exit(int code)
{
    /*
     * Let COM1 drain first: with FIFOs on, QEMU transmits from the FIFO after
     * the write returns, and bytes still queued when isa-debug-exit stops the
     * machine are lost. LSR bit 6 (TEMT) says FIFO and shift register are empty.
     */
    for (int i = 0; i < 1000000 && (inb(COM1 + 5) & 0x40) == 0; i++)
        __asm__ volatile("pause");
    outb(EXIT_PORT, (uint8_t)code);     /* isa-debug-exit: QEMU exits with code << 1 | 1 */
    for (;;)
        __asm__ volatile("cli; hlt");
}

int rom_failures;

const char *rom_verdict(int ok)
{
    if (!ok)
        rom_failures++;
    return ok ? "ok" : "FAIL";
}

void rom_done(void)
{
    rom_puts("cr3-rom done\n");
    rom_exit(rom_failures ? 1 : 0);
}

/* ---- GDT, TSS, IDT ---- */

/* 64-bit TSS (SDM Vol. 3A, "Task Management in 64-bit Mode"). */
struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
} __attribute__((packed));

struct desc_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern uint64_t rom_gdt[7];             /* boot.S; entries 5-6 are the TSS descriptor */
extern const uint64_t rom_trap_stubs[33];

static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t rsp0_stack[16384] __attribute__((aligned(16)));
static uint8_t ist1_stack[8192] __attribute__((aligned(16)));

static void set_gate(unsigned vec, uint64_t handler, unsigned ist, unsigned dpl)
{
    struct idt_gate *g = &idt[vec];
    g->offset_lo = (uint16_t)handler;
    g->selector = SEL_KCODE;
    g->ist = (uint8_t)ist;
    g->type_attr = (uint8_t)(0x8E | (dpl << 5));   /* present, 64-bit interrupt gate */
    g->offset_mid = (uint16_t)(handler >> 16);
    g->offset_hi = (uint32_t)(handler >> 32);
    g->reserved = 0;
}

void rom_runtime_init(void)
{
    serial_init();

    tss.rsp[0] = (uint64_t)(rsp0_stack + sizeof rsp0_stack);
    tss.ist[0] = (uint64_t)(ist1_stack + sizeof ist1_stack);
    tss.iomap_base = sizeof tss;        /* no I/O bitmap */

    /* 16-byte descriptor, type 9 = available 64-bit TSS (SDM "TSS Descriptor in 64-bit mode"). */
    uint64_t base = (uint64_t)&tss, limit = sizeof tss - 1;
    rom_gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
                 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    rom_gdt[6] = base >> 32;

    struct desc_ptr gdtr = { sizeof rom_gdt - 1, (uint64_t)rom_gdt };
    __asm__ volatile("lgdt %0" : : "m"(gdtr) : "memory");
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));

    for (unsigned v = 0; v < 32; v++)
        set_gate(v, rom_trap_stubs[v], v == 8 ? 1 : 0, 0);      /* #DF on IST1 */
    set_gate(VEC_USER_RETURN, rom_trap_stubs[32], 0, 3);

    struct desc_ptr idtr = { sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

/* ---- exceptions ---- */

struct rom_rec {                        /* traps.S knows these offsets */
    uint64_t active;
    uint64_t user;
    uint64_t rsp;
    struct rom_fault *fault;
};
extern struct rom_rec rom_rec;
extern const char rom_try_resume[];

void rom_trap(struct rom_frame *fr);

void rom_trap(struct rom_frame *fr)
{
    uint64_t cr2 = fr->vector == 14 ? read_cr2() : 0;

    if (rom_rec.active) {
        uint64_t result = 1;
        if (fr->vector == VEC_USER_RETURN && rom_rec.user && (fr->cs & 3) == 3) {
            result = 0;                 /* the user function returned */
        } else {
            rom_rec.fault->vector = fr->vector;
            rom_rec.fault->error = fr->error;
            rom_rec.fault->cr2 = cr2;
            rom_rec.fault->rip = fr->rip;
        }
        rom_rec.active = 0;
        /* "longjmp": IRETQ to rom_try_resume at CPL0 on the saved stack. */
        fr->rip = (uint64_t)rom_try_resume;
        fr->cs = SEL_KCODE;
        fr->rflags = 0x2;
        fr->rsp = rom_rec.rsp;
        fr->ss = SEL_KDATA;
        fr->rax = result;
        return;
    }

    rom_printf("unexpected exception vector=0x%lx error=0x%lx rip=0x%lx cr2=0x%lx\n",
               fr->vector, fr->error, fr->rip, cr2);
    rom_exit(1);
}

/* Prints a stringized asm template readably: no quotes, %% as %, \n\t as "; ". */
void rom_puts_asm(const char *t)
{
    for (; *t; t++) {
        if (*t == '"')
            continue;
        if (t[0] == '%' && t[1] == '%')
            t++;
        else if (t[0] == '\\' && t[1] == 'n') {
            rom_puts("; ");
            t += (t[2] == '\\' && t[3] == 't') ? 3 : 1;
            continue;
        }
        rom_putc(*t);
    }
}
