/*
 * ROM "multiboot2": what a multiboot2 kernel is handed (GNU Multiboot2
 * Specification 2.0, 3.3 and 3.6), printed so that GRUB 2.06 booting it under
 * QEMU and cr3 booting it directly must print the same lines. Facts that
 * legitimately differ between the two loaders are checked but not printed:
 * the boot loader name ("GRUB 2.06" against "cr3": only "present, non-empty"
 * is printed), the load base address (tag 21: checked to be the 1 MiB link
 * address), the ELF sections tag (its contents depend on where each loader
 * puts the unloaded sections: only its presence is printed), where the
 * information structure lies, the tags GRUB gets from the BIOS (APM table,
 * VBE information, BIOS boot device: skipped in the tag list), the RSDT's
 * address and length, and the HPET table (recorded when cr3 had no HPET;
 * see show_acpi). The framebuffer is then painted in four coloured quadrants
 * (test/multiboot2-rom.test.ts looks at cr3's screenshot) before the exit
 * through isa-debug-exit.
 */

typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __UINTPTR_TYPE__ uintptr_t;

#define COM1        0x3F8
#define EXIT_PORT   0xF4

#define MB2_BOOTLOADER_MAGIC 0x36D76289u
#define LINK_BASE   0x100000u           /* linker.ld */

/* Boot information tag types (3.6). */
enum {
    TAG_END = 0, TAG_CMDLINE = 1, TAG_BOOT_LOADER_NAME = 2, TAG_MODULE = 3,
    TAG_BASIC_MEMINFO = 4, TAG_BOOTDEV = 5, TAG_MMAP = 6, TAG_VBE = 7,
    TAG_FRAMEBUFFER = 8, TAG_ELF_SECTIONS = 9, TAG_APM = 10,
    TAG_ACPI_OLD = 14, TAG_ACPI_NEW = 15, TAG_LOAD_BASE_ADDR = 21,
};

/* ---- port I/O and COM1 ---- */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void serial_init(void)
{
    outb(COM1 + 1, 0x00);               /* IER: no interrupts */
    outb(COM1 + 3, 0x80);               /* LCR: DLAB = 1 */
    outb(COM1 + 0, 0x01);               /* divisor 1 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);               /* 8N1 */
}

static void putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20))     /* LSR bit 5: THR empty */
        ;
    outb(COM1, (uint8_t)c);
}

static void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

/* "0x" then `digits` hex digits of v. */
static void hex(uint64_t v, int digits)
{
    puts("0x");
    while (digits-- > 0)
        putc("0123456789abcdef"[(v >> (4 * digits)) & 15]);
}

static void dec(uint64_t v)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc(buf[--n]);
}

/* n bytes in quotes, non-printable ones as '.'. */
static void quoted(const uint8_t *p, int n)
{
    putc('"');
    for (int i = 0; i < n; i++)
        putc(p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.');
    putc('"');
}

static int failures;

static void verdict(int ok)
{
    if (!ok)
        failures++;
    puts(ok ? " ok\n" : " FAIL\n");
}

static void __attribute__((noreturn)) finish(void)
{
    puts("cr3-rom done\n");
    /* Let COM1 drain (LSR bit 6, TEMT) before the exit stops the machine. */
    for (int i = 0; i < 1000000 && (inb(COM1 + 5) & 0x40) == 0; i++)
        __asm__ volatile("pause");
    outb(EXIT_PORT, failures ? 1 : 0); /* isa-debug-exit: QEMU exits with code << 1 | 1 */
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- little-endian field access ---- */

static uint32_t u8at(uintptr_t a) { return *(const volatile uint8_t *)a; }
static uint32_t u16at(uintptr_t a) { return *(const volatile uint16_t *)a; }
static uint32_t u32at(uintptr_t a) { return *(const volatile uint32_t *)a; }
static uint64_t u64at(uintptr_t a) { return u32at(a) | (uint64_t)u32at(a + 4) << 32; }

static int bytes_equal(uintptr_t a, const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (u8at(a + i) != (uint8_t)s[i])
            return 0;
    return 1;
}

static int checksum_ok(uintptr_t a, uint32_t n)
{
    uint8_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + u8at(a + i));
    return sum == 0;
}

/* ---- the tags ---- */

static void show_cmdline(uintptr_t tag, uint32_t size)
{
    puts("cmdline: ");
    uint32_t n = 0;
    while (8 + n < size && u8at(tag + 8 + n) != 0)
        n++;
    quoted((const uint8_t *)(tag + 8), (int)n);
    puts(" nul-terminated");
    verdict(8 + n < size);
}

static void show_boot_loader_name(uintptr_t tag, uint32_t size)
{
    /* "GRUB 2.06" or "cr3": only that there is one. */
    puts("boot loader name: present, non-empty, nul-terminated");
    uint32_t n = 0;
    while (8 + n < size && u8at(tag + 8 + n) != 0)
        n++;
    verdict(n > 0 && 8 + n < size);
}

static void show_load_base(uintptr_t tag)
{
    /* Both load at the link address; the tag is printed only as present. */
    puts("load base address: the link address");
    verdict(u32at(tag + 8) == LINK_BASE);
}

static void show_basic_meminfo(uintptr_t tag, uint32_t size)
{
    puts("basic meminfo: size=");
    dec(size);
    puts(" mem_lower=");
    dec(u32at(tag + 8));
    puts(" KiB mem_upper=");
    dec(u32at(tag + 12));
    puts(" KiB");
    verdict(size == 16);
}

static void show_mmap(uintptr_t tag, uint32_t size)
{
    uint32_t entry_size = u32at(tag + 8), version = u32at(tag + 12);
    puts("mmap: entry_size=");
    dec(entry_size);
    puts(" entry_version=");
    dec(version);
    puts(" entries=");
    uint32_t count = entry_size ? (size - 16) / entry_size : 0;
    dec(count);
    verdict(entry_size == 24 && version == 0 && (size - 16) % 24 == 0);
    for (uint32_t i = 0; i < count; i++) {
        uintptr_t e = tag + 16 + i * entry_size;
        puts("mmap[");
        dec(i);
        puts("]: base=");
        hex(u64at(e), 16);
        puts(" length=");
        hex(u64at(e + 8), 16);
        puts(" type=");
        dec(u32at(e + 16));
        puts(" reserved=");
        dec(u32at(e + 20));
        putc('\n');
    }
}

static uintptr_t fb_addr;
static uint32_t fb_pitch, fb_width, fb_height, fb_bpp, fb_type;
static uint32_t fb_pos[3], fb_size[3];  /* red, green, blue */

static void show_framebuffer(uintptr_t tag, uint32_t size)
{
    fb_addr = (uintptr_t)u64at(tag + 8);
    fb_pitch = u32at(tag + 16);
    fb_width = u32at(tag + 20);
    fb_height = u32at(tag + 24);
    fb_bpp = u8at(tag + 28);
    fb_type = u8at(tag + 29);
    puts("framebuffer: size=");
    dec(size);
    puts(" addr=");
    hex(fb_addr, 8);
    puts(" type=");
    dec(fb_type);
    puts(" ");
    dec(fb_width);
    puts("x");
    dec(fb_height);
    puts(" bpp=");
    dec(fb_bpp);
    puts(" pitch=");
    dec(fb_pitch);
    verdict(fb_type == 1 && fb_pitch >= fb_width * (fb_bpp / 8) && fb_addr != 0);
    if (fb_type != 1)
        return;
    /* 3.6.12: for type 1, red/green/blue field position and mask size. */
    for (int i = 0; i < 3; i++) {
        fb_pos[i] = u8at(tag + 32 + 2 * i);
        fb_size[i] = u8at(tag + 33 + 2 * i);
    }
    puts("framebuffer rgb: red=");
    dec(fb_pos[0]);
    putc('/');
    dec(fb_size[0]);
    puts(" green=");
    dec(fb_pos[1]);
    putc('/');
    dec(fb_size[1]);
    puts(" blue=");
    dec(fb_pos[2]);
    putc('/');
    dec(fb_size[2]);
    putc('\n');
}

/* ---- ACPI, from the RSDP copy in tag 14 or 15 (ACPI 6.5, 5.2.5-5.2.12) ---- */

/* The RSDT's length is not printed (see show_acpi), the MADT's is. */
static void show_sdt_header(const char *what, uintptr_t t, int with_length)
{
    puts(what);
    puts(": signature=");
    quoted((const uint8_t *)t, 4);
    if (with_length) {
        puts(" length=");
        dec(u32at(t + 4));
    }
    puts(" revision=");
    dec(u8at(t + 8));
    puts(" oem=");
    quoted((const uint8_t *)(t + 10), 6);
    puts(" table=");
    quoted((const uint8_t *)(t + 16), 8);
    puts(" checksum");
    verdict(checksum_ok(t, u32at(t + 4)));
}

static void show_madt(uintptr_t t)
{
    show_sdt_header("madt", t, 1);
    uint32_t length = u32at(t + 4);
    puts("madt: local apic address=");
    hex(u32at(t + 36), 8);
    puts(" flags=");
    hex(u32at(t + 40), 8);
    putc('\n');
    for (uintptr_t e = t + 44; e + 2 <= t + length;) {
        uint32_t type = u8at(e), len = u8at(e + 1);
        if (len < 2)
            break;
        switch (type) {
        case 0:
            puts("madt local apic: processor=");
            dec(u8at(e + 2));
            puts(" apic id=");
            dec(u8at(e + 3));
            puts(" flags=");
            hex(u32at(e + 4), 8);
            break;
        case 1:
            puts("madt io apic: id=");
            dec(u8at(e + 2));
            puts(" address=");
            hex(u32at(e + 4), 8);
            puts(" gsi base=");
            dec(u32at(e + 8));
            break;
        case 2:
            puts("madt override: bus=");
            dec(u8at(e + 2));
            puts(" irq=");
            dec(u8at(e + 3));
            puts(" gsi=");
            dec(u32at(e + 4));
            puts(" flags=");
            hex(u16at(e + 8), 4);
            break;
        case 4:
            puts("madt local apic nmi: processor=");
            hex(u8at(e + 2), 2);
            puts(" flags=");
            hex(u16at(e + 3), 4);
            puts(" lint=");
            dec(u8at(e + 5));
            break;
        default:
            puts("madt entry: type=");
            dec(type);
            puts(" length=");
            dec(len);
        }
        putc('\n');
        e += len;
    }
}

static void show_acpi(uintptr_t tag, uint32_t size, int v2)
{
    uintptr_t rsdp = tag + 8;
    uint32_t revision = u8at(rsdp + 15);
    puts(v2 ? "acpi new rsdp: size=" : "acpi old rsdp: size=");
    dec(size);
    puts(" signature=");
    quoted((const uint8_t *)rsdp, 8);
    puts(" revision=");
    dec(revision);
    puts(" oem=");
    quoted((const uint8_t *)(rsdp + 9), 6);
    puts(" checksum");
    int ok = bytes_equal(rsdp, "RSD PTR ", 8) && size >= 8 + 20 && checksum_ok(rsdp, 20);
    if (v2)
        ok = ok && revision >= 2 && size >= 8 + 36 && checksum_ok(rsdp, 36);
    verdict(ok);
    if (!ok)
        return;

    /*
     * The XSDT when the RSDP has one (revision 2+), else the RSDT. Neither
     * its address (QEMU's table layout shifts with the devices on the
     * command line) nor its length is printed, and the HPET table is left
     * out of the list (this ROM was written when cr3 had no HPET; both now
     * list it).
     */
    int wide = revision >= 2 && size >= 8 + 36 && u64at(rsdp + 24) != 0;
    uintptr_t sdt = wide ? (uintptr_t)u64at(rsdp + 24) : u32at(rsdp + 16);
    show_sdt_header(wide ? "xsdt" : "rsdt", sdt, 0);
    uint32_t entry = wide ? 8 : 4;
    uint32_t count = (u32at(sdt + 4) - 36) / entry;
    uintptr_t madt = 0;
    puts("acpi tables:");
    for (uint32_t i = 0; i < count; i++) {
        uintptr_t t = wide ? (uintptr_t)u64at(sdt + 36 + 8 * i) : u32at(sdt + 36 + 4 * i);
        if (bytes_equal(t, "HPET", 4))
            continue;
        putc(' ');
        quoted((const uint8_t *)t, 4);
        if (bytes_equal(t, "APIC", 4))
            madt = t;
    }
    puts(" (HPET not listed) madt found");
    verdict(madt != 0);
    if (madt)
        show_madt(madt);
}

/* ---- the framebuffer pattern ---- */

static uint32_t pixel(uint32_t r, uint32_t g, uint32_t b)
{
    uint32_t c[3] = { r, g, b }, v = 0;
    for (int i = 0; i < 3; i++)
        v |= (c[i] >> (8 - fb_size[i])) << fb_pos[i];
    return v;
}

/* Quadrants: red top left, green top right, blue bottom left, white bottom right. */
static void draw_quadrants(void)
{
    uint32_t colour[4] = { pixel(255, 0, 0), pixel(0, 255, 0), pixel(0, 0, 255), pixel(255, 255, 255) };
    for (uint32_t y = 0; y < fb_height; y++) {
        volatile uint32_t *row = (volatile uint32_t *)(fb_addr + (uintptr_t)y * fb_pitch);
        uint32_t bottom = y >= fb_height / 2 ? 2 : 0;
        for (uint32_t x = 0; x < fb_width; x++)
            row[x] = colour[bottom + (x >= fb_width / 2)];
    }
    int ok = 1;
    for (int q = 0; q < 4; q++) {
        uint32_t x = (q & 1) ? fb_width * 3 / 4 : fb_width / 4;
        uint32_t y = (q & 2) ? fb_height * 3 / 4 : fb_height / 4;
        ok &= *(volatile uint32_t *)(fb_addr + (uintptr_t)y * fb_pitch + 4 * x) == colour[q];
    }
    puts("framebuffer: quadrants red green / blue white drawn, read back");
    verdict(ok);
}

/* ---- the walk ---- */

/*
 * The tags the list below leaves out, which GRUB on a BIOS may add and cr3,
 * with no BIOS to ask, does not: the APM table (10, which GRUB gets from
 * SeaBIOS's APM interface), the VBE information (7) and the BIOS boot device
 * (5). The specification makes every tag optional.
 */
static int loader_specific(uint32_t type)
{
    return type == TAG_BOOTDEV || type == TAG_VBE || type == TAG_APM;
}

void rom_main(uint32_t magic, uint32_t mbi);

void rom_main(uint32_t magic, uint32_t mbi)
{
    serial_init();
    puts("cr3-rom multiboot2\n");
    puts("magic: ");
    hex(magic, 8);
    verdict(magic == MB2_BOOTLOADER_MAGIC);
    if (magic != MB2_BOOTLOADER_MAGIC)
        finish();

    uintptr_t info = mbi;
    uint32_t total = u32at(info);
    uintptr_t end = 0;
    int aligned = (info & 7) == 0;
    puts("tags:");
    for (uintptr_t t = info + 8; t + 8 <= info + total;) {
        uint32_t type = u32at(t), size = u32at(t + 4);
        aligned &= (t & 7) == 0 && size >= 8;
        if (!loader_specific(type)) {
            putc(' ');
            dec(type);
        }
        if (type == TAG_END) {
            end = t;
            break;
        }
        if (size < 8)
            break;
        t += (size + 7) & ~7u;
    }
    puts(" (5, 7 and 10 not listed)");
    verdict(aligned);
    puts("information: total_size a multiple of 8, end tag (size 8) last");
    verdict(end != 0 && (total & 7) == 0 && end + 8 == info + total && u32at(end + 4) == 8);

    int seen_fb = 0, seen_acpi = 0, seen_elf = 0;
    for (uintptr_t t = info + 8; end != 0 && t < end; t += (u32at(t + 4) + 7) & ~7u) {
        uint32_t type = u32at(t), size = u32at(t + 4);
        switch (type) {
        case TAG_CMDLINE: show_cmdline(t, size); break;
        case TAG_BOOT_LOADER_NAME: show_boot_loader_name(t, size); break;
        case TAG_LOAD_BASE_ADDR: show_load_base(t); break;
        case TAG_BASIC_MEMINFO: show_basic_meminfo(t, size); break;
        case TAG_MMAP: show_mmap(t, size); break;
        case TAG_FRAMEBUFFER: show_framebuffer(t, size); seen_fb = 1; break;
        case TAG_ACPI_OLD: show_acpi(t, size, 0); seen_acpi = 1; break;
        case TAG_ACPI_NEW: show_acpi(t, size, 1); seen_acpi = 1; break;
        case TAG_ELF_SECTIONS:
            /* Addresses of the unloaded sections depend on the loader. */
            puts("elf sections: present");
            seen_elf = 1;
            verdict(size >= 20);
            break;
        default:
            break;
        }
    }
    puts("elf sections tag given");
    verdict(seen_elf);
    puts("acpi rsdp tag given");
    verdict(seen_acpi);
    puts("framebuffer tag given, type 1 (rgb), 32 bpp");
    verdict(seen_fb && fb_type == 1 && fb_bpp == 32);
    if (seen_fb && fb_type == 1 && fb_bpp == 32)
        draw_quadrants();
    finish();
}
