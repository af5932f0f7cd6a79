/*
 * ROM "paging-rights": the access-rights matrix of 4-level paging (Intel SDM
 * Vol. 3A 4.6 "Access Rights", 4.6.2 "Protection Keys", 4.7 "Page-Fault
 * Exceptions"), then SMEP, SMAP and PKU when CPUID reports them, non-canonical
 * addresses, and 2 MiB / 1 GiB leaves.
 *
 * Tables are built the way the paging ROM builds them: our own PML4 copies the
 * boot identity map (PML4[0], every page U=1) and adds a test region at REGION
 * (PML4[1]):
 *   REGION + 4 KiB     space_a.pt[1]   the test page (frame 1)
 *   REGION + 2 MiB     space_a.pd[1]   2 MiB page over frame 1's 2 MiB frame
 *   REGION + 1 GiB     space_a.pdpt[1] 1 GiB page over physical 0
 * Every case starts from reset_space(), which rebuilds all of it with A/D clear,
 * and reloads CR3 (no global pages, so that flushes every translation).
 *
 * SMEP and SMAP would fault on the runtime itself (its code, IDT, GDT and
 * stacks sit in user pages of the boot map), so those cases run on pml4_s,
 * whose PML4[0] maps the low 4 GiB as supervisor 1 GiB pages; they only
 * run at CPL0.
 *
 * Every line is judged against a model of the SDM (sdm_want); where QEMU
 * differs in a known way, the line shows what QEMU gave and " (SDM: err=..)".
 */
#include "paging.h"

#define REGION      PG_REGION
#define PAGE        PG_PAGE
#define VA(n)       PG_VA(n)
#define PF          14
#define GP          13

#define CR4_SMEP    (1ULL << 20)
#define CR4_SMAP    (1ULL << 21)
#define CR4_PKE     (1ULL << 22)
#define PTE_PKEY(k) ((uint64_t)(k) << 59)   /* bits 62:59 of a leaf (SDM 4.6.2) */
#define PKEY        5

/* #PF error code bits (SDM 4.7) */
#define E_P         0x01
#define E_W         0x02
#define E_U         0x04
#define E_RSVD      0x08
#define E_ID        0x10
#define E_PK        0x20

static struct pg_space space_a;
static pg_table_t pml4_s __attribute__((aligned(4096)));
static pg_table_t pdpt_s __attribute__((aligned(4096)));

#define NFRAMES 2
static volatile uint64_t frames[NFRAMES][512] __attribute__((aligned(4096)));
#define FRAME_PA(k) ((uint64_t)(uintptr_t)frames[k])


static uint64_t pattern(unsigned k, unsigned j)
{
    return 0xa000000000000000ULL | ((uint64_t)k << 40) | j;
}

static void set_efer_nxe(int on)
{
    uint64_t e = rdmsr(MSR_EFER);
    wrmsr(MSR_EFER, on ? (e | EFER_NXE) : (e & ~(uint64_t)EFER_NXE));
}

static void set_wp(int on)
{
    uint64_t c = read_cr0();
    write_cr0(on ? (c | CR0_WP) : (c & ~(uint64_t)CR0_WP));
}

static void wrpkru(uint32_t v) { __asm__ volatile("wrpkru" : : "a"(v), "c"(0), "d"(0) : "memory"); }
static uint32_t rdpkru(void) { uint32_t a, d; __asm__ volatile("rdpkru" : "=a"(a), "=d"(d) : "c"(0)); return a; }

/* Back to a known state: boot CR3, CR4 extras off, WP=1, NXE=1; tables rebuilt. */
static void reset_space(void)
{
    write_cr4(read_cr4() & ~(CR4_SMEP | CR4_SMAP | CR4_PKE));
    pg_boot();                          /* never edit the live tables */
    set_wp(1);
    set_efer_nxe(1);
    for (unsigned k = 0; k < NFRAMES; k++)
        for (unsigned j = 0; j < 512; j++)
            frames[k][j] = pattern(k, j);

    pg_build(&space_a);

    /* Supervisor-only identity map for the SMEP/SMAP cases: U/S=0 in the
       PML4E and the PDPTEs makes every address below 4 GiB supervisor (4.6). */
    pg_clear(pml4_s);
    pg_clear(pdpt_s);
    pml4_s[0] = (uint64_t)(uintptr_t)pdpt_s | PTE_P | PTE_RW;
    pml4_s[1] = (uint64_t)(uintptr_t)space_a.pdpt | PTE_FLAGS;
    for (uint64_t i = 0; i < 4; i++)
        pdpt_s[i] = (i << 30) | PTE_P | PTE_RW | PTE_PS;
}

/* ---- accessors, run through rom_try (CPL0) or rom_try_user (CPL3) ---- */

/* With EFLAGS.AC=1 around the access (SMAP, 4.6.1); CLAC only if it did not fault
   (rom_trap resumes with RFLAGS=0x2, so AC ends 0 either way). */
static void do_read_ac(void *p)
{
    struct pg_acc *a = p;
    uint64_t v;
    __asm__ volatile("stac\n\tmovq (%1), %0\n\tclac" : "=r"(v) : "r"(a->va) : "memory", "cc");
    a->value = v;
}

static void do_write_ac(void *p)
{
    struct pg_acc *a = p;
    __asm__ volatile("stac\n\tmovq %0, (%1)\n\tclac" : : "r"(a->value), "r"(a->va) : "memory", "cc");
}

/* mov $0x600dc0de, %eax; ret */
static const uint8_t code_bytes[6] = { 0xb8, 0xde, 0xc0, 0x0d, 0x60, 0xc3 };
#define CODE_VALUE 0x600dc0deULL
#define WVALUE     0x00c0ffee00c0ffeeULL

static void place_code(unsigned k)
{
    volatile uint8_t *dst = (volatile uint8_t *)frames[k];
    for (unsigned i = 0; i < sizeof code_bytes; i++)
        dst[i] = code_bytes[i];
}

static const char *const op_name[] = { "read", "write", "fetch" };

static int access(int user, enum pg_op op, int ac, uint64_t va, struct rom_fault *f)
{
    void (*fn)(void *);
    if (op == OP_R)
        fn = ac ? do_read_ac : pg_do_read;
    else if (op == OP_W)
        fn = ac ? do_write_ac : pg_do_write;
    else
        fn = pg_do_exec;
    pg_acc.va = va;
    pg_acc.value = WVALUE;
    return user ? rom_try_user(fn, &pg_acc, f) : rom_try(fn, &pg_acc, f);
}

/* ---- the SDM model ---- */

/* Everything that decides one access. Entries above the PDE are P|RW|US. */
struct env {
    int lrw, lus, prw, pus;             /* leaf and parent R/W, U/S */
    int xdl, xdp;                       /* XD at the leaf, at the parent */
    int wp, nxe;                        /* CR0.WP, EFER.NXE */
    int smep, smap, ac;                 /* CR4.SMEP, CR4.SMAP, EFLAGS.AC */
    int pke, pk_ad, pk_wd;              /* CR4.PKE, PKRU.AD/WD of the leaf's key */
    int user;                           /* CPL3 */
    enum pg_op op;
};

#define OK (-1L)

/* Expected error code, or OK. *ordinary says whether the access also fails
   without the protection-key check (for the QEMU PK deviation). */
static long sdm_want(const struct env *e, int *ordinary)
{
    int w = e->op == OP_W, x = e->op == OP_X;
    /* 4.7: I/D is set for a fetch only if SMEP=1 or (PAE and NXE=1). */
    long err = E_P | (w ? E_W : 0) | (e->user ? E_U : 0) | (x && (e->smep || e->nxe) ? E_ID : 0);
    *ordinary = 0;

    /* 4.5 (4-level entry formats): bit 63 is reserved unless EFER.NXE=1. */
    if (!e->nxe && (e->xdl || e->xdp)) {
        *ordinary = 1;
        return err | E_RSVD;
    }

    /* 4.6: a user-mode address has U/S=1 at every level; R/W and XD combine likewise. */
    int uaddr = e->lus && e->pus;
    int writable = e->lrw && e->prw;
    int nx = e->nxe && (e->xdl || e->xdp);
    int deny = 0;

    if (e->user) {
        if (!uaddr || (w && !writable) || (x && nx))
            deny = 1;
    } else {
        /* 4.6.1: supervisor-mode accesses */
        if (x)
            deny = nx || (uaddr && e->smep);
        else if (uaddr && e->smap && !e->ac)
            deny = 1;                   /* explicit access, AC=0 */
        else if (w && e->wp && !writable)
            deny = 1;
    }
    *ordinary = deny;

    /* 4.6.2: protection keys apply to data accesses to user-mode addresses;
       WD stops supervisor writes only when CR0.WP=1. 4.7: PK whenever the key forbids it. */
    int pk = e->pke && uaddr && !x && (e->pk_ad || (e->pk_wd && w && (e->wp || e->user)));
    if (pk)
        return err | E_PK;
    return deny ? err : OK;
}

/* ---- running and printing one case ---- */

static long deviations, ad_notes;

/*
 * Runs the access described by *e at va (frame 1 behind it), with the tables
 * already built, and prints the outcome: "ok" or "#PF err=.. cr2=..", then the
 * leaf's A/D. cr2 is printed relative to cr2_base (REGION, or the accessed
 * address when that depends on the link layout: then "cr2=va+0x..").
 */
static void run(const struct env *e, uint64_t va, volatile uint64_t *leaf, uint64_t cr3,
                uint64_t cr2_base, const char *cr2_prefix, volatile uint64_t *data)
{
    struct rom_fault f;
    int ordinary;
    long want = sdm_want(e, &ordinary);

    if (e->op == OP_X)
        place_code(1);
    set_wp(e->wp);
    set_efer_nxe(e->nxe);
    write_cr3(cr3);
    uint64_t cr4 = read_cr4();
    if (e->pke) {
        write_cr4(cr4 | CR4_PKE);
        wrpkru((uint32_t)((e->pk_ad ? 1u : 0u) | (e->pk_wd ? 2u : 0u)) << (2 * PKEY));
    }
    write_cr4(read_cr4() | (e->smep ? CR4_SMEP : 0) | (e->smap ? CR4_SMAP : 0));

    int faulted = access(e->user, e->op, e->ac, va, &f);

    write_cr4(read_cr4() & ~(CR4_SMEP | CR4_SMAP));
    if (e->pke) {
        wrpkru(0);
        write_cr4(read_cr4() & ~CR4_PKE);
    }
    set_wp(1);
    set_efer_nxe(1);
    uint64_t l = *leaf;

    if (!faulted) {
        rom_puts("ok");
    } else if (f.vector == PF) {
        rom_printf("#PF err=0x%lx cr2=%s0x%lx", f.error, cr2_prefix, f.cr2 - cr2_base);
    } else {
        rom_printf("exception vector=%lu err=0x%lx", f.vector, f.error);
    }
    rom_printf(" ad=%u%u", pg_bit(l, PTE_A), pg_bit(l, PTE_D));
    /* 4.8 does not say whether a walk that faults on the rights sets the leaf's A
       flag; QEMU 7.2 does so for a 1 GiB leaf only. Flag it, do not judge it. */
    if (faulted && (pg_bit(l, PTE_A) || pg_bit(l, PTE_D))) {
        rom_puts(" (A/D on a fault: SDM 4.8 leaves open)");
        ad_notes++;
    }

    if (!faulted) {
        uint64_t value = e->op == OP_W ? *data : pg_acc.value;
        uint64_t wantv = e->op == OP_R ? pattern(1, 0) : e->op == OP_W ? WVALUE : CODE_VALUE;
        if (want != OK)
            rom_printf(" %s expected err=0x%lx", rom_verdict(0), want);
        pg_expect(value == wantv, "another value");
        pg_expect(pg_bit(l, PTE_A) && pg_bit(l, PTE_D) == (e->op == OP_W), e->op == OP_W ? "ad=11" : "ad=10");
    } else if (want == OK) {
        pg_expect(0, "ok");
    } else {
        uint64_t w = (uint64_t)want;
        /* Known QEMU 7.2 deviations (DEVIATIONS.md): RSVD without P (4.7);
           PK left out when the ordinary rights deny the access as well (4.7). */
        int rsvd_no_p = (w & E_RSVD) && f.error == (w & ~(uint64_t)E_P);
        int pk_missing = (w & E_PK) && ordinary && f.error == (w & ~(uint64_t)E_PK);
        pg_expect(f.vector == PF && (f.error == w || rsvd_no_p || pk_missing), "another error code");
        if (f.vector == PF && f.error != w && (rsvd_no_p || pk_missing)) {
            rom_printf(" (SDM: err=0x%lx)", w);
            deviations++;
        }
        pg_expect(f.vector != PF || f.cr2 == va, "cr2 = the address");
        if (e->op == OP_W)
            pg_expect(*data == pattern(1, 0), "memory unchanged");
    }
    rom_putc('\n');
}

static const char *rights(int rw, int us)
{
    static const char *const s[4] = { "RO/S", "RW/S", "RO/U", "RW/U" };
    return s[(us ? 2 : 0) | (rw ? 1 : 0)];
}

/* The 4 KiB test page: space_a.pt[1] -> frame 1; parent = space_a.pd[0]. */
static void build_4k(const struct env *e, uint64_t pkey)
{
    reset_space();
    space_a.pt[1] = FRAME_PA(1) | PTE_P | (e->lrw ? PTE_RW : 0) | (e->lus ? PTE_US : 0) |
              (e->xdl ? PTE_NX : 0) | pkey;
    space_a.pd[0] = (uint64_t)(uintptr_t)space_a.pt | PTE_P | (e->prw ? PTE_RW : 0) | (e->pus ? PTE_US : 0) |
              (e->xdp ? PTE_NX : 0);
}

static void run_4k(const struct env *e, uint64_t pkey, uint64_t cr3)
{
    build_4k(e, pkey);
    run(e, VA(1), &space_a.pt[1], cr3, REGION, "", &frames[1][0]);
}

static const char *xd_name(const struct env *e)
{
    return e->xdl ? "leaf" : e->xdp ? "pde" : "none";
}

/* ---- sections ---- */

static void matrix(void)
{
    for (int nxe = 1; nxe >= 0; nxe--)
    for (int wp = 1; wp >= 0; wp--)
    for (int prw = 1; prw >= 0; prw--)
    for (int pus = 1; pus >= 0; pus--)
    for (int lrw = 1; lrw >= 0; lrw--)
    for (int lus = 1; lus >= 0; lus--)
    for (int xd = 0; xd < 3; xd++)
    for (int user = 0; user < 2; user++)
    for (int op = OP_R; op <= OP_X; op++) {
        struct env e = { .lrw = lrw, .lus = lus, .prw = prw, .pus = pus,
                         .xdl = xd == 1, .xdp = xd == 2, .wp = wp, .nxe = nxe,
                         .user = user, .op = (enum pg_op)op };
        rom_printf("leaf=%s pde=%s xd=%s wp=%d nxe=%d cpl%d %s: ", rights(lrw, lus), rights(prw, pus),
                   xd_name(&e), wp, nxe, user ? 3 : 0, op_name[op]);
        run_4k(&e, 0, (uint64_t)(uintptr_t)space_a.pml4);
    }
}

/* SMEP (4.6.1): supervisor fetches from user-mode addresses fault, with I/D
   even when NXE=0 (4.7); data accesses are unaffected. CPL0 only. */
static void smep_cases(void)
{
    for (int nxe = 1; nxe >= 0; nxe--)
    for (int pus = 1; pus >= 0; pus--)
    for (int lus = 1; lus >= 0; lus--)
    for (int xdl = 0; xdl < 2; xdl++)
    for (int op = OP_R; op <= OP_X; op++) {
        struct env e = { .lrw = 1, .lus = lus, .prw = 1, .pus = pus, .xdl = xdl,
                         .wp = 1, .nxe = nxe, .smep = 1, .op = (enum pg_op)op };
        rom_printf("smep leaf=%s pde=%s xd=%s nxe=%d cpl0 %s: ", rights(1, lus), rights(1, pus),
                   xd_name(&e), nxe, op_name[op]);
        run_4k(&e, 0, (uint64_t)(uintptr_t)pml4_s);
    }
}

/* SMAP (4.6.1): explicit supervisor data accesses to user-mode addresses
   fault unless EFLAGS.AC=1; then writes follow CR0.WP. Fetches are unaffected. CPL0 only. */
static void smap_cases(void)
{
    for (int wp = 1; wp >= 0; wp--)
    for (int pus = 1; pus >= 0; pus--)
    for (int lrw = 1; lrw >= 0; lrw--)
    for (int lus = 1; lus >= 0; lus--)
    for (int ac = 0; ac < 2; ac++)
    for (int op = OP_R; op <= OP_X; op++) {
        if (op == OP_X && ac)
            continue;
        struct env e = { .lrw = lrw, .lus = lus, .prw = 1, .pus = pus, .wp = wp, .nxe = 1,
                         .smap = 1, .ac = ac, .op = (enum pg_op)op };
        rom_printf("smap leaf=%s pde=%s wp=%d ac=%d cpl0 %s: ", rights(lrw, lus), rights(1, pus),
                   wp, ac, op_name[op]);
        run_4k(&e, 0, (uint64_t)(uintptr_t)pml4_s);
    }
}

/* PKU (4.6.2): leaf key PKEY; PKRU.AD/WD for it; CPL0 and CPL3; WP both ways. */
static void pku_cases(void)
{
    static const char *const pk_name[4] = { "none", "AD", "WD", "AD|WD" };

    /* PKRU read back at CPL0 and CPL3 (RDPKRU needs CR4.PKE=1). */
    reset_space();
    write_cr3((uint64_t)(uintptr_t)space_a.pml4);
    write_cr4(read_cr4() | CR4_PKE);
    uint32_t r[4];
    cpuid(7, 0, r);
    unsigned ospke = pg_bit(r[2], 1u << 4);
    wrpkru(3u << (2 * PKEY));
    uint32_t v = rdpkru();
    wrpkru(0);
    write_cr4(read_cr4() & ~CR4_PKE);
    cpuid(7, 0, r);
    rom_printf("pku: ospke with CR4.PKE=1: %u, after: %u; wrpkru 0x%x rdpkru 0x%x %s\n", ospke,
               pg_bit(r[2], 1u << 4), 3u << (2 * PKEY), v,
               rom_verdict(ospke && !pg_bit(r[2], 1u << 4) && v == 3u << (2 * PKEY)));

    for (int pke = 1; pke >= 0; pke--)
    for (int wp = 1; wp >= 0; wp--)
    for (int lus = 1; lus >= 0; lus--)
    for (int lrw = 1; lrw >= 0; lrw--)
    for (int pk = 0; pk < 4; pk++)
    for (int user = 0; user < 2; user++)
    for (int op = OP_R; op <= OP_X; op++) {
        if (!pke && pk)                 /* WRPKRU needs CR4.PKE=1; key bits are then ignored */
            continue;
        struct env e = { .lrw = lrw, .lus = lus, .prw = 1, .pus = 1, .wp = wp, .nxe = 1,
                         .pke = pke, .pk_ad = pk & 1, .pk_wd = (pk >> 1) & 1,
                         .user = user, .op = (enum pg_op)op };
        rom_printf("pku pke=%d key=%d pkru=%s leaf=%s wp=%d cpl%d %s: ", pke, PKEY, pk_name[pk],
                   rights(lrw, lus), wp, user ? 3 : 0, op_name[op]);
        run_4k(&e, PTE_PKEY(PKEY), (uint64_t)(uintptr_t)space_a.pml4);
    }
}

/* Non-canonical addresses: #GP(0), not #PF (Vol. 3A 3.3.7.1, 4.5); a canonical
   address with no PML4E gives #PF. */
static void noncanonical_cases(void)
{
    static const uint64_t addrs[3] = { 0x0000800000000000ULL, 0xffff7ffffffffff8ULL,
                                       0xffff800000000000ULL };
    for (int i = 0; i < 3; i++)
    for (int user = 0; user < 2; user++)
    for (int op = OP_R; op <= OP_X; op++) {
        struct rom_fault f;
        reset_space();
        write_cr3((uint64_t)(uintptr_t)space_a.pml4);
        int faulted = access(user, (enum pg_op)op, 0, addrs[i], &f);
        int canonical = i == 2;
        rom_printf("addr=0x%016lx cpl%d %s: ", addrs[i], user ? 3 : 0, op_name[op]);
        if (!faulted) {
            rom_printf("ok %s expected a fault", rom_verdict(0));
        } else if (f.vector == PF) {
            rom_printf("#PF err=0x%lx cr2=0x%lx", f.error, f.cr2);
            uint64_t w = (user ? E_U : 0) | (op == OP_W ? E_W : 0) | (op == OP_X ? E_ID : 0);
            pg_expect(canonical && f.error == w && f.cr2 == addrs[i], "#PF on the address");
        } else {
            rom_printf("#%s err=0x%lx", f.vector == GP ? "GP" : "other", f.error);
            if (f.vector != GP)
                rom_printf(" vector=%lu", f.vector);
            pg_expect(!canonical && f.vector == GP && f.error == 0, "#GP(0)");
        }
        rom_putc('\n');
    }
}

/* 2 MiB (PDE, PS=1) and 1 GiB (PDPTE, PS=1) leaves over frame 1, rights varied. */
static void large_cases(void)
{
    static const struct { int rw, us, xd, wp; } leaves[6] = {
        { 1, 1, 0, 1 }, { 0, 1, 0, 1 }, { 1, 0, 0, 1 }, { 0, 0, 0, 1 }, { 1, 1, 1, 1 }, { 0, 0, 0, 0 },
    };
    const uint64_t fpa = FRAME_PA(1);

    for (int size = 0; size < 2; size++)
    for (int i = 0; i < 6; i++)
    for (int user = 0; user < 2; user++)
    for (int op = OP_R; op <= OP_X; op++) {
        struct env e = { .lrw = leaves[i].rw, .lus = leaves[i].us, .prw = 1, .pus = 1,
                         .xdl = leaves[i].xd, .wp = leaves[i].wp, .nxe = 1,
                         .user = user, .op = (enum pg_op)op };
        uint64_t flags = PTE_P | PTE_PS | (e.lrw ? PTE_RW : 0) | (e.lus ? PTE_US : 0) | (e.xdl ? PTE_NX : 0);
        volatile uint64_t *leaf;
        uint64_t va;
        reset_space();
        if (size == 0) {
            space_a.pd[1] = (fpa & ~0x1fffffULL) | flags;
            leaf = &space_a.pd[1];
            va = REGION + 0x200000 + (fpa & 0x1fffff);
        } else {
            space_a.pdpt[1] = (fpa & ~0x3fffffffULL) | flags;
            leaf = &space_a.pdpt[1];
            va = REGION + 0x40000000 + (fpa & 0x3fffffff);
        }
        rom_printf("page=%s leaf=%s xd=%s wp=%d nxe=1 cpl%d %s: ", size ? "1g" : "2m",
                   rights(e.lrw, e.lus), e.xdl ? "leaf" : "none", e.wp, user ? 3 : 0, op_name[op]);
        run(&e, va, leaf, (uint64_t)(uintptr_t)space_a.pml4, va, "va+", &frames[1][0]);
    }
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom paging-rights\n");

    uint32_t r[4];
    unsigned maxphy = 0, smep = 0, smap = 0, pku = 0;
    cpuid(0x80000000, 0, r);
    if (r[0] >= 0x80000008) {
        cpuid(0x80000008, 0, r);
        maxphy = r[0] & 0xff;
    }
    cpuid(0x80000001, 0, r);
    unsigned nx = pg_bit(r[3], 1u << 20), gb = pg_bit(r[3], 1u << 26);
    cpuid(0, 0, r);
    if (r[0] >= 7) {
        cpuid(7, 0, r);
        smep = pg_bit(r[1], 1u << 7);
        smap = pg_bit(r[1], 1u << 20);
        pku = pg_bit(r[2], 1u << 3);
    }
    rom_printf("cpuid: maxphyaddr=%u nx=%u page1gb=%u smep=%u smap=%u pku=%u %s\n", maxphy, nx, gb,
               smep, smap, pku, rom_verdict(nx && gb));

    pg_init();

    matrix();
    if (smep)
        smep_cases();
    if (smap)
        smap_cases();
    if (pku)
        pku_cases();
    noncanonical_cases();
    large_cases();

    reset_space();
    pg_boot();
    rom_printf("sdm-deviations: %ld, A/D on a fault: %ld\n", deviations, ad_notes);
    rom_done();
}
