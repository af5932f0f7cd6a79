/* ROM "boot": the multiboot hand-off, long mode, and the runtime's fault/user plumbing. */
#include "runtime.h"

#define MB_BOOT_MAGIC   0x2BADB002
#define MBI_MEM         (1u << 0)       /* mem_lower / mem_upper valid */
#define MBI_CMDLINE     (1u << 2)       /* cmdline valid */
#define MBI_MMAP        (1u << 6)       /* mmap_addr / mmap_length valid */

/* Multiboot information structure (Multiboot 0.6.96, section 3.3). */
struct mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap_entry {
    uint32_t size;                      /* of the rest of the entry */
    uint64_t base, length;
    uint32_t type;
} __attribute__((packed));

/* Snippets whose instruction addresses the checks compare against. */
void boot_ud2(void *arg);
void boot_user_hlt(void *arg);
extern const char boot_ud2_insn[], boot_user_hlt_insn[];
__asm__(".pushsection .text\n"
        ".globl boot_ud2, boot_ud2_insn\n"
        "boot_ud2:\n"
        "boot_ud2_insn: ud2\n"
        "    ret\n"
        ".globl boot_user_hlt, boot_user_hlt_insn\n"
        "boot_user_hlt:\n"
        "boot_user_hlt_insn: hlt\n"     /* privileged: at CPL3, #GP(0) */
        "    ret\n"
        ".popsection\n");

static volatile uint64_t user_cell;

static void user_write(void *arg)
{
    user_cell = *(const uint64_t *)arg;
}

/* The command line as a quoted string (QEMU puts the -kernel path there; the
 * ROMs are always run as -kernel test-roms/images/boot.elf). Bytes outside
 * printable ASCII, '"' and '\\' are escaped; at most 256 bytes. */
static void put_cmdline(const char *s)
{
    rom_puts("multiboot cmdline: \"");
    unsigned n = 0;
    for (; s[n] && n < 256; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c == '"' || c == '\\')
            rom_printf("\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            rom_printf("\\x%02x", c);
        else
            rom_putc((char)c);
    }
    rom_printf("\"%s\n", s[n] ? " (truncated)" : "");
}

static void check_multiboot(uint32_t magic, const struct mb_info *mbi)
{
    rom_printf("multiboot magic: 0x%08x %s\n", magic, rom_verdict(magic == MB_BOOT_MAGIC));
    if (magic != MB_BOOT_MAGIC)
        return;
    rom_printf("multiboot flags: 0x%08x mem=%u mmap=%u\n", mbi->flags,
               (mbi->flags & MBI_MEM) ? 1 : 0, (mbi->flags & MBI_MMAP) ? 1 : 0);
    if (mbi->flags & MBI_CMDLINE)
        put_cmdline((const char *)(uintptr_t)mbi->cmdline);
    else
        rom_printf("multiboot cmdline: %s (flag clear)\n", rom_verdict(0));
    if (mbi->flags & MBI_MEM)
        rom_printf("multiboot mem_lower=%u KiB mem_upper=%u KiB\n", mbi->mem_lower, mbi->mem_upper);
    else
        rom_printf("multiboot mem: %s (flag clear)\n", rom_verdict(0));
    if (!(mbi->flags & MBI_MMAP)) {
        rom_printf("multiboot mmap: %s (flag clear)\n", rom_verdict(0));
        return;
    }
    rom_printf("multiboot mmap_length=%u\n", mbi->mmap_length);
    uintptr_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
    for (unsigned i = 0; p < end && i < 64; i++) {
        const struct mb_mmap_entry *e = (const void *)p;
        rom_printf("multiboot mmap[%u]: base=0x%016lx length=0x%016lx type=%u\n",
                   i, e->base, e->length, e->type);
        p += e->size + 4;
    }
}

static void check_long_mode(void)
{
    uint64_t efer = rdmsr(MSR_EFER);
    uint16_t cs = read_cs();
    rom_printf("long mode: efer.lma=%u cs=0x%02x %s\n", (efer & EFER_LMA) ? 1 : 0, cs,
               rom_verdict((efer & EFER_LMA) && cs == SEL_KCODE));
    rom_printf("cr0: 0x%016lx\n", read_cr0());
    rom_printf("cr4: 0x%016lx\n", read_cr4());
    rom_printf("efer: 0x%016lx\n", efer);
}

static void check_try(void)
{
    struct rom_fault f;
    int r = rom_try(boot_ud2, 0, &f);
    int rip_ok = f.rip == (uintptr_t)boot_ud2_insn;
    rom_printf("rom_try ud2: ret=%d vector=%lu error=0x%lx rip=%s %s\n", r, f.vector, f.error,
               rip_ok ? "ud2" : "other", rom_verdict(r == 1 && f.vector == 6 && f.error == 0 && rip_ok));

    uint64_t value = 0x5ca1ab1e0ddba11ULL;
    user_cell = 0;
    r = rom_try_user(user_write, &value, &f);
    rom_printf("rom_try_user write: ret=%d cell=0x%016lx cs=0x%02x %s\n", r, user_cell, read_cs(),
               rom_verdict(r == 0 && user_cell == value && read_cs() == SEL_KCODE));

    r = rom_try_user(boot_user_hlt, 0, &f);
    rip_ok = f.rip == (uintptr_t)boot_user_hlt_insn;
    rom_printf("rom_try_user hlt: ret=%d vector=%lu error=0x%lx rip=%s %s\n", r, f.vector, f.error,
               rip_ok ? "hlt" : "other", rom_verdict(r == 1 && f.vector == 13 && f.error == 0 && rip_ok));

    /* Still alive at CPL0 with a usable stack after both round trips. */
    r = rom_try(boot_ud2, 0, &f);
    rom_printf("rom_try again: ret=%d vector=%lu %s\n", r, f.vector, rom_verdict(r == 1 && f.vector == 6));
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    rom_puts("cr3-rom boot\n");
    check_multiboot(magic, (const struct mb_info *)(uintptr_t)mbi);
    check_long_mode();
    check_try();
    rom_done();
}
