/*
 * ROM "paging": 4-level paging seen from the guest (Intel SDM Vol. 3A,
 * chapter "Paging"; quoted section titles are from it): #PF error codes and
 * CR2, A/D flags, CR0.WP, NX, reserved bits, large pages, INVLPG, CR3 switches.
 *
 * Our own PML4 copies the boot identity map (PML4[0]) and adds a test region
 * at REGION (PML4[1]):
 *   REGION + n * 4 KiB       space_a.pt[n]   (4 KiB pages, set per case)
 *   REGION + 2 MiB           space_a.pd[1]   (2 MiB page over marker_2m's frame)
 *   REGION + 1 GiB           space_a.pdpt[1] (1 GiB page over physical 0)
 * Every case starts from reset_space(), which rebuilds all of it (A/D clear)
 * and reloads CR3 (no global pages, so that flushes every translation).
 */
#include "paging.h"

#define REGION      PG_REGION
#define PAGE        PG_PAGE
#define VA(n)       PG_VA(n)
#define RSVD_BIT    (1ULL << 45)        /* reserved while MAXPHYADDR <= 45 (TCG: 40) */
#define PF          14

static struct pg_space space_a, space_b;

#define NFRAMES 8
static volatile uint64_t frames[NFRAMES][512] __attribute__((aligned(4096)));

static volatile uint64_t marker_2m = 0x2222000000000002ULL;
static volatile uint64_t marker_1g = 0x1111000000000001ULL;

#define FRAME_PA(k) ((uint64_t)(uintptr_t)frames[k])

/* Qword j of frame k holds 0xa000_0k00_0000_0000 + j before each case. */
static uint64_t pattern(unsigned k, unsigned j)
{
    return 0xa000000000000000ULL | ((uint64_t)k << 40) | j;
}

static void reset_space(void)
{
    pg_boot();                          /* never edit the live PML4[0] */
    for (unsigned k = 0; k < NFRAMES; k++)
        for (unsigned j = 0; j < 512; j++)
            frames[k][j] = pattern(k, j);

    pg_build(&space_a);
    space_a.pdpt[1] = 0 | PTE_FLAGS | PTE_PS;                   /* 1 GiB page: PA 0 */
    space_a.pd[1] = ((uintptr_t)&marker_2m & ~0x1fffffULL) | PTE_FLAGS | PTE_PS;  /* 2 MiB page */

    write_cr0(read_cr0() | CR0_WP);
    pg_load(&space_a);
}

/* mov $0x600dc0de, %eax; ret */
static const uint8_t code_bytes[6] = { 0xb8, 0xde, 0xc0, 0x0d, 0x60, 0xc3 };
#define CODE_VALUE 0x600dc0deULL

static void place_code(unsigned k)
{
    volatile uint8_t *dst = (volatile uint8_t *)frames[k];
    for (unsigned i = 0; i < sizeof code_bytes; i++)
        dst[i] = code_bytes[i];
}

static int access(int user, enum pg_op op, uint64_t va, uint64_t value, struct rom_fault *f)
{
    return pg_access(user, op, 8, va, value, f);
}

/* ---- reporting ---- */

static void print_ad(uint64_t leaf, uint64_t parent)
{
    rom_printf(" A/D leaf=%u%u parent=%u", pg_bit(leaf, PTE_A), pg_bit(leaf, PTE_D), pg_bit(parent, PTE_A));
}

static void print_fault(const char *name, const struct rom_fault *f)
{
    rom_printf("case %s: ", name);
    if (f->vector == PF)
        rom_printf("#PF err=0x%lx cr2=0x%lx", f->error, f->cr2);
    else
        rom_printf("exception vector=%lu err=0x%lx", f->vector, f->error);
}

/* Expected #PF error code ("Page-Fault Exceptions": P=1 W/R=2 U/S=4 RSVD=8 I/D=0x10), or OK. */
#define OK (-1L)

struct pcase {
    const char *name;
    int user;
    enum pg_op op;
    uint64_t pte;                       /* flags of space_a.pt[1] (frame 1) */
    uint64_t pde_clear, pde_set;        /* applied to space_a.pd[0] */
    uint64_t pml4e_set;                 /* applied to space_a.pml4[1] */
    int wp0;                            /* run with CR0.WP = 0 */
    long err;
};

#define RWU (PTE_P | PTE_RW | PTE_US)
static const struct pcase cases[] = {
    { "read-cpl0", 0, OP_R, RWU, 0, 0, 0, 0, OK },
    { "write-cpl0", 0, OP_W, RWU, 0, 0, 0, 0, OK },
    { "read-cpl3", 1, OP_R, RWU, 0, 0, 0, 0, OK },
    { "write-cpl3", 1, OP_W, RWU, 0, 0, 0, 0, OK },
    { "exec-cpl0", 0, OP_X, RWU, 0, 0, 0, 0, OK },
    { "exec-cpl3", 1, OP_X, RWU, 0, 0, 0, 0, OK },
    { "np-read-cpl0", 0, OP_R, 0, 0, 0, 0, 0, 0x0 },
    { "np-write-cpl0", 0, OP_W, 0, 0, 0, 0, 0, 0x2 },
    { "np-read-cpl3", 1, OP_R, 0, 0, 0, 0, 0, 0x4 },
    { "np-write-cpl3", 1, OP_W, 0, 0, 0, 0, 0, 0x6 },
    { "np-fetch-cpl0", 0, OP_X, 0, 0, 0, 0, 0, 0x10 },
    { "np-pde-read-cpl0", 0, OP_R, RWU, PTE_P, 0, 0, 0, 0x0 },
    /* P=0: every other bit is ignored, reserved ones included ("Page-Fault Exceptions"). */
    { "np-rsvd-read-cpl0", 0, OP_R, RSVD_BIT | PTE_RW | PTE_US, 0, 0, 0, 0, 0x0 },
    { "ro-read-cpl0", 0, OP_R, PTE_P | PTE_US, 0, 0, 0, 0, OK },
    { "ro-write-cpl0-wp1", 0, OP_W, PTE_P | PTE_US, 0, 0, 0, 0, 0x3 },
    { "ro-write-cpl0-wp0", 0, OP_W, PTE_P | PTE_US, 0, 0, 0, 1, OK },
    { "ro-read-cpl3", 1, OP_R, PTE_P | PTE_US, 0, 0, 0, 0, OK },
    { "ro-write-cpl3", 1, OP_W, PTE_P | PTE_US, 0, 0, 0, 0, 0x7 },
    { "ro-write-cpl3-wp0", 1, OP_W, PTE_P | PTE_US, 0, 0, 0, 1, 0x7 },
    /* Rights combine across levels ("Access Rights"): R/W=0 in the PDE makes the page read-only. */
    { "ro-pde-write-cpl0", 0, OP_W, RWU, PTE_RW, 0, 0, 0, 0x3 },
    { "sup-read-cpl0", 0, OP_R, PTE_P | PTE_RW, 0, 0, 0, 0, OK },
    { "sup-read-cpl3", 1, OP_R, PTE_P | PTE_RW, 0, 0, 0, 0, 0x5 },
    { "sup-write-cpl3", 1, OP_W, PTE_P | PTE_RW, 0, 0, 0, 0, 0x7 },
    { "sup-fetch-cpl3", 1, OP_X, PTE_P | PTE_RW, 0, 0, 0, 0, 0x15 },
    { "sup-pde-read-cpl3", 1, OP_R, RWU, PTE_US, 0, 0, 0, 0x5 },
    { "nx-read-cpl0", 0, OP_R, RWU | PTE_NX, 0, 0, 0, 0, OK },
    { "nx-fetch-cpl0", 0, OP_X, RWU | PTE_NX, 0, 0, 0, 0, 0x11 },
    { "nx-fetch-cpl3", 1, OP_X, RWU | PTE_NX, 0, 0, 0, 0, 0x15 },
    { "nx-pde-fetch-cpl0", 0, OP_X, RWU, 0, PTE_NX, 0, 0, 0x11 },
    { "rsvd-read-cpl0", 0, OP_R, RWU | RSVD_BIT, 0, 0, 0, 0, 0x9 },
    { "rsvd-write-cpl0", 0, OP_W, RWU | RSVD_BIT, 0, 0, 0, 0, 0xb },
    { "rsvd-write-cpl3", 1, OP_W, RWU | RSVD_BIT, 0, 0, 0, 0, 0xf },
    { "rsvd-fetch-cpl0", 0, OP_X, RWU | RSVD_BIT, 0, 0, 0, 0, 0x19 },
    { "rsvd-pde-read-cpl0", 0, OP_R, RWU, 0, RSVD_BIT, 0, 0, 0x9 },
    /* PS (bit 7) is reserved in a PML4E (4-level paging, "Format of a PML4 Entry"). */
    { "rsvd-pml4e-ps-read-cpl0", 0, OP_R, RWU, 0, 0, PTE_PS, 0, 0x9 },
};

static void run_case(const struct pcase *c)
{
    struct rom_fault f;
    const uint64_t va = VA(1), wvalue = 0x00c0ffee00c0ffeeULL;

    reset_space();
    space_a.pt[1] = FRAME_PA(1) | c->pte;
    space_a.pd[0] = (space_a.pd[0] & ~c->pde_clear) | c->pde_set;
    space_a.pml4[1] |= c->pml4e_set;
    if (c->op == OP_X)
        place_code(1);
    pg_load(&space_a);
    if (c->wp0)
        write_cr0(read_cr0() & ~(uint64_t)CR0_WP);

    int faulted = access(c->user, c->op, va, wvalue, &f);
    write_cr0(read_cr0() | CR0_WP);
    uint64_t leaf = space_a.pt[1], parent = space_a.pd[0];

    if (!faulted) {
        /* The value: what was read, what the frame holds after a write, or what the code returned. */
        uint64_t value = c->op == OP_W ? frames[1][0] : pg_acc.value;
        uint64_t want = c->op == OP_R ? pattern(1, 0) : c->op == OP_W ? wvalue : CODE_VALUE;
        rom_printf("case %s: ok value=0x%lx", c->name, value);
        print_ad(leaf, parent);
        if (c->err != OK)
            pg_expect(0, "#PF");
        pg_expect(value == want, "other value");
        pg_expect(pg_bit(leaf, PTE_A) && pg_bit(leaf, PTE_D) == (c->op == OP_W) && pg_bit(parent, PTE_A),
               c->op == OP_W ? "leaf=11 parent=1" : "leaf=10 parent=1");
    } else {
        print_fault(c->name, &f);
        print_ad(leaf, parent);
        if (c->err == OK) {
            pg_expect(0, "no fault");
        } else {
            pg_judge_err(&f, (uint64_t)c->err);
            pg_expect(f.cr2 == va, "cr2 = the page");
        }
        if (c->op == OP_W)
            pg_expect(frames[1][0] == pattern(1, 0), "frame unchanged");
    }
    rom_putc('\n');
}

/* ---- cases that need more than one PTE ---- */

static void case_large_pages(void)
{
    struct rom_fault f;

    /* 2 MiB page (PDE with PS = 1, 4-level paging tables). */
    reset_space();
    uint64_t va = REGION + 0x200000 + ((uintptr_t)&marker_2m & 0x1fffff);
    int faulted = access(0, OP_R, va, 0, &f);
    if (faulted) {
        print_fault("page-2m-read", &f);
        pg_expect(0, "no fault");
    } else {
        rom_printf("case page-2m-read: ok value=0x%lx", pg_acc.value);
        print_ad(space_a.pd[1], space_a.pdpt[0]);
        pg_expect(pg_acc.value == marker_2m, "marker_2m");
        pg_expect(pg_bit(space_a.pd[1], PTE_A) && !pg_bit(space_a.pd[1], PTE_D), "leaf=10");
    }
    rom_putc('\n');

    reset_space();
    faulted = access(0, OP_W, va, 0x2222000000000022ULL, &f);
    if (faulted) {
        print_fault("page-2m-write", &f);
        pg_expect(0, "no fault");
    } else {
        rom_printf("case page-2m-write: ok value=0x%lx", marker_2m);
        print_ad(space_a.pd[1], space_a.pdpt[0]);
        pg_expect(marker_2m == 0x2222000000000022ULL, "the written value");
        pg_expect(pg_bit(space_a.pd[1], PTE_A) && pg_bit(space_a.pd[1], PTE_D), "leaf=11");
    }
    marker_2m = 0x2222000000000002ULL;
    rom_putc('\n');

    /* 1 GiB page (PDPTE with PS = 1, 4-level paging tables). */
    reset_space();
    va = REGION + 0x40000000 + (uintptr_t)&marker_1g;
    faulted = access(0, OP_R, va, 0, &f);
    if (faulted) {
        print_fault("page-1g-read", &f);
        pg_expect(0, "no fault");
    } else {
        rom_printf("case page-1g-read: ok value=0x%lx", pg_acc.value);
        print_ad(space_a.pdpt[1], space_a.pml4[1]);
        pg_expect(pg_acc.value == marker_1g, "marker_1g");
        pg_expect(pg_bit(space_a.pdpt[1], PTE_A) && !pg_bit(space_a.pdpt[1], PTE_D), "leaf=10");
    }
    rom_putc('\n');

    /* A 2 MiB page whose frame is not 2 MiB aligned: bits 20:13 are reserved (the 2-MByte-page PDE format). */
    reset_space();
    space_a.pd[1] |= 0x100000;
    pg_load(&space_a);
    va = REGION + 0x200000;
    faulted = access(0, OP_R, va, 0, &f);
    if (faulted) {
        print_fault("page-2m-misaligned-read", &f);
        print_ad(space_a.pd[1], space_a.pdpt[0]);
        pg_judge_err(&f, 0x9);
        pg_expect(f.cr2 == va, "cr2 = the page");
    } else {
        rom_printf("case page-2m-misaligned-read: ok value=0x%lx", pg_acc.value);
        pg_expect(0, "#PF err=0x9");
    }
    rom_putc('\n');
}

static void case_invlpg(void)
{
    struct rom_fault f;

    /* INVLPG drops the stale translation ("Invalidation of TLBs and Paging-Structure
       Caches"); before it, either frame may be seen, so only the value after it is printed. */
    reset_space();
    space_a.pt[2] = FRAME_PA(2) | PTE_FLAGS;
    int faulted = access(0, OP_R, VA(2), 0, &f);        /* caches VA(2) -> frame 2 */
    space_a.pt[2] = FRAME_PA(3) | PTE_FLAGS;
    invlpg(VA(2));
    faulted |= access(0, OP_R, VA(2), 0, &f);
    if (faulted) {
        print_fault("invlpg", &f);
        pg_expect(0, "no fault");
    } else {
        rom_printf("case invlpg: ok value=0x%lx", pg_acc.value);
        pg_expect(pg_acc.value == pattern(3, 0), "frame 3");
    }
    rom_putc('\n');

    /* Not-present -> present needs INVLPG too in general; after it the page must work. */
    reset_space();
    faulted = access(0, OP_R, VA(2), 0, &f);
    int first = faulted && f.vector == PF && f.error == 0 && f.cr2 == VA(2);
    space_a.pt[2] = FRAME_PA(4) | PTE_FLAGS;
    invlpg(VA(2));
    faulted = access(0, OP_R, VA(2), 0, &f);
    if (faulted) {
        print_fault("invlpg-after-fault", &f);
        pg_expect(0, "no fault");
    } else {
        rom_printf("case invlpg-after-fault: ok value=0x%lx", pg_acc.value);
        pg_expect(first, "a #PF first");
        pg_expect(pg_acc.value == pattern(4, 0), "frame 4");
    }
    rom_putc('\n');
}

static void case_cr3_switch(void)
{
    struct rom_fault f;
    uint64_t va_a, va_b;

    reset_space();
    space_a.pt[5] = FRAME_PA(5) | PTE_FLAGS;
    pg_build(&space_b);
    space_b.pt[5] = FRAME_PA(6) | PTE_FLAGS;

    int faulted = access(0, OP_R, VA(5), 0, &f);
    va_a = pg_acc.value;
    pg_load(&space_b);
    faulted |= access(0, OP_R, VA(5), 0, &f);
    va_b = pg_acc.value;
    pg_load(&space_a);
    faulted |= access(0, OP_R, VA(5), 0, &f);
    if (faulted) {
        print_fault("cr3-switch", &f);
        pg_expect(0, "no fault");
    } else {
        rom_printf("case cr3-switch: ok value-a=0x%lx value-b=0x%lx value-a-again=0x%lx", va_a, va_b, pg_acc.value);
        pg_expect(va_a == pattern(5, 0) && va_b == pattern(6, 0) && pg_acc.value == va_a, "frames 5, 6, 5");
    }
    rom_putc('\n');
}

/* An 8-byte access at VA(6) + 0xffc: 4 bytes in VA(6) (present), 4 in VA(7) (not present). */
static void case_cross_page(const char *name, int user, enum pg_op op, long err)
{
    struct rom_fault f;
    const uint64_t va = VA(6) + PAGE - 4;

    reset_space();
    space_a.pt[6] = FRAME_PA(7) | PTE_FLAGS;
    pg_load(&space_a);
    int faulted = access(user, op, va, 0x5555555555555555ULL, &f);
    uint64_t first = space_a.pt[6];
    if (!faulted) {
        rom_printf("case %s: ok value=0x%lx", name, pg_acc.value);
        pg_expect(0, "#PF");
    } else {
        print_fault(name, &f);
        int unchanged = frames[7][511] == pattern(7, 511);
        rom_printf(" first-page=%s", unchanged ? "unchanged" : "changed");
        /* first-page A/D: the SDM leaves these open when the access faults. */
        rom_printf(" A/D first-leaf=%u%u", pg_bit(first, PTE_A), pg_bit(first, PTE_D));
        pg_expect(f.vector == PF && f.error == (uint64_t)err, "another error code");
        pg_expect(f.cr2 == VA(7), "cr2 = the second page");
        pg_expect(unchanged, "first page unchanged");
    }
    rom_putc('\n');
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom paging\n");

    uint32_t r[4];
    cpuid(0x80000000, 0, r);
    unsigned maxphy = 0, nx = 0, gb = 0;
    if (r[0] >= 0x80000008) {
        cpuid(0x80000008, 0, r);
        maxphy = r[0] & 0xff;
    }
    cpuid(0x80000001, 0, r);
    nx = pg_bit(r[3], 1u << 20);
    gb = pg_bit(r[3], 1u << 26);
    rom_printf("cpu: maxphyaddr=%u nx=%u page1gb=%u %s\n", maxphy, nx, gb,
               rom_verdict(maxphy >= 36 && maxphy <= 45 && nx && gb));

    pg_init();

    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    case_large_pages();
    case_invlpg();
    case_cr3_switch();
    case_cross_page("cross-page-read-cpl0", 0, OP_R, 0x0);
    case_cross_page("cross-page-write-cpl0", 0, OP_W, 0x2);
    case_cross_page("cross-page-write-cpl3", 1, OP_W, 0x6);

    pg_boot();                          /* back to the boot tables */
    rom_done();
}
