/*
 * ROM "segments": segment bases in 64-bit mode.
 *
 * FS.base / GS.base through IA32_FS_BASE / IA32_GS_BASE, IA32_KERNEL_GS_BASE
 * with SWAPGS, fs:/gs: accesses at every size and addressing form, the
 * es:/ds:/ss:/cs: bases (and limits) being ignored, canonical checks on the
 * MSRs, on RD/WR{FS,GS}BASE and on FS-relative linear addresses.
 *
 * Every address printed is relative to `buf`; no absolute address is printed.
 * Where QEMU 7.2 is known to differ from the SDM (no #GP on a non-canonical
 * WRMSR/WRFSBASE/WRGSBASE; es:/ds:/ss:/cs: prefix bases applied), the case
 * accepts both and prints the SDM's result after QEMU's as " (SDM: ...)", as
 * the exceptions ROM does: cr3 prints the part in parentheses in its place.
 * Note: the runtime's fault path (rom_try_resume) reloads FS and GS with a
 * selector, so every case sets the bases it needs itself.
 */
#include "runtime.h"

#define MSR_FS_BASE        0xC0000100
#define MSR_GS_BASE        0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102
#define CR4_FSGSBASE       (1ULL << 16)   /* SDM Vol. 3A 2.5 */

#define V_UD 6
#define V_GP 13

#define PRESET 0x5555555555555555ULL    /* RAX before a load: shows what a narrow load keeps */
#define STVAL  0x8877665544332211ULL    /* RAX before a store */

/* The buffer every fs:/gs: access lands in; 0x40 bytes, refilled before each case. */
static uint8_t buf[0x40] __attribute__((aligned(64)));
static uint8_t ref[0x40];

static uint8_t pat(unsigned i) { return (uint8_t)(0x13 + i * 0x25); }
static void fill(void)
{
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = ref[i] = pat(i);
}
static uint64_t bufa(int64_t off) { return (uint64_t)(uintptr_t)buf + (uint64_t)off; }
static uint64_t ldref(unsigned off, int size)
{
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
        v = (v << 8) | ref[off + i];
    return v;
}
static void stref(unsigned off, int size, uint64_t v)
{
    for (int i = 0; i < size; i++)
        ref[off + i] = (uint8_t)(v >> (8 * i));
}
static uint64_t sext(uint64_t v, int size)
{
    int sh = 64 - 8 * size;
    return (uint64_t)((int64_t)(v << sh) >> sh);
}

/* Prints an address as buf+0x.. / buf-0x.. when near buf, else as a plain value. */
static void put_rel(uint64_t v)
{
    uint64_t d = v - bufa(0);
    if (d < 0x10000)
        rom_printf("buf+0x%lx", d);
    else if (-d <= 0x10000)
        rom_printf("buf-0x%lx", -d);
    else
        rom_printf("0x%016lx", v);
}

static void put_fault(int r, const struct rom_fault *f)
{
    if (!r)
        rom_puts("no fault");
    else
        rom_printf("%s vector=%lu err=0x%lx", f->vector == V_GP ? "#GP" : f->vector == V_UD ? "#UD" : "#??",
                   f->vector, f->error);
}

static void dump(unsigned from, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        rom_printf("%02x", buf[from + i]);
}

static int buf_matches_ref(void)
{
    for (unsigned i = 0; i < sizeof buf; i++)
        if (buf[i] != ref[i])
            return 0;
    return 1;
}

/* ---- small helpers run at CPL0 under rom_try ---- */

struct msrop { uint32_t msr; uint64_t val; };
static void do_wrmsr(void *v) { struct msrop *m = v; wrmsr(m->msr, m->val); }

static int fsgsbase;                    /* CPUID.(EAX=7,ECX=0):EBX[0] */

/* ---- 1. the base MSRs and SWAPGS ---- */

static const uint64_t msr_vals[] = {
    0x0000123456789abcULL, 0x00007fffffffffffULL, 0xffff800000000000ULL, 0xfffffffffffff000ULL, 0,
};

static void check_msrs(void)
{
    static const uint32_t msrs[3] = { MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE };
    static const char *const names[3] = { "fs_base", "gs_base", "kernel_gs_base" };

    for (unsigned m = 0; m < 3; m++)
        for (unsigned i = 0; i < sizeof msr_vals / sizeof msr_vals[0]; i++) {
            /* The other two MSRs hold distinct markers: a write must touch only its own. */
            uint64_t other[3];
            for (unsigned k = 0; k < 3; k++)
                if (k != m)
                    wrmsr(msrs[k], 0x1000 * (k + 1));
            wrmsr(msrs[m], msr_vals[i]);
            uint64_t got = rdmsr(msrs[m]);
            for (unsigned k = 0; k < 3; k++)
                other[k] = rdmsr(msrs[k]);
            int others_ok = 1;
            for (unsigned k = 0; k < 3; k++)
                if (k != m && other[k] != 0x1000 * (k + 1))
                    others_ok = 0;
            rom_printf("case msr-%s wr=0x%016lx: rd=0x%016lx others=%s %s\n", names[m], msr_vals[i], got,
                       others_ok ? "kept" : "changed", rom_verdict(got == msr_vals[i] && others_ok));
        }

    /* WRMSR of a non-canonical value to these MSRs: #GP(0) (SDM Vol. 2B WRMSR, Protected Mode Exceptions;
     * Vol. 4 table 2-2). Both values are non-canonical for 48- and for 57-bit linear addresses. */
    static const uint64_t bad[2] = { 0x8000000000000000ULL, 0x0100000000000000ULL };
    for (unsigned m = 0; m < 3; m++)
        for (unsigned i = 0; i < 2; i++) {
            struct rom_fault f;
            struct msrop op = { msrs[m], bad[i] };
            wrmsr(MSR_KERNEL_GS_BASE, 0x4000);
            int r = rom_try(do_wrmsr, &op, &f);
            int sdm = r == 1 && f.vector == V_GP && f.error == 0;
            rom_printf("case msr-%s wr=0x%016lx noncanonical: ", names[m], bad[i]);
            put_fault(r, &f);
            /* The fault path reloads FS/GS (so their bases are not checked afterwards); KERNEL_GS_BASE stays. */
            uint64_t kgs = rdmsr(MSR_KERNEL_GS_BASE);
            if (m == 2) {
                rom_printf(" kept=%s", kgs == 0x4000 ? "yes" : "no");
                sdm = sdm && kgs == 0x4000;
            }
            /* QEMU 7.2 stores the value without a fault. */
            int qemu = r == 0 && rdmsr(msrs[m]) == bad[i];
            if (r == 0)
                rom_printf(" rd=0x%016lx", rdmsr(msrs[m]));
            if (!sdm && qemu)
                rom_printf(" (SDM: #GP vector=13 err=0x0%s)", m == 2 ? " kept=yes" : "");
            rom_printf(" %s\n", rom_verdict(sdm || qemu));
        }
}

/* SWAPGS exchanges GS.base and IA32_KERNEL_GS_BASE (SDM Vol. 2B SWAPGS). */
static void check_swapgs(void)
{
    wrmsr(MSR_GS_BASE, 0x0000111122223333ULL);
    wrmsr(MSR_KERNEL_GS_BASE, 0xffff888877776000ULL);
    wrmsr(MSR_FS_BASE, 0x5000);
    __asm__ volatile("swapgs" ::: "memory");
    uint64_t gs = rdmsr(MSR_GS_BASE), kgs = rdmsr(MSR_KERNEL_GS_BASE), fs = rdmsr(MSR_FS_BASE);
    rom_printf("case swapgs: gs_base=0x%016lx kernel_gs_base=0x%016lx fs_base=0x%lx %s\n", gs, kgs, fs,
               rom_verdict(gs == 0xffff888877776000ULL && kgs == 0x0000111122223333ULL && fs == 0x5000));
    __asm__ volatile("swapgs" ::: "memory");
    gs = rdmsr(MSR_GS_BASE);
    kgs = rdmsr(MSR_KERNEL_GS_BASE);
    rom_printf("case swapgs-twice: gs_base=0x%016lx kernel_gs_base=0x%016lx %s\n", gs, kgs,
               rom_verdict(gs == 0x0000111122223333ULL && kgs == 0xffff888877776000ULL));

    /* After SWAPGS, gs: accesses use the former KERNEL_GS_BASE. */
    fill();
    wrmsr(MSR_GS_BASE, 0x100);
    wrmsr(MSR_KERNEL_GS_BASE, bufa(0x8));
    uint64_t v;
    __asm__ volatile("swapgs\n\t"
                     "movq %%gs:0x10, %0\n\t"
                     "swapgs"
                     : "=r"(v) : : "memory");
    gs = rdmsr(MSR_GS_BASE);
    kgs = rdmsr(MSR_KERNEL_GS_BASE);
    rom_printf("case swapgs-access: swapgs; movq %%gs:0x10 (kernel_gs_base=buf+0x8) -> 0x%016lx, back: gs_base=0x%lx kernel_gs_base=",
               v, gs);
    put_rel(kgs);
    rom_printf(" %s\n", rom_verdict(v == ldref(0x18, 8) && gs == 0x100 && kgs == bufa(0x8)));
}

/* ---- 2. fs:/gs: loads and stores ---- */

struct sio { uint64_t rax, rbx, rcx, rdx, rsi, rdi; };

/* RBX = 4, RCX = 3, RDX = 0xfffffff0, RSI and RDI per case. */
#define SEGOP(name, text)                                                                          \
    static const char name##_s[] = #text;                                                          \
    static void name(void *v)                                                                      \
    {                                                                                              \
        struct sio *p = v;                                                                         \
        __asm__ volatile(text : "+a"(p->rax), "+S"(p->rsi), "+D"(p->rdi)                           \
                         : "b"(p->rbx), "c"(p->rcx), "d"(p->rdx) : "memory", "cc");               \
    }

/* Loads. off = where in buf the data lies, ext: 0 = merge into RAX, 1 = zero-extend, 2 = sign-extend. */
SEGOP(ld_b,     "movb %%fs:(%%rbx), %%al")
SEGOP(ld_w,     "movw %%fs:2(%%rbx), %%ax")
SEGOP(ld_l,     "movl %%fs:-4(%%rbx,%%rcx,4), %%eax")
SEGOP(ld_q,     "movq %%fs:8(%%rbx,%%rcx,8), %%rax")
SEGOP(ld_abs,   "movq %%fs:0x10, %%rax")
SEGOP(ld_moffs, "movabsq %%fs:0x18, %%rax")
SEGOP(ld_moffb, "movabsb %%fs:0x1f, %%al")
SEGOP(ld_zxb,   "movzbl %%fs:-0x10(%%rbx,%%rcx,4), %%eax")
SEGOP(ld_sxb,   "movsbq %%fs:7(%%rbx), %%rax")
SEGOP(ld_zxw,   "movzwl %%fs:(,%%rcx,2), %%eax")
SEGOP(ld_sxl,   "movslq %%fs:0x20(,%%rbx,2), %%rax")
SEGOP(ld_a32,   "movl %%fs:(%%ebx,%%ecx,1), %%eax")
SEGOP(ld_a32w,  "movq %%fs:0x20(%%edx), %%rax")     /* EA = (0xfffffff0 + 0x20) mod 2^32 = 0x10 */
SEGOP(ld_gs_b,  "movb %%gs:1(%%rbx,%%rcx,2), %%al")
SEGOP(ld_gs_w,  "movw %%gs:-2(%%rbx), %%ax")
SEGOP(ld_gs_l,  "movl %%gs:(%%rcx,%%rbx,4), %%eax")
SEGOP(ld_gs_q,  "movq %%gs:0x18(%%rbx,%%rbx,1), %%rax")
SEGOP(ld_gs_sx, "movswq %%gs:0x2a, %%rax")
SEGOP(ld_gs_a32,"movzbl %%gs:0x1a(%%edx,%%ecx,2), %%eax") /* EA = 0x10 */

struct ldcase { void (*fn)(void *); const char *text; int seg; unsigned off; int size, ext; };
/* seg 0 = fs, 1 = gs; the base is buf+0x08 for fs, buf+0x0c for gs. */
static const struct ldcase ldcases[] = {
    { ld_b, ld_b_s, 0, 0x0c, 1, 0 },
    { ld_w, ld_w_s, 0, 0x0e, 2, 0 },
    { ld_l, ld_l_s, 0, 0x14, 4, 1 },     /* a 32-bit destination zero-extends into RAX */
    { ld_q, ld_q_s, 0, 0x2c, 8, 0 },
    { ld_abs, ld_abs_s, 0, 0x18, 8, 0 },
    { ld_moffs, ld_moffs_s, 0, 0x20, 8, 0 },
    { ld_moffb, ld_moffb_s, 0, 0x27, 1, 0 },
    { ld_zxb, ld_zxb_s, 0, 0x08, 1, 1 },
    { ld_sxb, ld_sxb_s, 0, 0x13, 1, 2 },
    { ld_zxw, ld_zxw_s, 0, 0x0e, 2, 1 },
    { ld_sxl, ld_sxl_s, 0, 0x30, 4, 2 },
    { ld_a32, ld_a32_s, 0, 0x0f, 4, 1 },
    { ld_a32w, ld_a32w_s, 0, 0x18, 8, 0 },
    { ld_gs_b, ld_gs_b_s, 1, 0x17, 1, 0 },
    { ld_gs_w, ld_gs_w_s, 1, 0x0e, 2, 0 },
    { ld_gs_l, ld_gs_l_s, 1, 0x1f, 4, 1 },
    { ld_gs_q, ld_gs_q_s, 1, 0x2c, 8, 0 },
    { ld_gs_sx, ld_gs_sx_s, 1, 0x36, 2, 2 },
    { ld_gs_a32, ld_gs_a32_s, 1, 0x1c, 1, 1 },
};

static void regs(struct sio *s, uint64_t rax)
{
    s->rax = rax;
    s->rbx = 4;
    s->rcx = 3;
    s->rdx = 0xfffffff0ULL;
    s->rsi = 0;
    s->rdi = 0;
}

static void set_bases(void)
{
    wrmsr(MSR_FS_BASE, bufa(0x08));
    wrmsr(MSR_GS_BASE, bufa(0x0c));
}

static void check_loads(void)
{
    for (unsigned i = 0; i < sizeof ldcases / sizeof ldcases[0]; i++) {
        const struct ldcase *c = &ldcases[i];
        struct sio s;
        struct rom_fault f;
        fill();
        set_bases();
        regs(&s, PRESET);
        int r = rom_try(c->fn, &s, &f);
        uint64_t d = ldref(c->off, c->size), want;
        if (c->ext == 1)
            want = d;
        else if (c->ext == 2)
            want = sext(d, c->size);
        else
            want = c->size == 8 ? d : (PRESET & ~((1ULL << (8 * c->size)) - 1)) | d;
        rom_printf("case %s-load%d ", c->seg ? "gs" : "fs", 8 * c->size);
        rom_puts_asm(c->text);
        rom_printf(" (%s.base=buf+0x%x, data at buf+0x%02x): ", c->seg ? "gs" : "fs", c->seg ? 0xc : 0x8, c->off);
        if (r)
            put_fault(r, &f);
        else
            rom_printf("rax=0x%016lx", s.rax);
        rom_printf(" %s\n", rom_verdict(!r && s.rax == want));
    }
}

/* Stores and read-modify-writes: the whole buffer is compared, 16 bytes around the target printed. */
SEGOP(st_b,    "movb %%al, %%fs:1(%%rbx)")
SEGOP(st_w,    "movw %%ax, %%fs:(%%rbx,%%rcx,2)")
SEGOP(st_l,    "movl %%eax, %%fs:-4(%%rbx,%%rcx,4)")
SEGOP(st_q,    "movq %%rax, %%fs:(%%rbx)")
SEGOP(st_imm,  "movq $-0x7edcba99, %%fs:0x10")
SEGOP(st_moff, "movabsq %%rax, %%fs:0x20")
SEGOP(st_a32,  "movw %%ax, %%fs:0x22(%%edx)")      /* EA = 0x12 */
SEGOP(st_add,  "addl %%eax, %%fs:(%%rbx,%%rcx,1)")
SEGOP(st_xchg, "xchgq %%rax, %%fs:8(%%rbx)")
SEGOP(st_inc,  "incw %%fs:2(%%rbx)")
SEGOP(st_gs_b, "movb %%al, %%gs:(%%rbx,%%rcx,1)")
SEGOP(st_gs_w, "movw %%ax, %%gs:0x10")
SEGOP(st_gs_l, "movl %%eax, %%gs:6(%%rcx,%%rcx,2)")
SEGOP(st_gs_q, "movq %%rax, %%gs:-4(%%rbx,%%rbx,8)")
SEGOP(st_gs_sub, "subq %%rax, %%gs:0x20")

struct stcase { void (*fn)(void *); const char *text; int seg; unsigned off; int size; int kind; };
/* kind 0 = store of RAX (or of the immediate for st_imm), 1 = add, 2 = xchg, 3 = inc, 4 = sub. */
static const struct stcase stcases[] = {
    { st_b, st_b_s, 0, 0x0d, 1, 0 },
    { st_w, st_w_s, 0, 0x12, 2, 0 },
    { st_l, st_l_s, 0, 0x14, 4, 0 },
    { st_q, st_q_s, 0, 0x0c, 8, 0 },
    { st_imm, st_imm_s, 0, 0x18, 8, 5 },
    { st_moff, st_moff_s, 0, 0x28, 8, 0 },
    { st_a32, st_a32_s, 0, 0x1a, 2, 0 },
    { st_add, st_add_s, 0, 0x0f, 4, 1 },
    { st_xchg, st_xchg_s, 0, 0x14, 8, 2 },
    { st_inc, st_inc_s, 0, 0x0e, 2, 3 },
    { st_gs_b, st_gs_b_s, 1, 0x13, 1, 0 },
    { st_gs_w, st_gs_w_s, 1, 0x1c, 2, 0 },
    { st_gs_l, st_gs_l_s, 1, 0x1b, 4, 0 },
    { st_gs_q, st_gs_q_s, 1, 0x2c, 8, 0 },
    { st_gs_sub, st_gs_sub_s, 1, 0x2c, 8, 4 },
};

static void check_stores(void)
{
    for (unsigned i = 0; i < sizeof stcases / sizeof stcases[0]; i++) {
        const struct stcase *c = &stcases[i];
        struct sio s;
        struct rom_fault f;
        fill();
        set_bases();
        regs(&s, STVAL);
        int r = rom_try(c->fn, &s, &f);
        uint64_t old = ldref(c->off, c->size), m = c->size == 8 ? ~0ULL : (1ULL << (8 * c->size)) - 1;
        uint64_t want_rax = STVAL;
        switch (c->kind) {
        case 0: stref(c->off, c->size, STVAL); break;
        case 1: stref(c->off, c->size, (old + STVAL) & m); break;
        case 2: stref(c->off, c->size, STVAL); want_rax = old; break;
        case 3: stref(c->off, c->size, (old + 1) & m); break;
        case 4: stref(c->off, c->size, old - STVAL); break;
        case 5: stref(c->off, c->size, 0xffffffff81234567ULL); break;   /* imm32 sign-extended */
        }
        unsigned from = c->off & ~7u;
        if (from > 0x30)
            from = 0x30;
        rom_printf("case %s-store%d ", c->seg ? "gs" : "fs", 8 * c->size);
        rom_puts_asm(c->text);
        rom_printf(" (%s.base=buf+0x%x, target buf+0x%02x): ", c->seg ? "gs" : "fs", c->seg ? 0xc : 0x8, c->off);
        if (r) {
            put_fault(r, &f);
        } else {
            rom_printf("buf[0x%02x..0x%02x]=", from, from + 15);
            dump(from, 16);
            rom_printf(" rax=0x%016lx", s.rax);
        }
        rom_printf(" %s\n", rom_verdict(!r && buf_matches_ref() && s.rax == want_rax));
    }
}

/* Other forms: RIP-relative, string instructions, LEA, fs and gs in one instruction. */
SEGOP(rip_fs,  "movq %%fs:buf(%%rip), %%rax")      /* linear = FS.base + (RIP-relative offset) */
SEGOP(rip_gs,  "movl %%gs:buf+4(%%rip), %%eax")
SEGOP(lods_fs, "lodsq %%fs:(%%rsi), %%rax")
SEGOP(movs_fs, "movsl %%fs:(%%rsi), %%es:(%%rdi)") /* the source takes the override, ES:RDI cannot */
SEGOP(lea_fs,  ".byte 0x64 /* fs */\n\tleaq 0x10(%%rbx,%%rcx,2), %%rax") /* gas warns on a written fs: */ /* LEA computes the offset only */
SEGOP(fsgs,    "movq %%fs:(%%rbx), %%rax\n\taddq %%gs:(%%rbx), %%rax")

static void check_forms(void)
{
    struct sio s;
    struct rom_fault f;
    int r;

    fill();
    wrmsr(MSR_FS_BASE, 0x10);
    regs(&s, PRESET);
    r = rom_try(rip_fs, &s, &f);
    rom_puts("case fs-rip ");
    rom_puts_asm(rip_fs_s);
    rom_printf(" (fs.base=0x10): rax=0x%016lx %s\n", s.rax, rom_verdict(!r && s.rax == ldref(0x10, 8)));

    fill();
    wrmsr(MSR_GS_BASE, 0x20);
    regs(&s, PRESET);
    r = rom_try(rip_gs, &s, &f);
    rom_puts("case gs-rip ");
    rom_puts_asm(rip_gs_s);
    rom_printf(" (gs.base=0x20): rax=0x%016lx %s\n", s.rax, rom_verdict(!r && s.rax == ldref(0x24, 4)));

    fill();
    wrmsr(MSR_FS_BASE, bufa(0x10));
    regs(&s, PRESET);
    s.rsi = 0x18;
    r = rom_try(lods_fs, &s, &f);
    rom_puts("case fs-lods ");
    rom_puts_asm(lods_fs_s);
    rom_printf(" (fs.base=buf+0x10, rsi=0x18): rax=0x%016lx rsi=0x%lx %s\n", s.rax, s.rsi,
               rom_verdict(!r && s.rax == ldref(0x28, 8) && s.rsi == 0x20));

    fill();
    wrmsr(MSR_FS_BASE, bufa(0x10));
    regs(&s, PRESET);
    s.rsi = 0x20;
    s.rdi = bufa(0x04);
    r = rom_try(movs_fs, &s, &f);
    stref(0x04, 4, ldref(0x30, 4));
    rom_puts("case fs-movs ");
    rom_puts_asm(movs_fs_s);
    rom_printf(" (fs.base=buf+0x10, rsi=0x20, rdi=buf+0x4): buf[0x00..0x0f]=");
    dump(0, 16);
    rom_printf(" rsi=0x%lx rdi=", s.rsi);
    put_rel(s.rdi);
    rom_printf(" %s\n", rom_verdict(!r && buf_matches_ref() && s.rsi == 0x24 && s.rdi == bufa(0x08)));

    wrmsr(MSR_FS_BASE, 0x0000123400000000ULL);
    regs(&s, PRESET);
    r = rom_try(lea_fs, &s, &f);
    rom_puts("case fs-lea ");
    rom_puts_asm(lea_fs_s);
    rom_printf(" (fs.base=0x0000123400000000): rax=0x%016lx %s\n", s.rax, rom_verdict(!r && s.rax == 0x1a));

    fill();
    wrmsr(MSR_FS_BASE, bufa(0x00));
    wrmsr(MSR_GS_BASE, bufa(0x20));
    regs(&s, PRESET);
    r = rom_try(fsgs, &s, &f);
    rom_puts("case fs-gs ");
    rom_puts_asm(fsgs_s);
    rom_printf(" (fs.base=buf, gs.base=buf+0x20): rax=0x%016lx %s\n", s.rax,
               rom_verdict(!r && s.rax == ldref(0x04, 8) + ldref(0x24, 8)));
}

/* ---- 3. wrap-around and non-canonical FS/GS-relative addresses ---- */

SEGOP(wrap_rsi_q,  "movq %%fs:(%%rsi), %%rax")
SEGOP(wrap_disp_b, "movb %%fs:-1, %%al")
SEGOP(wrap_big_q,  "movq %%fs:0x100, %%rax")
SEGOP(wrap_gs_st,  "movl %%eax, %%gs:(%%rsi)")

struct wrapcase {
    const char *name;
    void (*fn)(void *);
    const char *text;
    int seg;
    uint64_t base;                      /* absolute, or relative to buf when base_rel */
    int base_rel;
    uint64_t rsi;                       /* absolute, or relative to buf when rsi_rel */
    int rsi_rel;
    int gp;                             /* 1: #GP(0) expected; 0: reads buf+off */
    unsigned off;
};

/* Linear address = base + EA mod 2^64 (SDM Vol. 1 3.3.7); a non-canonical one gives #GP(0) for a
 * non-stack segment (SDM Vol. 3A 6.15 "Interrupt 13", Vol. 1 3.3.7.1). CR4.LA57 = 0: 48 bits. */
static const struct wrapcase wrapcases[] = {
    { "fs-wrap-2^64", wrap_rsi_q, wrap_rsi_q_s, 0, 0xfffffffffffffff0ULL, 0, 0x10, 1, 0, 0x00 },
    { "fs-wrap-negative-index", wrap_rsi_q, wrap_rsi_q_s, 0, 0x20, 1, 0xffffffffffffffe0ULL, 0, 0, 0x00 },
    { "fs-wrap-disp-below-base", wrap_disp_b, wrap_disp_b_s, 0, 0x11, 1, 0, 0, 0, 0x10 },
    { "fs-noncanonical-above-47", wrap_big_q, wrap_big_q_s, 0, 0x00007fffffffff00ULL, 0, 0, 0, 1, 0 },
    { "fs-noncanonical-below-ffff8", wrap_disp_b, wrap_disp_b_s, 0, 0xffff800000000000ULL, 0, 0, 0, 1, 0 },
    { "fs-noncanonical-sum-2^63", wrap_rsi_q, wrap_rsi_q_s, 0, 0x8000, 0, 0x7fffffffffff8000ULL, 0, 1, 0 },
    { "fs-noncanonical-wrap-2^64", wrap_rsi_q, wrap_rsi_q_s, 0, 0xffff800000000000ULL, 0, 0xffff800000000000ULL, 0, 1, 0 },
    { "gs-noncanonical-store", wrap_gs_st, wrap_gs_st_s, 1, 0x00007ffffffffff0ULL, 0, 0x10, 0, 1, 0 },
};

static void check_wrap(void)
{
    for (unsigned i = 0; i < sizeof wrapcases / sizeof wrapcases[0]; i++) {
        const struct wrapcase *c = &wrapcases[i];
        struct sio s;
        struct rom_fault f;
        fill();
        uint64_t base = c->base_rel ? bufa((int64_t)c->base) : c->base;
        wrmsr(c->seg ? MSR_GS_BASE : MSR_FS_BASE, base);
        regs(&s, c->gp ? STVAL : PRESET);
        s.rsi = c->rsi_rel ? bufa((int64_t)c->rsi) : c->rsi;
        int r = rom_try(c->fn, &s, &f);
        rom_printf("case %s ", c->name);
        rom_puts_asm(c->text);
        rom_printf(" (%s.base=", c->seg ? "gs" : "fs");
        put_rel(base);
        if (c->fn != wrap_disp_b && c->fn != wrap_big_q) {
            rom_puts(", rsi=");
            put_rel(s.rsi);
        }
        rom_puts("): ");
        int ok;
        if (c->gp) {
            put_fault(r, &f);
            ok = r == 1 && f.vector == V_GP && f.error == 0 && buf_matches_ref();
        } else {
            int size = c->fn == wrap_disp_b ? 1 : 8;
            uint64_t d = ldref(c->off, size);
            uint64_t want = size == 8 ? d : (PRESET & ~0xffULL) | d;
            if (r)
                put_fault(r, &f);
            else
                rom_printf("rax=0x%016lx (data at buf+0x%02x)", s.rax, c->off);
            ok = !r && s.rax == want;
        }
        rom_printf(" %s\n", rom_verdict(ok));
    }
}

/* ---- 4. ES, DS, SS and CS bases and limits are ignored in 64-bit mode ---- */
/*
 * SDM Vol. 1 3.4.2.1 and Vol. 3A 3.2.4: in 64-bit mode the processor treats the
 * bases of CS, DS, ES and SS as zero, with or without an override prefix, and
 * does not check their limits (Vol. 3A 5.3.1). A private GDT adds a data segment
 * (0x38) and a 64-bit code segment (0x40), both with base 0x01000000 and limit 0.
 * The 64 bytes at buf+0x01000000 ("the alias") hold 0xee, so a base wrongly
 * applied shows as 0xee bytes read, or as a store landing in the alias.
 * QEMU 7.2 adds the base of an explicit es:/ds:/ss:/cs: prefix; the lines then
 * carry the SDM's result as " (SDM: ...)", as the exceptions ROM does.
 */
#define ALIAS 0x01000000UL
#define SEL_BDATA 0x38
#define SEL_BCODE 0x40

static uint64_t seg_gdt[9] __attribute__((aligned(16)));
struct gdtr { uint16_t limit; uint64_t base; } __attribute__((packed));

struct ovr { uint64_t es, ds, ss, impl, stos, push, cs, sel_ds, sel_ss, sel_cs; };

void seg_ovr_body(void *arg);
extern const char seg_cs_alias[];
/*
 * RDI = struct ovr * (written without prefixes, through the ignored DS base),
 * RSI = buf. Loads: es: buf+0, ds: buf+8, ss: buf+0x10, no prefix buf+0x18,
 * cs: buf+0x20. STOS writes ES:buf+0x28; PUSH reads buf+0x30. Stores with a
 * prefix: es: buf+0x38 (4 bytes), ds: buf+0x3c (2), ss: buf+0x3e (2).
 * gas drops a ds: prefix it deems redundant, hence the .byte 0x3e.
 */
__asm__(".pushsection .text\n"
        ".globl seg_ovr_body\n"
        "seg_ovr_body:\n"
        "    leaq buf(%rip), %rsi\n"
        "    movl $0x38, %eax\n"
        "    movl %eax, %ds\n"
        "    movl %eax, %es\n"
        "    movl %eax, %ss\n"
        "    movq %es:0(%rsi), %rax\n"
        "    movq %rax, 0(%rdi)\n"                /* ovr.es */
        "    .byte 0x3e\n"                        /* ds: */
        "    movq 8(%rsi), %rax\n"
        "    movq %rax, 8(%rdi)\n"                /* ovr.ds */
        "    movq %ss:0x10(%rsi), %rax\n"
        "    movq %rax, 16(%rdi)\n"               /* ovr.ss */
        "    movq 0x18(%rsi), %rax\n"
        "    movq %rax, 24(%rdi)\n"               /* ovr.impl */
        "    pushq %rdi\n"
        "    leaq 0x28(%rsi), %rdi\n"
        "    movabsq $0x0123456789abcdef, %rax\n"
        "    stosq\n"                             /* ES:RDI, no prefix possible */
        "    popq %rdi\n"
        "    movq 0x28(%rsi), %rax\n"
        "    movq %rax, 32(%rdi)\n"               /* ovr.stos */
        "    pushq 0x30(%rsi)\n"                  /* SS:RSP */
        "    movq %rsp, %rax\n"
        "    movq (%rax), %rax\n"                 /* read back through DS */
        "    addq $8, %rsp\n"
        "    movq %rax, 40(%rdi)\n"               /* ovr.push */
        "    movl $0x11223344, %es:0x38(%rsi)\n"
        "    .byte 0x3e\n"                        /* ds: */
        "    movw $0x5566, 0x3c(%rsi)\n"
        "    movw $0x7788, %ss:0x3e(%rsi)\n"
        "    movl %ds, %eax\n"
        "    movq %rax, 56(%rdi)\n"               /* ovr.sel_ds */
        "    movl %ss, %eax\n"
        "    movq %rax, 64(%rdi)\n"               /* ovr.sel_ss */
        /* Far return into the based code segment, at the same RIP. */
        "    pushq $0x40\n"
        "    leaq seg_cs_alias(%rip), %rax\n"
        "    pushq %rax\n"
        "    lretq\n"
        "seg_cs_alias:\n"
        "    movq %cs:0x20(%rsi), %rax\n"
        "    movq %rax, 48(%rdi)\n"               /* ovr.cs */
        "    movl %cs, %eax\n"
        "    movq %rax, 72(%rdi)\n"               /* ovr.sel_cs */
        "    pushq $0x08\n"
        "    leaq 1f(%rip), %rax\n"
        "    pushq %rax\n"
        "    lretq\n"
        "1:  movl $0x10, %eax\n"
        "    movl %eax, %ds\n"
        "    movl %eax, %es\n"
        "    movl %eax, %ss\n"
        "    ret\n"
        ".popsection\n");

/* One load through a prefix: the SDM's value (base ignored) or QEMU's (the alias, all 0xee). */
static void ovr_load(const char *name, const char *what, uint64_t got, uint64_t sdm)
{
    rom_printf("case %s: %s -> 0x%016lx", name, what, got);
    if (got != sdm && got == 0xeeeeeeeeeeeeeeeeULL)
        rom_printf(" (SDM: 0x%016lx)", sdm);
    rom_printf(" %s\n", rom_verdict(got == sdm || got == 0xeeeeeeeeeeeeeeeeULL));
}

static uint64_t ld_bytes(const uint8_t *p, int size)
{
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_pair(unsigned off, int size, uint64_t in_buf, uint64_t in_alias)
{
    rom_printf("buf[0x%02x]=0x", off);
    rom_put_hex(in_buf, 2 * size);
    rom_printf(" alias[0x%02x]=0x", off);
    rom_put_hex(in_alias, 2 * size);
}

/* One store through a prefix: into buf (SDM) or into the alias (QEMU). */
static void ovr_store(const char *name, const char *what, unsigned off, int size, uint64_t val)
{
    const uint8_t *alias = (const uint8_t *)(uintptr_t)bufa((int64_t)ALIAS);
    uint64_t in_buf = ld_bytes(buf + off, size), in_alias = ld_bytes(alias + off, size);
    uint64_t old = ldref(off, size), ee = 0xeeeeeeeeeeeeeeeeULL >> (64 - 8 * size);
    int sdm = in_buf == val && in_alias == ee, qemu = in_buf == old && in_alias == val;
    rom_printf("case %s: %s -> ", name, what);
    put_pair(off, size, in_buf, in_alias);
    if (!sdm && qemu) {
        rom_puts(" (SDM: ");
        put_pair(off, size, val, ee);
        rom_puts(")");
    }
    rom_printf(" %s\n", rom_verdict(sdm || qemu));
}

static void check_ignored_bases(void)
{
    struct gdtr old, cur;
    __asm__ volatile("sgdt %0" : "=m"(old));
    const uint64_t *g = (const uint64_t *)(uintptr_t)old.base;
    for (unsigned i = 0; i < 7; i++)
        seg_gdt[i] = g[i];
    /* Base 31:24 in bits 63:56; data: P, DPL0, RW, accessed, D/B=1; code: P, DPL0, exec/read, L=1. */
    seg_gdt[7] = 0x0140930000000000ULL;
    seg_gdt[8] = 0x01209b0000000000ULL;
    cur.limit = sizeof seg_gdt - 1;
    cur.base = (uint64_t)(uintptr_t)seg_gdt;

    fill();
    uint8_t *alias = (uint8_t *)(uintptr_t)bufa((int64_t)ALIAS);
    memset(alias, 0xee, sizeof buf);
    /* If CS.base were applied to fetches, the far return would land here: a UD2 sled. */
    uint8_t *calias = (uint8_t *)(uintptr_t)((uint64_t)(uintptr_t)seg_cs_alias + ALIAS);
    for (unsigned i = 0; i < 64; i += 2) {
        calias[i] = 0x0f;
        calias[i + 1] = 0x0b;
    }

    struct ovr o;
    memset(&o, 0, sizeof o);
    struct rom_fault f;
    __asm__ volatile("lgdt %0" : : "m"(cur) : "memory");
    int r = rom_try(seg_ovr_body, &o, &f);
    __asm__ volatile("lgdt %0" : : "m"(old) : "memory");
    /* On a fault, DS/ES/SS may still hold 0x38: reload them (with the original GDT). */
    __asm__ volatile("movl %0, %%ds\n\tmovl %0, %%es\n\tmovl %0, %%ss" : : "r"(SEL_KDATA) : "memory");

    rom_printf("case ignored-setup: data 0x38 and code 0x40 with base=0x%lx limit=0, alias = buf+0x%lx: ", ALIAS,
               ALIAS);
    if (r) {
        put_fault(r, &f);
        rom_printf(" %s\n", rom_verdict(0));
        return;
    }
    /* Reaching the loads at all means the fetch after the far return ignored CS.base. */
    rom_printf("ds=0x%02lx ss=0x%02lx cs=0x%02lx, fetch at the same RIP %s\n", o.sel_ds, o.sel_ss, o.sel_cs,
               rom_verdict(o.sel_ds == SEL_BDATA && o.sel_ss == SEL_BDATA && o.sel_cs == SEL_BCODE));
    ovr_load("ignored-es-load", "movq %es:0(buf), %rax", o.es, ldref(0, 8));
    ovr_load("ignored-ds-load", "ds movq 8(buf), %rax", o.ds, ldref(8, 8));
    ovr_load("ignored-ss-load", "movq %ss:0x10(buf), %rax", o.ss, ldref(0x10, 8));
    ovr_load("ignored-cs-load", "movq %cs:0x20(buf), %rax", o.cs, ldref(0x20, 8));
    rom_printf("case ignored-ds-implicit: movq 0x18(buf), %%rax -> 0x%016lx %s\n", o.impl,
               rom_verdict(o.impl == ldref(0x18, 8)));
    rom_printf("case ignored-es-stos: stosq to es:(buf+0x28), read back -> 0x%016lx %s\n", o.stos,
               rom_verdict(o.stos == 0x0123456789abcdefULL));
    rom_printf("case ignored-ss-push: pushq 0x30(buf); movq (%%rsp) through ds -> 0x%016lx %s\n", o.push,
               rom_verdict(o.push == ldref(0x30, 8)));
    ovr_store("ignored-es-store", "movl $0x11223344, %es:0x38(buf)", 0x38, 4, 0x11223344);
    ovr_store("ignored-ds-store", "ds movw $0x5566, 0x3c(buf)", 0x3c, 2, 0x5566);
    ovr_store("ignored-ss-store", "movw $0x7788, %ss:0x3e(buf)", 0x3e, 2, 0x7788);
    stref(0x28, 8, 0x0123456789abcdefULL);
    int rest = 1;
    for (unsigned i = 0; i < 0x38; i++)
        if (buf[i] != ref[i] || alias[i] != 0xee)
            rest = 0;
    rom_printf("case ignored-rest: buf[0x00..0x37] as expected, alias[0x00..0x37] all 0xee: %s %s\n",
               rest ? "yes" : "no", rom_verdict(rest));
}

/* ---- 5. RDFSBASE / WRFSBASE / RDGSBASE / WRGSBASE ---- */

struct fsg { uint64_t in, in2, out, out2, out3; };

static void rdfs(void *v) { struct fsg *p = v; __asm__ volatile("rdfsbase %0" : "=r"(p->out)); }
static void wrfs(void *v) { struct fsg *p = v; __asm__ volatile("wrfsbase %0" : : "r"(p->in) : "memory"); }
static void rdgs(void *v) { struct fsg *p = v; __asm__ volatile("rdgsbase %0" : "=r"(p->out)); }
static void wrgs(void *v) { struct fsg *p = v; __asm__ volatile("wrgsbase %0" : : "r"(p->in) : "memory"); }
static void wrfs_rd(void *v)
{
    struct fsg *p = v;
    __asm__ volatile("wrfsbase %1\n\trdfsbase %0" : "=&r"(p->out) : "r"(p->in) : "memory");
}
static void wrgs_rd(void *v)
{
    struct fsg *p = v;
    __asm__ volatile("wrgsbase %1\n\trdgsbase %0" : "=&r"(p->out) : "r"(p->in) : "memory");
}
static void swapgs_fn(void *v) { (void)v; __asm__ volatile("swapgs" ::: "memory"); }
static void wrmsr_fs_fn(void *v) { struct fsg *p = v; wrmsr(MSR_FS_BASE, p->in); }

/* At either CPL: write the base, read it back, then load through it (in = base, in2 = RBX). */
static void fs_roundtrip(void *v)
{
    struct fsg *p = v;
    uint64_t b, d;
    __asm__ volatile("wrfsbase %2\n\t"
                     "rdfsbase %0\n\t"
                     "movq %%fs:8(%3), %1"
                     : "=&r"(b), "=&r"(d) : "r"(p->in), "r"(p->in2) : "memory");
    p->out = b;
    p->out2 = d;
}
static void gs_roundtrip(void *v)
{
    struct fsg *p = v;
    uint64_t b, d;
    __asm__ volatile("wrgsbase %2\n\t"
                     "rdgsbase %0\n\t"
                     "movl %%eax, %%gs:(%3)\n\t"
                     "movq %%gs:-8(%3), %1"
                     : "=&r"(b), "=&r"(d) : "r"(p->in), "r"(p->in2), "a"(0xcafef00d) : "memory");
    p->out = b;
    p->out2 = d;
}
/* 32-bit forms: WRFSBASE r32 zero-extends into the base; RDFSBASE r32 reads base[31:0], zero-extended. */
static void fs_32bit(void *v)
{
    struct fsg *p = v;
    uint64_t full, low = 0xffffffffffffffffULL;
    __asm__ volatile("wrfsbase %k1\n\t"
                     "rdfsbase %0"
                     : "=&r"(full) : "r"(p->in) : "memory");
    __asm__ volatile("wrfsbase %1\n\t"
                     "rdfsbase %k0"
                     : "+r"(low) : "r"(p->in2) : "memory");
    p->out = full;
    p->out2 = low;
}
/* A noncanonical FS-relative address after WRFSBASE (at CPL3 too). */
static void fs_noncanon_access(void *v)
{
    struct fsg *p = v;
    uint64_t d;
    __asm__ volatile("wrfsbase %1\n\t"
                     "movq %%fs:0x100, %0" : "=r"(d) : "r"(p->in) : "memory");
    p->out = d;
}
/* WRGSBASE, then SWAPGS (CPL0 only): the written value moves to KERNEL_GS_BASE. */
static void gs_swap(void *v)
{
    struct fsg *p = v;
    uint64_t a, b;
    __asm__ volatile("wrgsbase %2\n\t"
                     "swapgs\n\t"
                     "rdgsbase %0\n\t"
                     "swapgs\n\t"
                     "rdgsbase %1"
                     : "=&r"(a), "=&r"(b) : "r"(p->in) : "memory");
    p->out = a;
    p->out2 = b;
}

static int try_at(int cpl, void (*fn)(void *), void *arg, struct rom_fault *f)
{
    return cpl ? rom_try_user(fn, arg, f) : rom_try(fn, arg, f);
}

static void check_fsgsbase(void)
{
    uint32_t c[4];
    cpuid(0, 0, c);
    unsigned maxleaf = c[0];
    if (maxleaf >= 7)
        cpuid(7, 0, c);
    else
        c[1] = 0;
    fsgsbase = c[1] & 1;
    uint64_t cr4 = read_cr4();
    rom_printf("case fsgsbase-cpuid: cpuid(7,0).ebx[0]=%u cr4.fsgsbase=%u\n", fsgsbase,
               (unsigned)((cr4 >> 16) & 1));

    /* CR4.FSGSBASE = 0: all four raise #UD (SDM Vol. 2B RDFSBASE/RDGSBASE, WRFSBASE/WRGSBASE, #UD). */
    static void (*const fns[4])(void *) = { rdfs, wrfs, rdgs, wrgs };
    static const char *const names[4] = { "rdfsbase", "wrfsbase", "rdgsbase", "wrgsbase" };
    write_cr4(cr4 & ~CR4_FSGSBASE);
    for (int cpl = 0; cpl <= 3; cpl += 3)
        for (unsigned i = 0; i < 4; i++) {
            struct fsg p = { 0x1000, 0, 0, 0, 0 };
            struct rom_fault f;
            int r = try_at(cpl, fns[i], &p, &f);
            rom_printf("case %s-cr4-clear-cpl%d: ", names[i], cpl);
            put_fault(r, &f);
            rom_printf(" %s\n", rom_verdict(r == 1 && f.vector == V_UD && f.error == 0));
        }
    if (!fsgsbase) {
        rom_puts("case fsgsbase: not enumerated, CR4.FSGSBASE cases skipped\n");
        return;
    }

    write_cr4(cr4 | CR4_FSGSBASE);
    rom_printf("case fsgsbase-enable: cr4.fsgsbase=%u\n", (unsigned)((read_cr4() >> 16) & 1));

    for (int cpl = 0; cpl <= 3; cpl += 3) {
        struct fsg p;
        struct rom_fault f;
        int r;

        for (unsigned i = 0; i < 4; i += 2) {
            /* RDxSBASE after a write of the MSR (CPL0) or after WRxSBASE. */
            int gs = i == 2;
            fill();
            memset(&p, 0, sizeof p);
            if (cpl == 0) {
                wrmsr(gs ? MSR_GS_BASE : MSR_FS_BASE, 0xffff876543210000ULL);
                r = rom_try(fns[i], &p, &f);
                rom_printf("case %s-after-wrmsr-cpl0: ", names[i]);
                if (r)
                    put_fault(r, &f);
                else
                    rom_printf("0x%016lx", p.out);
                rom_printf(" %s\n", rom_verdict(!r && p.out == 0xffff876543210000ULL));
                p.in = 0x00000fedcba98000ULL;
                r = rom_try(fns[i + 1], &p, &f);
                uint64_t m = rdmsr(gs ? MSR_GS_BASE : MSR_FS_BASE);
                rom_printf("case %s-then-rdmsr-cpl0: ", names[i + 1]);
                if (r)
                    put_fault(r, &f);
                else
                    rom_printf("0x%016lx", m);
                rom_printf(" %s\n", rom_verdict(!r && m == 0x00000fedcba98000ULL));
            }
            p.in = bufa(0x10);
            p.in2 = gs ? 0x18 : 0x10;
            r = try_at(cpl, gs ? gs_roundtrip : fs_roundtrip, &p, &f);
            if (gs)
                stref(0x28, 4, 0xcafef00d);
            rom_printf("case %s-roundtrip-cpl%d: wr%sbase buf+0x10; rd=", gs ? "gs" : "fs", cpl, gs ? "gs" : "fs");
            if (r) {
                put_fault(r, &f);
                rom_printf(" %s\n", rom_verdict(0));
                continue;
            }
            put_rel(p.out);
            if (gs)
                rom_printf(" movl %%eax, %%gs:0x18; movq %%gs:0x10 -> 0x%016lx", p.out2);
            else
                rom_printf(" movq %%fs:0x18 -> 0x%016lx", p.out2);
            rom_printf(" %s\n", rom_verdict(p.out == bufa(0x10) && p.out2 == ldref(gs ? 0x20 : 0x28, 8) &&
                                            buf_matches_ref()));
        }

        memset(&p, 0, sizeof p);
        p.in = 0xffffffff87654321ULL;
        p.in2 = 0xffffbbbbccccddddULL;
        r = try_at(cpl, fs_32bit, &p, &f);
        rom_printf("case fs-32bit-cpl%d: wrfsbase %%eax(0x87654321) -> 0x%016lx, rdfsbase %%eax (base 0xffffbbbbccccdddd) -> 0x%016lx",
                   cpl, p.out, p.out2);
        if (r) {
            rom_putc(' ');
            put_fault(r, &f);
        }
        rom_printf(" %s\n", rom_verdict(!r && p.out == 0x87654321ULL && p.out2 == 0xccccddddULL));

        /* WRFSBASE/WRGSBASE of a non-canonical value: #GP(0) (SDM Vol. 2B WRFSBASE/WRGSBASE). */
        static const uint64_t badv[2] = { 0x8000000000000000ULL, 0x0100000000000000ULL };
        for (unsigned g = 0; g < 2; g++)
            for (unsigned k = 0; k < 2; k++) {
                memset(&p, 0, sizeof p);
                p.in = badv[k];
                r = try_at(cpl, g ? wrgs_rd : wrfs_rd, &p, &f);
                rom_printf("case %s-noncanonical-cpl%d 0x%016lx: ", g ? "wrgsbase" : "wrfsbase", cpl, badv[k]);
                put_fault(r, &f);
                int sdm = r == 1 && f.vector == V_GP && f.error == 0;
                int qemu = r == 0 && p.out == badv[k];     /* QEMU 7.2: loaded, no fault */
                if (r == 0)
                    rom_printf(" rd%sbase=0x%016lx", g ? "gs" : "fs", p.out);
                if (!sdm && qemu)
                    rom_puts(" (SDM: #GP vector=13 err=0x0)");
                rom_printf(" %s\n", rom_verdict(sdm || qemu));
            }

        memset(&p, 0, sizeof p);
        p.in = 0x00007fffffffff00ULL;
        r = try_at(cpl, fs_noncanon_access, &p, &f);
        rom_printf("case fs-noncanonical-access-cpl%d: wrfsbase 0x00007fffffffff00; movq %%fs:0x100: ", cpl);
        put_fault(r, &f);
        rom_printf(" %s\n", rom_verdict(r == 1 && f.vector == V_GP && f.error == 0));
    }

    /* WRGSBASE then SWAPGS at CPL0. */
    {
        struct fsg p;
        struct rom_fault f;
        memset(&p, 0, sizeof p);
        wrmsr(MSR_KERNEL_GS_BASE, 0xffffc90000001000ULL);
        p.in = 0x0000555566667000ULL;
        int r = rom_try(gs_swap, &p, &f);
        uint64_t kgs = rdmsr(MSR_KERNEL_GS_BASE);
        rom_printf("case wrgsbase-swapgs-cpl0: after swapgs rdgsbase=0x%016lx, after second 0x%016lx kernel_gs_base=0x%016lx",
                   p.out, p.out2, kgs);
        if (r) {
            rom_putc(' ');
            put_fault(r, &f);
        }
        rom_printf(" %s\n", rom_verdict(!r && p.out == 0xffffc90000001000ULL && p.out2 == 0x0000555566667000ULL &&
                                        kgs == 0xffffc90000001000ULL));
    }

    write_cr4(cr4);
}

/* ---- 6. the privileged ways in, from CPL3 ---- */

static void check_cpl3_privileged(void)
{
    struct fsg p;
    struct rom_fault f;
    memset(&p, 0, sizeof p);

    wrmsr(MSR_KERNEL_GS_BASE, 0x6000);
    int r = rom_try_user(swapgs_fn, &p, &f);
    uint64_t kgs = rdmsr(MSR_KERNEL_GS_BASE);
    rom_puts("case swapgs-cpl3: ");
    put_fault(r, &f);
    rom_printf(" kernel_gs_base kept=%s %s\n", kgs == 0x6000 ? "yes" : "no",
               rom_verdict(r == 1 && f.vector == V_GP && f.error == 0 && kgs == 0x6000));

    p.in = 0x7000;
    r = rom_try_user(wrmsr_fs_fn, &p, &f);
    rom_puts("case wrmsr-fs_base-cpl3: ");
    put_fault(r, &f);
    rom_printf(" %s\n", rom_verdict(r == 1 && f.vector == V_GP && f.error == 0));
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom segments\n");
    check_msrs();
    check_swapgs();
    check_loads();
    check_stores();
    check_forms();
    check_wrap();
    check_ignored_bases();
    check_fsgsbase();
    check_cpl3_privileged();
    /* Leave the bases as the runtime had them. */
    wrmsr(MSR_FS_BASE, 0);
    wrmsr(MSR_GS_BASE, 0);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    rom_done();
}
