/*
 * ROM "paging-misc": 4-level paging details the "paging" ROM leaves out
 * (Intel SDM Vol. 3A, chapter "Paging"; quoted titles are its sections):
 * instruction fetches and data accesses that cross a page boundary, global
 * pages (CR4.PGE), A/D flags in every level, CR0.WP and EFER.NXE toggling.
 *
 * Our own PML4 copies the boot identity map (PML4[0]) and adds a test region
 * at REGION (PML4[1]) of 4 KiB pages, REGION + n * 4 KiB = space_a.pt[n], set per
 * case. Every case starts from reset_space(): CR4.PGE off (that flushes every
 * TLB entry, global ones too: SDM 4.10.4.1), tables rebuilt with A/D clear,
 * frames refilled, CR3 reloaded. Only values the SDM guarantees whatever a
 * TLB kept are printed: a stale read is never shown.
 */
#include "paging.h"

#define REGION      PG_REGION
#define PAGE        PG_PAGE
#define VA(n)       PG_VA(n)
#define PF          14
#define CR4_PGE     0x80ULL
#define PTE_G       0x100ULL
#define RWU         (PTE_P | PTE_RW | PTE_US)

static struct pg_space space_a, space_b;

#define NFRAMES 8
static volatile uint8_t frames[NFRAMES][4096] __attribute__((aligned(4096)));
#define FRAME_PA(k) ((uint64_t)(uintptr_t)frames[k])

static unsigned have_pge;

/* Byte i of frame k holds (k << 4) | (i & 15) before each case. */
static uint8_t pattern(unsigned k, unsigned i)
{
    return (uint8_t)((k << 4) | (i & 15));
}

/* The qword frame k holds at offset 0 before each case. */
static uint64_t pattern_q(unsigned k)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)pattern(k, i) << (8 * i);
    return v;
}

static void load_a(void) { pg_load(&space_a); }
static void pge(int on) { write_cr4(on ? read_cr4() | CR4_PGE : read_cr4() & ~CR4_PGE); }

static void reset_space(void)
{
    pge(0);                             /* flushes global entries as well (SDM 4.10.4.1) */
    pg_boot();                          /* never edit the live tables */
    for (unsigned k = 0; k < NFRAMES; k++)
        for (unsigned i = 0; i < 4096; i++)
            frames[k][i] = pattern(k, i);

    pg_build(&space_a);

    write_cr0(read_cr0() | CR0_WP);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    load_a();
}

/* ---- accessors, run through rom_try (CPL0) or rom_try_user (CPL3) ---- */

static int access(int user, enum pg_op op, uint64_t va, uint64_t value, struct rom_fault *f)
{
    return pg_access(user, op, 8, va, value, f);
}

/* ---- reporting ---- */

static void print_fault(const struct rom_fault *f)
{
    if (f->vector == PF)
        rom_printf("#PF err=0x%lx cr2=+0x%lx", f->error, f->cr2 - REGION);
    else
        rom_printf("exception vector=%lu err=0x%lx", f->vector, f->error);
}

#define OK (-1L)

/* ---- instruction fetches across a page boundary ---- */

/* movabs $CODE_VALUE, %rax (10 bytes); ret */
#define CODE_VALUE 0x600dc0de1234abcdULL
#define CODE_LEN 11
#define INSN_LEN 10

static void place_code_at(uint64_t off)
{
    /* off: offset from VA(1); frames 1 and 2 back VA(1) and VA(2). */
    uint8_t code[CODE_LEN] = { 0x48, 0xb8 };
    for (unsigned i = 0; i < 8; i++)
        code[2 + i] = (uint8_t)(CODE_VALUE >> (8 * i));
    code[10] = 0xc3;
    for (unsigned i = 0; i < CODE_LEN; i++) {
        uint64_t o = off + i;
        frames[o < PAGE ? 1 : 2][o & (PAGE - 1)] = code[i];
    }
}

struct fetch_kind {
    const char *name;
    int user;
    uint64_t pte2;                      /* flags of VA(2) */
    long err;                           /* SDM 4.7: P=1 W/R=2 U/S=4 RSVD=8 I/D=0x10 */
};

static const struct fetch_kind fetch_kinds[] = {
    { "ok-cpl0", 0, RWU, OK },
    { "ok-cpl3", 1, RWU, OK },
    { "np-cpl0", 0, 0, 0x10 },
    { "np-cpl3", 1, 0, 0x14 },
    { "nx-cpl0", 0, RWU | PTE_NX, 0x11 },
    { "nx-cpl3", 1, RWU | PTE_NX, 0x15 },
    { "sup-cpl3", 1, PTE_P | PTE_RW, 0x15 },
};

/*
 * The movabs starts `split` bytes before VA(2): split < 10 puts its tail on
 * the second page, so the fetch faults before it executes (RIP = its start,
 * CR2 = the first byte it could not fetch, VA(2)); split = 10 leaves it whole
 * on the first page and the fault hits the ret (RIP = insn + 10).
 */
static void case_fetch(const struct fetch_kind *k, unsigned split)
{
    struct rom_fault f;
    uint64_t insn = VA(2) - split;

    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    space_a.pt[2] = FRAME_PA(2) | k->pte2;
    place_code_at(PAGE - split);
    load_a();
    int faulted = access(k->user, OP_X, insn, 0, &f);
    rom_printf("case fetch-split%u-%s: ", split, k->name);
    if (!faulted) {
        rom_printf("ok rax=0x%lx", pg_acc.value);
        if (k->err != OK)
            pg_expect(0, "#PF");
        pg_expect(pg_acc.value == CODE_VALUE, "CODE_VALUE");
    } else {
        print_fault(&f);
        rom_printf(" rip=insn+%lu", f.rip - insn);
        if (k->err == OK) {
            pg_expect(0, "no fault");
        } else {
            pg_expect(f.vector == PF && f.error == (uint64_t)k->err, "another error code");
            pg_expect(f.cr2 == VA(2), "cr2 = the second page");
            pg_expect(f.rip == insn + (split < INSN_LEN ? 0 : INSN_LEN), "rip = the faulting instruction");
        }
    }
    rom_putc('\n');
}

/* ---- data accesses across a page boundary ---- */

struct data_kind {
    const char *name;
    int user;
    uint64_t pte2;
    long err_r, err_w;                  /* when the access reaches the second page */
};

static const struct data_kind data_kinds[] = {
    { "np-cpl0", 0, 0, 0x0, 0x2 },
    { "ro-cpl0", 0, PTE_P | PTE_US, OK, 0x3 },
    { "sup-cpl3", 1, PTE_P | PTE_RW, 0x5, 0x7 },
};

/* Little-endian value of `size` bytes at VA(2) - back, read through the identity map. */
static uint64_t mem_at(unsigned back, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = PAGE - back + i;
        v |= (uint64_t)frames[o < PAGE ? 1 : 2][o & (PAGE - 1)] << (8 * i);
    }
    return v;
}

static int frame_intact(unsigned k)
{
    for (unsigned i = 0; i < 4096; i++)
        if (frames[k][i] != pattern(k, i))
            return 0;
    return 1;
}

static uint64_t expected_mem(unsigned back, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = PAGE - back + i;
        v |= (uint64_t)pattern(o < PAGE ? 1 : 2, (unsigned)(o & (PAGE - 1))) << (8 * i);
    }
    return v;
}

static void case_data(const struct data_kind *k, enum pg_op op, unsigned size, unsigned back)
{
    struct rom_fault f;
    const uint64_t va = VA(2) - back, wvalue = 0xc8c7c6c5c4c3c2c1ULL;
    const uint64_t mask = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
    int crosses = back < size;
    long err = !crosses ? OK : op == OP_W ? k->err_w : k->err_r;

    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    space_a.pt[2] = FRAME_PA(2) | k->pte2;
    load_a();
    int faulted = pg_access(k->user, op, size, va, wvalue, &f);
    uint64_t pte1 = space_a.pt[1], pte2 = space_a.pt[2];

    rom_printf("case cross-%c%u-o%u-%s: ", op == OP_W ? 'w' : 'r', size, back, k->name);
    if (!faulted) {
        uint64_t v = op == OP_R ? pg_acc.value : mem_at(back, size);
        rom_printf("ok %s=0x%lx", op == OP_R ? "value" : "mem", v);
        if (err != OK)
            pg_expect(0, "#PF");
        pg_expect(v == (op == OP_R ? expected_mem(back, size) : (wvalue & mask)), "other value");
        /* SDM 4.8: every page the access used gets A; a written one also D. */
        pg_expect(pg_bit(pte1, PTE_A) && pg_bit(pte1, PTE_D) == (op == OP_W), "first A/D");
        if (crosses)
            pg_expect(pg_bit(pte2, PTE_A) && pg_bit(pte2, PTE_D) == (op == OP_W), "second A/D");
    } else {
        print_fault(&f);
        if (op == OP_W) {
            int first = frame_intact(1), second = frame_intact(2);
            rom_printf(" first-page=%s second-page=%s", first ? "unchanged" : "changed",
                       second ? "unchanged" : "changed");
            /* A fault is reported before the instruction takes effect (SDM 6.5, "Exception Classifications"). */
            pg_expect(first && second, "pages unchanged");
        }
        if (err == OK) {
            pg_expect(0, "no fault");
        } else {
            pg_expect(f.vector == PF && f.error == (uint64_t)err, "another error code");
            pg_expect(f.cr2 == VA(2), "cr2 = the second page");
        }
    }
    /* The first page's A/D on a fault: the SDM (4.8) leaves it open; QEMU's choice is recorded. */
    rom_printf(" A/D first=%u%u second=%u%u\n", pg_bit(pte1, PTE_A), pg_bit(pte1, PTE_D), pg_bit(pte2, PTE_A),
               pg_bit(pte2, PTE_D));
}

/* ---- global pages ---- */

static int read_va(uint64_t va, uint64_t *v)
{
    struct rom_fault f;
    int faulted = access(0, OP_R, va, 0, &f);
    *v = faulted ? 0xdeadULL : pg_acc.value;
    return faulted;
}

static void case_globals(void)
{
    uint64_t v1, v2, v3;
    int faulted;

    /* G=1 in both address spaces for the same frame: whatever the TLB keeps, frame 3. */
    reset_space();
    pg_build(&space_b);
    space_a.pt[3] = FRAME_PA(3) | PTE_FLAGS | PTE_G;
    space_b.pt[3] = FRAME_PA(3) | PTE_FLAGS | PTE_G;
    load_a();
    pge(1);
    faulted = read_va(VA(3), &v1);
    pg_load(&space_b);
    faulted |= read_va(VA(3), &v2);
    load_a();
    faulted |= read_va(VA(3), &v3);
    rom_printf("case global-cr3-switch: a=0x%lx b=0x%lx a-again=0x%lx", v1, v2, v3);
    pg_expect(!faulted && v1 == pattern_q(3) && v2 == v1 && v3 == v1, "frame 3 three times");
    rom_putc('\n');

    /* Changing CR4.PGE invalidates every TLB entry, global ones included (SDM 4.10.4.1). */
    reset_space();
    space_a.pt[3] = FRAME_PA(3) | PTE_FLAGS | PTE_G;
    load_a();
    pge(1);
    faulted = read_va(VA(3), &v1);
    space_a.pt[3] = FRAME_PA(4) | PTE_FLAGS | PTE_G;
    pge(0);
    faulted |= read_va(VA(3), &v2);
    pge(1);
    faulted |= read_va(VA(3), &v3);
    rom_printf("case global-pge-toggle: before=0x%lx pge-off=0x%lx pge-on=0x%lx", v1, v2, v3);
    pg_expect(!faulted && v1 == pattern_q(3) && v2 == pattern_q(4) && v3 == pattern_q(4), "frames 3, 4, 4");
    rom_putc('\n');

    /* With CR4.PGE = 0 the G flag is ignored (PTE format), so MOV to CR3 flushes the page. */
    reset_space();
    space_a.pt[3] = FRAME_PA(3) | PTE_FLAGS | PTE_G;
    load_a();
    faulted = read_va(VA(3), &v1);
    space_a.pt[3] = FRAME_PA(5) | PTE_FLAGS | PTE_G;
    load_a();
    faulted |= read_va(VA(3), &v2);
    rom_printf("case global-bit-pge0-cr3: before=0x%lx after=0x%lx", v1, v2);
    pg_expect(!faulted && v1 == pattern_q(3) && v2 == pattern_q(5), "frames 3, 5");
    rom_putc('\n');

    /* INVLPG invalidates a global translation too (SDM 4.10.4.1). */
    reset_space();
    space_a.pt[3] = FRAME_PA(3) | PTE_FLAGS | PTE_G;
    load_a();
    pge(1);
    faulted = read_va(VA(3), &v1);
    space_a.pt[3] = FRAME_PA(5) | PTE_FLAGS | PTE_G;
    invlpg(VA(3));
    faulted |= read_va(VA(3), &v2);
    rom_printf("case global-invlpg: before=0x%lx after=0x%lx", v1, v2);
    pg_expect(!faulted && v1 == pattern_q(3) && v2 == pattern_q(5), "frames 3, 5");
    rom_putc('\n');

    /* MOV to CR3 with PGE = 1 still flushes non-global translations (SDM 4.10.4.1). */
    reset_space();
    space_a.pt[4] = FRAME_PA(4) | PTE_FLAGS;
    space_a.pt[3] = FRAME_PA(3) | PTE_FLAGS | PTE_G;
    load_a();
    pge(1);
    faulted = read_va(VA(4), &v1);
    faulted |= read_va(VA(3), &v3);
    space_a.pt[4] = FRAME_PA(6) | PTE_FLAGS;
    load_a();
    faulted |= read_va(VA(4), &v2);
    rom_printf("case nonglobal-pge1-cr3: before=0x%lx after=0x%lx", v1, v2);
    pg_expect(!faulted && v1 == pattern_q(4) && v2 == pattern_q(6) && v3 == pattern_q(3), "frames 4, 6");
    rom_putc('\n');

    /* A global page is still a normal page: A and D are set as usual (SDM 4.8). */
    reset_space();
    space_a.pt[3] = FRAME_PA(3) | PTE_FLAGS | PTE_G;
    load_a();
    pge(1);
    struct rom_fault f;
    faulted = access(0, OP_W, VA(3), 0x1111, &f);
    rom_printf("case global-write-ad: %s A/D=%u%u g=%u", faulted ? "fault" : "ok", pg_bit(space_a.pt[3], PTE_A),
               pg_bit(space_a.pt[3], PTE_D), pg_bit(space_a.pt[3], PTE_G));
    pg_expect(!faulted && pg_bit(space_a.pt[3], PTE_A) && pg_bit(space_a.pt[3], PTE_D) && pg_bit(space_a.pt[3], PTE_G), "ok A/D=11 g=1");
    rom_putc('\n');

    reset_space();                      /* PGE off again: no global entry outlives this */
}

/* Code at the start of frame 1 for the fetch cases that stay on one page. */
static void place_ret(void)
{
    /* mov $0x600dc0de, %eax; ret */
    static const uint8_t code[6] = { 0xb8, 0xde, 0xc0, 0x0d, 0x60, 0xc3 };
    for (unsigned i = 0; i < sizeof code; i++)
        frames[1][i] = code[i];
}

/* ---- A/D flags in every level ---- */

static void print_levels(const char *name, int faulted, unsigned pte_idx)
{
    uint64_t pte = space_a.pt[pte_idx];
    rom_printf("case %s: %s pte=%u%u pde=%u pdpte=%u pml4e=%u", name, faulted ? "fault" : "ok", pg_bit(pte, PTE_A),
               pg_bit(pte, PTE_D), pg_bit(space_a.pd[0], PTE_A), pg_bit(space_a.pdpt[0], PTE_A), pg_bit(space_a.pml4[1], PTE_A));
}

static int levels_a(void)
{
    return pg_bit(space_a.pd[0], PTE_A) && pg_bit(space_a.pdpt[0], PTE_A) && pg_bit(space_a.pml4[1], PTE_A);
}

static void case_ad(void)
{
    struct rom_fault f;
    int faulted;

    /* SDM 4.8: a read sets A in every entry used, D nowhere. */
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    load_a();
    faulted = access(0, OP_R, VA(1), 0, &f);
    print_levels("ad-read", faulted, 1);
    pg_expect(!faulted && pg_bit(space_a.pt[1], PTE_A) && !pg_bit(space_a.pt[1], PTE_D) && levels_a(), "pte=10 and A above");
    pg_expect(!pg_bit(space_a.pd[0], PTE_D) && !pg_bit(space_a.pdpt[0], PTE_D) && !pg_bit(space_a.pml4[1], PTE_D), "no D above");
    rom_putc('\n');

    /* A write sets A and D in the PTE; D exists only in the leaf. */
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    load_a();
    faulted = access(0, OP_W, VA(1), 1, &f);
    print_levels("ad-write", faulted, 1);
    pg_expect(!faulted && pg_bit(space_a.pt[1], PTE_A) && pg_bit(space_a.pt[1], PTE_D) && levels_a(), "pte=11 and A above");
    rom_putc('\n');

    /* A fetch is a read for A/D purposes: A only. */
    reset_space();
    place_ret();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    load_a();
    faulted = access(0, OP_X, VA(1), 0, &f);
    print_levels("ad-fetch", faulted, 1);
    pg_expect(!faulted && pg_bit(space_a.pt[1], PTE_A) && !pg_bit(space_a.pt[1], PTE_D) && levels_a(), "pte=10 and A above");
    rom_putc('\n');

    /* A write to a page whose D is already set (A clear): A is set, D stays. */
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU | PTE_D;
    load_a();
    faulted = access(0, OP_W, VA(1), 1, &f);
    print_levels("ad-write-d-preset", faulted, 1);
    pg_expect(!faulted && pg_bit(space_a.pt[1], PTE_A) && pg_bit(space_a.pt[1], PTE_D) && levels_a(), "pte=11");
    rom_putc('\n');

    /* A write to a page with A and D both set leaves them set. */
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU | PTE_A | PTE_D;
    load_a();
    faulted = access(0, OP_W, VA(1), 1, &f);
    print_levels("ad-write-ad-preset", faulted, 1);
    pg_expect(!faulted && pg_bit(space_a.pt[1], PTE_A) && pg_bit(space_a.pt[1], PTE_D), "pte=11");
    rom_putc('\n');

    /* A read, then a write to the same page: the write sets D even though the
       read's translation (D=0) may be cached (SDM 4.8: D is set on the first write). */
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    load_a();
    faulted = access(0, OP_R, VA(1), 0, &f);
    unsigned d_after_read = pg_bit(space_a.pt[1], PTE_D);
    faulted |= access(0, OP_W, VA(1), 1, &f);
    print_levels("ad-read-then-write", faulted, 1);
    rom_printf(" d-after-read=%u", d_after_read);
    pg_expect(!faulted && !d_after_read && pg_bit(space_a.pt[1], PTE_A) && pg_bit(space_a.pt[1], PTE_D), "d 0 then pte=11");
    rom_putc('\n');

    /* Software clears A in all four levels, INVLPG (which also empties the
       paging-structure caches, SDM 4.10.4.1), then a read sets every A again. */
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    load_a();
    faulted = access(0, OP_R, VA(1), 0, &f);
    space_a.pt[1] &= ~(uint64_t)PTE_A;
    space_a.pd[0] &= ~(uint64_t)PTE_A;
    space_a.pdpt[0] &= ~(uint64_t)PTE_A;
    space_a.pml4[1] &= ~(uint64_t)PTE_A;
    invlpg(VA(1));
    faulted |= access(0, OP_R, VA(1), 0, &f);
    print_levels("ad-clear-a-invlpg-read", faulted, 1);
    pg_expect(!faulted && pg_bit(space_a.pt[1], PTE_A) && !pg_bit(space_a.pt[1], PTE_D) && levels_a(), "pte=10 and A above");
    rom_putc('\n');

    /* The same for D: clear A and D after a write, INVLPG, write again. */
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    load_a();
    faulted = access(0, OP_W, VA(1), 1, &f);
    space_a.pt[1] &= ~(uint64_t)(PTE_A | PTE_D);
    invlpg(VA(1));
    faulted |= access(0, OP_W, VA(1), 2, &f);
    print_levels("ad-clear-ad-invlpg-write", faulted, 1);
    pg_expect(!faulted && pg_bit(space_a.pt[1], PTE_A) && pg_bit(space_a.pt[1], PTE_D) && levels_a(), "pte=11 and A above");
    rom_putc('\n');
}

/* ---- CR0.WP and EFER.NXE toggling ---- */

static void set_wp(int on)
{
    write_cr0(on ? read_cr0() | CR0_WP : read_cr0() & ~(uint64_t)CR0_WP);
    load_a();                           /* no TLB entry survives the change */
}

static void set_nxe(int on)
{
    uint64_t efer = rdmsr(MSR_EFER);
    wrmsr(MSR_EFER, on ? efer | EFER_NXE : efer & ~(uint64_t)EFER_NXE);
    load_a();
}

/* One access on VA(1), without resetting the space; prints and judges. */
static void step(const char *name, int user, enum pg_op op, long err)
{
    struct rom_fault f;
    int faulted = access(user, op, VA(1), 0x0123456789abcdefULL, &f);
    uint64_t pte = space_a.pt[1];
    rom_printf("case %s: ", name);
    if (!faulted) {
        rom_printf("ok");
        if (op == OP_R)
            rom_printf(" value=0x%lx", pg_acc.value);
        if (op == OP_X)
            rom_printf(" rax=0x%lx", pg_acc.value);
        if (err != OK)
            pg_expect(0, "#PF");
    } else {
        print_fault(&f);
        if (err == OK) {
            pg_expect(0, "no fault");
        } else {
            pg_judge_err(&f, (uint64_t)err);
            pg_expect(f.cr2 == VA(1), "cr2 = the page");
        }
    }
    rom_printf(" A/D=%u%u\n", pg_bit(pte, PTE_A), pg_bit(pte, PTE_D));
}

static void case_wp(void)
{
    /* SDM 4.6: at CPL0 a read-only page is writable with CR0.WP = 0, not with WP = 1;
       at CPL3 WP makes no difference. One page, WP toggled between accesses. */
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | PTE_P | PTE_US;
    load_a();
    step("wp1-ro-write-cpl0", 0, OP_W, 0x3);
    set_wp(0);
    step("wp0-ro-write-cpl0", 0, OP_W, OK);
    rom_printf("case wp0-ro-write-cpl0-mem: 0x%lx", mem_at(PAGE, 8));
    pg_expect(mem_at(PAGE, 8) == 0x0123456789abcdefULL, "the written value");
    rom_putc('\n');
    step("wp0-ro-write-cpl3", 1, OP_W, 0x7);
    set_wp(1);
    step("wp1-ro-write-cpl0-again", 0, OP_W, 0x3);
    step("wp1-ro-read-cpl0", 0, OP_R, OK);
    set_wp(0);
    step("wp0-ro-read-cpl3", 1, OP_R, OK);
    set_wp(1);
}

static void case_nxe(void)
{
    /* SDM 4.6/4.5: with EFER.NXE = 1 an XD leaf forbids fetches; with NXE = 0 bit 63
       is reserved (4.5.4), so any access faults with RSVD. I/D is set only when
       NXE = 1 or SMEP = 1 (4.7), so the NXE = 0 fetches report I/D = 0. */
    reset_space();
    place_ret();
    space_a.pt[1] = FRAME_PA(1) | RWU | PTE_NX;
    load_a();
    step("nxe1-xd-read-cpl0", 0, OP_R, OK);
    step("nxe1-xd-fetch-cpl0", 0, OP_X, 0x11);
    step("nxe1-xd-fetch-cpl3", 1, OP_X, 0x15);
    set_nxe(0);
    step("nxe0-xd-read-cpl0", 0, OP_R, 0x9);
    step("nxe0-xd-write-cpl0", 0, OP_W, 0xb);
    step("nxe0-xd-read-cpl3", 1, OP_R, 0xd);
    step("nxe0-xd-fetch-cpl0", 0, OP_X, 0x9);
    step("nxe0-xd-fetch-cpl3", 1, OP_X, 0xd);
    set_nxe(1);
    step("nxe1-again-xd-fetch-cpl0", 0, OP_X, 0x11);
    step("nxe1-again-xd-read-cpl0", 0, OP_R, OK);

    /* XD in the PDE: same rules one level up. */
    reset_space();
    place_ret();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    space_a.pd[0] |= PTE_NX;
    load_a();
    step("nxe1-xd-pde-fetch-cpl0", 0, OP_X, 0x11);
    set_nxe(0);
    step("nxe0-xd-pde-read-cpl0", 0, OP_R, 0x9);
    set_nxe(1);

    /* A page without XD: fetches work either way; not present ones fault with I/D only if NXE = 1. */
    reset_space();
    place_ret();
    space_a.pt[1] = FRAME_PA(1) | RWU;
    load_a();
    step("nxe1-fetch-cpl0", 0, OP_X, OK);
    set_nxe(0);
    step("nxe0-fetch-cpl0", 0, OP_X, OK);
    space_a.pt[1] = 0;
    load_a();
    step("nxe0-np-fetch-cpl0", 0, OP_X, 0x0);
    step("nxe0-np-fetch-cpl3", 1, OP_X, 0x4);
    set_nxe(1);
    step("nxe1-np-fetch-cpl0", 0, OP_X, 0x10);
    step("nxe1-np-fetch-cpl3", 1, OP_X, 0x14);
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom paging-misc\n");

    uint32_t r[4];
    cpuid(1, 0, r);
    have_pge = pg_bit(r[3], 1u << 13);
    cpuid(0x80000001, 0, r);
    unsigned nx = pg_bit(r[3], 1u << 20);
    rom_printf("cpu: pge=%u nx=%u %s\n", have_pge, nx, rom_verdict(have_pge && nx));

    pg_init();

    for (unsigned k = 0; k < sizeof fetch_kinds / sizeof fetch_kinds[0]; k++)
        for (unsigned split = 1; split <= INSN_LEN; split++)
            case_fetch(&fetch_kinds[k], split);

    for (unsigned k = 0; k < sizeof data_kinds / sizeof data_kinds[0]; k++)
        for (int op = OP_R; op <= OP_W; op++)
            for (unsigned size = 2; size <= 8; size *= 2)
                for (unsigned back = 1; back <= 7; back++)
                    case_data(&data_kinds[k], (enum pg_op)op, size, back);

    if (have_pge)
        case_globals();
    case_ad();
    case_wp();
    case_nxe();

    reset_space();
    pg_boot();
    rom_done();
}
