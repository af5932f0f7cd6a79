/*
 * ROM "platform": what a kernel discovers about the PC before it drives a
 * device. QEMU's fw_cfg interface (signature, ID, CPU count, RAM size, an
 * unknown key), a PCI configuration scan of bus 0 (mechanism #1), the ACPI
 * tables found from the RSDP by the EBDA and 0xE0000-0xFFFFF search (MADT
 * entries, FADT present, checksums), the MP floating pointer and its
 * configuration table, and the debug console port 0xE9 (qemu-args: -debugcon).
 * Table addresses and OEM strings are never printed: other firmware lays
 * them out differently; only what a kernel depends on is.
 */
#include "irq.h"

static int memeq(const void *a, const char *b, size_t n)
{
    const uint8_t *p = a;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)b[i])
            return 0;
    return 1;
}

static uint8_t sum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + b[i]);
    return s;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* ---- fw_cfg: selector 0x510 (16-bit), data 0x511 (bytes, little-endian for the numeric keys) ---- */

static void fw_cfg_read(uint16_t key, uint8_t *out, unsigned n)
{
    outw(0x510, key);
    for (unsigned i = 0; i < n; i++)
        out[i] = inb(0x511);
}

static void fw_cfg_cases(void)
{
    uint8_t b[8];
    fw_cfg_read(0x0000, b, 4);
    rom_printf("fw_cfg signature: %c%c%c%c %s\n", b[0], b[1], b[2], b[3], rom_verdict(memeq(b, "QEMU", 4)));
    fw_cfg_read(0x0001, b, 4);
    rom_printf("fw_cfg id: traditional interface (bit 0)=%u %s\n", b[0] & 1, rom_verdict(b[0] & 1));
    fw_cfg_read(0x0005, b, 2);
    rom_printf("fw_cfg nb_cpus: %u %s\n", rd16(b), rom_verdict(rd16(b) == 1));
    fw_cfg_read(0x0003, b, 8);
    rom_printf("fw_cfg ram_size: 0x%lx %s\n", rd64(b), rom_verdict(rd64(b) == 256ULL << 20));
    fw_cfg_read(0x00FE, b, 4);
    rom_printf("fw_cfg unknown key 0xfe: %02x %02x %02x %02x %s\n", b[0], b[1], b[2], b[3],
               rom_verdict(rd32(b) == 0));
}

/* ---- PCI configuration mechanism #1 ---- */

static uint32_t pci_read(unsigned dev, unsigned fn, unsigned reg)
{
    outl(0xCF8, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xFC));
    return inl(0xCFC);
}

static void pci_cases(void)
{
    outl(0xCF8, 0x80000000u);
    uint32_t back = inl(0xCF8);
    rom_printf("pci 0xcf8 reads back 0x%08x %s\n", back, rom_verdict(back == 0x80000000u));
    unsigned functions = 0;
    for (unsigned dev = 0; dev < 32; dev++) {
        for (unsigned fn = 0; fn < 8; fn++) {
            uint32_t id = pci_read(dev, fn, 0);
            if ((id & 0xFFFF) == 0xFFFF) {
                if (fn == 0)
                    break;
                continue;
            }
            uint32_t class = pci_read(dev, fn, 8) >> 8;
            uint8_t header = (uint8_t)(pci_read(dev, fn, 0x0C) >> 16);
            rom_printf("pci 00:%02x.%u %04x:%04x class %02x.%02x.%02x header 0x%02x\n", dev, fn, id & 0xFFFF, id >> 16,
                       class >> 16, (class >> 8) & 0xFF, class & 0xFF, header);
            functions++;
            if (fn == 0 && !(header & 0x80))
                break;                  /* single-function device */
        }
    }
    rom_printf("pci bus 0: %u functions, host bridge at 00:00.0 %s\n", functions,
               rom_verdict(functions > 0 && (pci_read(0, 0, 8) >> 16) == 0x0600));
    uint32_t none = pci_read(31, 0, 0);
    rom_printf("pci 00:1f.0 absent: 0x%08x %s\n", none, rom_verdict(none == 0xFFFFFFFFu));
    outl(0xCF8, 0);
}

/* ---- ACPI ---- */

static const uint8_t *scan(uintptr_t from, uintptr_t to, const char *sig, unsigned len)
{
    for (uintptr_t p = from; p + len <= to; p += 16)
        if (memeq((const void *)p, sig, 8) && sum((const void *)p, len) == 0)
            return (const uint8_t *)p;
    return 0;
}

/* A 16-bit BIOS data area word (an asm load: low constant addresses upset gcc's bounds checks). */
static uint16_t bda16(uintptr_t a)
{
    uint16_t v;
    __asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(a) : "memory");
    return v;
}

static uintptr_t ebda(void) { return (uintptr_t)bda16(0x40E) << 4; }

static int table_ok(const uint8_t *t, const char *sig)
{
    return t && memeq(t, sig, 4) && sum(t, rd32(t + 4)) == 0;
}

/* The tables an RSDT (4-byte entries) or XSDT (8-byte entries) lists with the given signature. */
static const uint8_t *find_table(const uint8_t *sdt, unsigned entry, const char *sig)
{
    unsigned n = (rd32(sdt + 4) - 36) / entry;
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = entry == 4 ? rd32(sdt + 36 + 4 * i) : rd64(sdt + 36 + 8 * i);
        const uint8_t *t = (const uint8_t *)(uintptr_t)a;
        if (memeq(t, sig, 4))
            return t;
    }
    return 0;
}

static void madt_entries(const uint8_t *madt)
{
    uint32_t len = rd32(madt + 4);
    rom_printf("madt: lapic address 0x%08x flags 0x%x (pc-at compatible) %s\n", rd32(madt + 36), rd32(madt + 40),
               rom_verdict(rd32(madt + 36) == 0xFEE00000u && (rd32(madt + 40) & 1)));
    for (const uint8_t *e = madt + 44; e < madt + len && e[1] >= 2; e += e[1]) {
        switch (e[0]) {
        case 0:
            rom_printf("madt lapic: processor %u apic id %u flags 0x%x\n", e[2], e[3], rd32(e + 4));
            break;
        case 1:
            rom_printf("madt ioapic: id %u address 0x%08x gsi base %u\n", e[2], rd32(e + 4), rd32(e + 8));
            break;
        case 2:
            rom_printf("madt override: bus %u irq %u -> gsi %u flags 0x%04x\n", e[2], e[3], rd32(e + 4), rd16(e + 8));
            break;
        case 4:
            rom_printf("madt lapic nmi: processor 0x%02x flags 0x%04x lint %u\n", e[2], rd16(e + 3), e[5]);
            break;
        default:
            rom_printf("madt entry type %u length %u\n", e[0], e[1]);
            break;
        }
    }
}

static void acpi_cases(void)
{
    /* ACPI 5.2.5.1: the first KiB of the EBDA, then 0xE0000-0xFFFFF, on 16-byte boundaries. */
    const uint8_t *rsdp = scan(ebda(), ebda() + 1024, "RSD PTR ", 20);
    if (!rsdp)
        rsdp = scan(0xE0000, 0x100000, "RSD PTR ", 20);
    int ext_ok = rsdp && (rsdp[15] < 2 || sum(rsdp, rd32(rsdp + 20)) == 0);
    rom_printf("rsdp: found with valid checksum %s, extended checksum (revision 2+) %s\n", rom_verdict(rsdp != 0),
               rom_verdict(ext_ok));
    if (!rsdp)
        return;
    const uint8_t *rsdt = (const uint8_t *)(uintptr_t)rd32(rsdp + 16);
    rom_printf("rsdt: signature and checksum %s\n", rom_verdict(table_ok(rsdt, "RSDT")));
    const uint8_t *xsdt = rsdp[15] >= 2 ? (const uint8_t *)(uintptr_t)rd64(rsdp + 24) : 0;
    const uint8_t *madt = find_table(rsdt, 4, "APIC"), *fadt = find_table(rsdt, 4, "FACP");
    int xsdt_agrees = !xsdt || (table_ok(xsdt, "XSDT") && find_table(xsdt, 8, "APIC") == madt &&
                                find_table(xsdt, 8, "FACP") == fadt);
    rom_printf("xsdt: absent (revision 0) or valid and listing the same MADT and FADT %s\n", rom_verdict(xsdt_agrees));
    rom_printf("fadt (FACP): present with valid checksum %s\n", rom_verdict(table_ok(fadt, "FACP")));
    rom_printf("madt (APIC): present with valid checksum %s\n", rom_verdict(table_ok(madt, "APIC")));
    if (table_ok(madt, "APIC"))
        madt_entries(madt);
}

/* ---- MP specification 1.4 ---- */

static void mp_cases(void)
{
    /* MP 1.4 4: the first KiB of the EBDA, the last KiB of base memory, the BIOS ROM 0xF0000-0xFFFFF. */
    uintptr_t base_kib = bda16(0x413);
    const uint8_t *fp = 0;
    uintptr_t ranges[3][2] = {{ebda(), ebda() + 1024}, {base_kib * 1024 - 1024, base_kib * 1024}, {0xF0000, 0x100000}};
    for (int r = 0; r < 3 && !fp; r++)
        for (uintptr_t p = ranges[r][0]; p + 16 <= ranges[r][1] && !fp; p += 16)
            if (memeq((const void *)p, "_MP_", 4) && sum((const void *)p, 16) == 0 && ((const uint8_t *)p)[8] == 1)
                fp = (const uint8_t *)p;
    rom_printf("mp floating pointer: found with valid checksum %s\n", rom_verdict(fp != 0));
    if (!fp)
        return;
    rom_printf("mp floating pointer: spec revision %u, default configuration %u %s\n", fp[9], fp[11],
               rom_verdict(fp[9] == 4 && fp[11] == 0));
    const uint8_t *ct = (const uint8_t *)(uintptr_t)rd32(fp + 4);
    int ct_ok = ct && memeq(ct, "PCMP", 4) && sum(ct, rd16(ct + 4)) == 0;
    rom_printf("mp configuration table: signature and checksum %s\n", rom_verdict(ct_ok));
    if (!ct_ok)
        return;
    rom_printf("mp configuration table: lapic address 0x%08x %s\n", rd32(ct + 36), rom_verdict(rd32(ct + 36) == 0xFEE00000u));
    const uint8_t *e = ct + 44;
    unsigned isa_bus = 0xFF;
    for (unsigned i = 0; i < rd16(ct + 34); i++) {
        switch (e[0]) {
        case 0:
            rom_printf("mp processor: apic id %u enabled %u bsp %u\n", e[1], e[3] & 1, (e[3] >> 1) & 1);
            e += 20;
            break;
        case 1:
            if (memeq(e + 2, "ISA   ", 6))
                isa_bus = e[1];
            e += 8;
            break;
        case 2:
            rom_printf("mp ioapic: id %u enabled %u address 0x%08x\n", e[1], e[3] & 1, rd32(e + 4));
            e += 8;
            break;
        case 3:
            if (e[4] == isa_bus && (e[5] == 0 || e[5] == 8))
                rom_printf("mp io interrupt: isa irq %u -> ioapic %u pin %u type %u\n", e[5], e[6], e[7], e[1]);
            e += 8;
            break;
        default:
            e += 8;
            break;
        }
    }
    rom_printf("mp isa bus present %s\n", rom_verdict(isa_bus != 0xFF));
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom platform\n");
    fw_cfg_cases();
    pci_cases();
    acpi_cases();
    mp_cases();
    uint8_t e9 = inb(0xE9);
    rom_printf("debugcon port 0xe9 reads 0x%02x %s\n", e9, rom_verdict(e9 == 0xE9));
    rom_done();
}
