/* ROM "mmio": the VGA text buffer, COM1's 16550 registers, unclaimed ports and memory. */
#include "runtime.h"

#define VGA_TEXT    0xB8000UL
#define VGA_LEGACY  0xA0000UL
#define COM1        0x3F8
#define UNBACKED    0xC0000000UL
#define NO_PORT     0x1234

/* Explicit-width accesses: the compiler must not merge or split them. */
static inline void st8(uintptr_t a, uint8_t v) { __asm__ volatile("movb %1, (%0)" : : "r"(a), "q"(v) : "memory"); }
static inline void st16(uintptr_t a, uint16_t v) { __asm__ volatile("movw %1, (%0)" : : "r"(a), "r"(v) : "memory"); }
static inline void st32(uintptr_t a, uint32_t v) { __asm__ volatile("movl %1, (%0)" : : "r"(a), "r"(v) : "memory"); }
static inline void st64(uintptr_t a, uint64_t v) { __asm__ volatile("movq %1, (%0)" : : "r"(a), "r"(v) : "memory"); }
static inline uint8_t ld8(uintptr_t a) { uint8_t v; __asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(a) : "memory"); return v; }
static inline uint16_t ld16(uintptr_t a) { uint16_t v; __asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline uint32_t ld32(uintptr_t a) { uint32_t v; __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline uint64_t ld64(uintptr_t a) { uint64_t v; __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

/* Reads the 8 bytes at off with every width and prints them; checks against want. */
static void vga_show(const char *name, unsigned off, uint64_t want)
{
    uintptr_t a = VGA_TEXT + off;
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = ld8(a + i);
    uint64_t bytes = 0;
    for (int i = 7; i >= 0; i--)
        bytes = bytes << 8 | b[i];
    uint16_t w0 = ld16(a), w1 = ld16(a + 2), w2 = ld16(a + 4), w3 = ld16(a + 6);
    uint32_t d0 = ld32(a), d1 = ld32(a + 4);
    uint64_t q = ld64(a);
    int ok = bytes == want && q == want && d0 == (uint32_t)want && d1 == (uint32_t)(want >> 32) &&
             w0 == (uint16_t)want && w1 == (uint16_t)(want >> 16) && w2 == (uint16_t)(want >> 32) &&
             w3 == (uint16_t)(want >> 48);
    rom_printf("vga %s +0x%04x: ld64=0x%016lx ld32=0x%08x,0x%08x ld16=0x%04x,0x%04x,0x%04x,0x%04x ld8=0x%016lx %s\n",
               name, off, q, d0, d1, w0, w1, w2, w3, bytes, rom_verdict(ok));
}

static void vga_cases(void)
{
    /* Mode and memory map as SeaBIOS left them (GR06 bits 3:2 = 3: 0xB8000-0xBFFFF). */
    outb(0x3CE, 0x06);
    uint8_t gr6 = inb(0x3CF);
    rom_printf("vga gr06=0x%02x map=%u %s\n", gr6, (gr6 >> 2) & 3, rom_verdict(((gr6 >> 2) & 3) == 3));

    /* Byte stores: character then attribute, cells 0 and 1. */
    st64(VGA_TEXT, 0);
    st8(VGA_TEXT + 0, 'A');
    st8(VGA_TEXT + 1, 0x1F);
    st8(VGA_TEXT + 2, 'b');
    st8(VGA_TEXT + 3, 0x70);
    vga_show("st8 cells 0-1", 0, 0x70621F41ULL);

    /* Word stores (char | attr << 8): cells 2 and 3, odd-aligned word at 9. */
    st64(VGA_TEXT + 8, 0);
    st16(VGA_TEXT + 8, 0x4E43);
    st16(VGA_TEXT + 10, 0x2F33);
    st16(VGA_TEXT + 13, 0xA55A);
    vga_show("st16 cells 4-7", 8, 0x00A55A002F334E43ULL);

    /* Dword and qword stores, aligned and not. */
    st64(VGA_TEXT + 16, 0);
    st32(VGA_TEXT + 16, 0x07690748);
    st32(VGA_TEXT + 21, 0xC0DEFACE);
    vga_show("st32 cells 8-11", 16, 0xDEFACE0007690748ULL);
    st64(VGA_TEXT + 24, 0x0F210F4B0F4F0F21ULL);
    vga_show("st64 cells 12-15", 24, 0x0F210F4B0F4F0F21ULL);
    st64(VGA_TEXT + 32, 0);
    st64(VGA_TEXT + 40, 0);
    st64(VGA_TEXT + 35, 0x8877665544332211ULL);
    vga_show("st64+3 lo", 32, 0x5544332211000000ULL);
    vga_show("st64+3 hi", 40, 0x0000000000887766ULL);

    /* The last cells of the 80x25 page: 3992..3999. */
    st64(VGA_TEXT + 3992, 0);
    st8(VGA_TEXT + 3999, 0x4F);
    st8(VGA_TEXT + 3998, 'Z');
    st16(VGA_TEXT + 3996, 0x1E59);
    vga_show("last cells st8/st16", 3992, 0x4F5A1E5900000000ULL);
    st32(VGA_TEXT + 3992, 0x2E572E58);
    st32(VGA_TEXT + 3996, 0x4F214F21);
    vga_show("last cells st32", 3992, 0x4F214F212E572E58ULL);
    st64(VGA_TEXT + 3992, 0x0123456789ABCDEFULL);
    vga_show("last cells st64", 3992, 0x0123456789ABCDEFULL);

    /* Past the visible page but inside the 32 KiB window. */
    static const unsigned offs[] = { 4000, 4096, 0x4000, 0x7FF0, 0x7FF8 };
    for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        uint64_t v = 0xF00D000000000000ULL | (uint64_t)offs[i] << 16 | (0x5A00 + i);
        st64(VGA_TEXT + offs[i], v);
        vga_show("offscreen st64", offs[i], v);
    }
    /* Byte stores there too, read back wide. */
    for (unsigned i = 0; i < 8; i++)
        st8(VGA_TEXT + 0x7FF8 + i, (uint8_t)(0x11 * (i + 1)));
    vga_show("window end st8", 0x7FF8, 0x8877665544332211ULL);
    /* First cells keep their value after the far writes (no aliasing within 32 KiB). */
    vga_show("cells 0-3 again", 0, 0x70621F41ULL);

    /* 0xA0000 lies outside the text-mode window (GR06 map 3): writes are dropped, reads give ones. */
    st8(VGA_LEGACY, 0x5A);
    st32(VGA_LEGACY + 0x100, 0x12345678);
    rom_printf("vga legacy 0xa0000: ld8=0x%02x ld32@+0x100=0x%08x ld64=0x%016lx\n",
               ld8(VGA_LEGACY), ld32(VGA_LEGACY + 0x100), ld64(VGA_LEGACY));
}

/* Waits (bounded) until the transmitter is empty, so LSR reads are deterministic. */
static uint8_t uart_idle_lsr(void)
{
    uint8_t lsr = 0;
    for (unsigned i = 0; i < 1000000; i++) {
        lsr = inb(COM1 + 5);
        if ((lsr & 0x60) == 0x60)
            break;
    }
    return lsr;
}

static void uart_cases(void)
{
    uint8_t v, w;

    /* LCR (base+3): every bit readable; restore 8N1. */
    outb(COM1 + 3, 0x1B);               /* 8 bits, 1 stop, even parity */
    v = inb(COM1 + 3);
    outb(COM1 + 3, 0x44);               /* 5 bits, break */
    w = inb(COM1 + 3);
    outb(COM1 + 3, 0x03);
    rom_printf("uart lcr: 0x1b->0x%02x 0x44->0x%02x restored=0x%02x %s\n", v, w, inb(COM1 + 3),
               rom_verdict(v == 0x1B && w == 0x44));

    /* Divisor latch: DLAB=1 maps DLL/DLM at base+0/+1. */
    outb(COM1 + 3, 0x83);
    outb(COM1 + 0, 0x34);
    outb(COM1 + 1, 0x12);
    uint8_t dll = inb(COM1 + 0), dlm = inb(COM1 + 1), lcr = inb(COM1 + 3);
    outb(COM1 + 0, 0x01);               /* back to divisor 1 */
    outb(COM1 + 1, 0x00);
    uint8_t dll1 = inb(COM1 + 0), dlm1 = inb(COM1 + 1);
    outb(COM1 + 3, 0x03);
    uint8_t ier = inb(COM1 + 1);
    rom_printf("uart divisor: dll=0x%02x dlm=0x%02x lcr=0x%02x restored=0x%02x%02x ier(dlab=0)=0x%02x %s\n",
               dll, dlm, lcr, dlm1, dll1, ier,
               rom_verdict(dll == 0x34 && dlm == 0x12 && lcr == 0x83 && dll1 == 1 && dlm1 == 0 && ier == 0));

    /* Scratch register (base+7). */
    outb(COM1 + 7, 0x55);
    v = inb(COM1 + 7);
    outb(COM1 + 7, 0xAA);
    w = inb(COM1 + 7);
    rom_printf("uart scr: 0x55->0x%02x 0xaa->0x%02x %s\n", v, w, rom_verdict(v == 0x55 && w == 0xAA));

    /* IER (base+1): bits 3:0 defined; IF stays 0, so nothing is delivered. */
    outb(COM1 + 1, 0x05);
    v = inb(COM1 + 1);
    outb(COM1 + 1, 0xFF);
    w = inb(COM1 + 1);
    outb(COM1 + 1, 0x00);
    uint8_t iir = inb(COM1 + 2);        /* reading IIR drops a THRE interrupt the 0xFF write raised */
    rom_printf("uart ier: 0x05->0x%02x 0xff->0x%02x restored=0x%02x %s\n", v, w, inb(COM1 + 1),
               rom_verdict(v == 0x05));
    (void)iir;

    /* LSR idle: THRE (bit 5) and TEMT (bit 6) set, nothing received. */
    v = uart_idle_lsr();
    rom_printf("uart lsr idle: 0x%02x %s\n", v, rom_verdict(v == 0x60));

    /* IIR: FIFOs on (runtime wrote FCR=0xC7), no interrupt pending. */
    v = inb(COM1 + 2);
    outb(COM1 + 2, 0x00);               /* FIFOs off */
    w = inb(COM1 + 2);
    outb(COM1 + 2, 0xC7);
    rom_printf("uart iir: fifo=0x%02x nofifo=0x%02x again=0x%02x %s\n", v, w, inb(COM1 + 2),
               rom_verdict(v == 0xC1 && w == 0x01));

    /* MCR (base+4): bits 4:0 defined. */
    outb(COM1 + 4, 0x0F);
    v = inb(COM1 + 4);
    outb(COM1 + 4, 0x03);
    w = inb(COM1 + 4);
    rom_printf("uart mcr: 0x0f->0x%02x 0x03->0x%02x %s\n", v, w, rom_verdict(v == 0x0F && w == 0x03));

    /* Loopback (MCR bit 4): MSR bits 7:4 = OUT2 OUT1 RTS DTR -> DCD RI DSR CTS. */
    outb(COM1 + 4, 0x10);
    uint8_t msr0 = inb(COM1 + 6);
    outb(COM1 + 4, 0x1F);
    uint8_t msr1 = inb(COM1 + 6);
    outb(COM1 + 4, 0x15);               /* loop | OUT1 | DTR */
    uint8_t msr2 = inb(COM1 + 6);
    uint8_t lsr0 = uart_idle_lsr();
    outb(COM1, 0xA7);
    uint8_t lsr1 = 0;
    for (unsigned i = 0; i < 1000000 && !(lsr1 & 1); i++)
        lsr1 = inb(COM1 + 5);
    uint8_t rbr = inb(COM1 + 0);
    uint8_t lsr2 = inb(COM1 + 5);
    outb(COM1, 0x3C);
    for (unsigned i = 0; i < 1000000 && !(inb(COM1 + 5) & 1); i++)
        ;
    uint8_t rbr2 = inb(COM1 + 0);
    outb(COM1 + 4, 0x03);               /* normal mode again */
    uint8_t mcr = inb(COM1 + 4);
    rom_printf("uart loopback msr: mcr=0x10->0x%02x mcr=0x1f->0x%02x mcr=0x15->0x%02x %s\n",
               msr0 & 0xF0, msr1 & 0xF0, msr2 & 0xF0,
               rom_verdict((msr0 & 0xF0) == 0 && (msr1 & 0xF0) == 0xF0 && (msr2 & 0xF0) == 0x60));
    rom_printf("uart loopback data: lsr=0x%02x -> 0x%02x rbr=0x%02x lsr=0x%02x rbr2=0x%02x mcr=0x%02x %s\n",
               lsr0, lsr1 & 0x61, rbr, lsr2 & 0x61, rbr2, mcr,
               rom_verdict(rbr == 0xA7 && (lsr1 & 1) && !(lsr2 & 1) && rbr2 == 0x3C && mcr == 0x03));
    v = uart_idle_lsr();
    rom_printf("uart after loopback: lsr=0x%02x %s\n", v, rom_verdict(v == 0x60));
}

static void unclaimed_cases(void)
{
    uint8_t b = inb(NO_PORT);
    uint16_t w = inw(NO_PORT);
    uint32_t d = inl(NO_PORT);
    outb(NO_PORT, 0);                   /* writes are dropped */
    rom_printf("port 0x%04x: inb=0x%02x inw=0x%04x inl=0x%08x %s\n", NO_PORT, b, w, d,
               rom_verdict(b == 0xFF && w == 0xFFFF && d == 0xFFFFFFFF));

    st32(UNBACKED, 0x12345678);         /* dropped */
    uint8_t mb = ld8(UNBACKED);
    uint16_t mw = ld16(UNBACKED + 2);
    uint32_t md = ld32(UNBACKED + 4);
    uint64_t mq = ld64(UNBACKED + 8);
    rom_printf("mem 0x%08lx: ld8=0x%02x ld16=0x%04x ld32=0x%08x ld64=0x%016lx\n", UNBACKED, mb, mw, md, mq);
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom mmio\n");
    vga_cases();
    uart_cases();
    unclaimed_cases();
    rom_done();
}
