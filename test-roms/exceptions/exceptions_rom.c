/*
 * ROM "exceptions": exception and interrupt delivery in 64-bit mode (Intel SDM
 * Vol. 3A chapter 6, "Interrupt and Exception Handling"; quoted titles are its
 * sections): vectors, error codes, saved RIPs (printed relative to the
 * instruction's label), privilege checks on gates, the stack switch through
 * TSS.RSP0 and the IST, IRETQ to ring 3, SYSCALL/SYSRET and a double fault.
 *
 * The runtime's IDT (found with SIDT) and TSS (found through its GDT
 * descriptor) are edited in place; every edit is undone before the next case.
 */
#include "runtime.h"

#define DE 0
#define DB 1
#define BP 3
#define UD 6
#define DF 8
#define NP 11
#define SS 12
#define GP 13
#define PF 14

#define MSR_STAR    0xC0000081
#define MSR_LSTAR   0xC0000082
#define MSR_SFMASK  0xC0000084
#define EFER_SCE    0x1

/* Error code naming an IDT vector ("Error Code": IDT flag = bit 1, EXT = bit 0). */
#define IDT_ERR(v, ext) ((uint64_t)(v) * 8 + 2 + (ext))

#define SNIP(n) void n(void *); extern const char n##_insn[];
SNIP(exc_div0) SNIP(exc_idiv) SNIP(exc_icebp) SNIP(exc_tf) SNIP(exc_int3) SNIP(exc_int3_cd)
SNIP(exc_ud2) SNIP(exc_badop) SNIP(exc_lock) SNIP(exc_hlt) SNIP(exc_movcr) SNIP(exc_wrmsr)
SNIP(exc_noncanon) SNIP(exc_int82) SNIP(exc_int83) SNIP(exc_int84) SNIP(exc_lds) SNIP(exc_rdmsr)
SNIP(exc_ss_mov) SNIP(exc_ss_push) SNIP(exc_pf_read) SNIP(exc_pf_write) SNIP(exc_pf_fetch)
SNIP(exc_user_int81) SNIP(exc_user_syscall) SNIP(exc_df)

extern const char exc_int81_handler[], exc_spy_3[], exc_spy_8[], exc_syscall_entry[];
extern const uint64_t rom_trap_stubs[33];
extern uint64_t rom_gdt[7];

/* Written by the stubs in exc_snippets.S. */
extern volatile uint64_t exc_spy_rsp, exc_spy_frame[6];
extern volatile uint64_t exc_u_rsp, exc_u_rax, exc_u_flags, exc_k_rcx, exc_k_r11, exc_k_flags;
extern volatile uint16_t exc_u_cs, exc_u_ss, exc_k_cs, exc_k_ss;

/* ---- IDT, GDT and TSS access ---- */

struct gate {
    uint16_t off_lo, sel;
    uint8_t ist, attr;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

struct dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static volatile struct gate *idt;

static void set_gate(unsigned v, const void *handler, unsigned ist, unsigned dpl, int present)
{
    uint64_t h = (uint64_t)(uintptr_t)handler;
    struct gate g = { (uint16_t)h, SEL_KCODE, (uint8_t)ist,
                      (uint8_t)((present ? 0x80 : 0) | (dpl << 5) | 0xE),   /* 64-bit interrupt gate */
                      (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0 };
    idt[v] = g;
}

static void clear_gate(unsigned v)
{
    struct gate g = { 0, 0, 0, 0, 0, 0, 0 };
    idt[v] = g;
}

static uint64_t tss_base(void)
{
    /* The 16-byte TSS descriptor at SEL_TSS ("TSS Descriptor in 64-bit mode"). */
    uint64_t lo = rom_gdt[SEL_TSS / 8], hi = rom_gdt[SEL_TSS / 8 + 1];
    return ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24) | (hi << 32);
}

static uint64_t tss_read(unsigned off)
{
    uint64_t v;
    memcpy(&v, (const void *)(uintptr_t)(tss_base() + off), 8);
    return v;
}

static uint64_t rsp0_top(void) { return tss_read(4); }      /* TSS.RSP0 at offset 4 */
static uint64_t ist1_top(void) { return tss_read(0x24); }   /* TSS.IST1 at offset 0x24 */

/* A GDT with one more entry: 0x38, a data segment with P = 0. 0x40 lies beyond its limit. */
static uint64_t gdt2[8] __attribute__((aligned(16)));

static void load_gdt2(void)
{
    for (unsigned i = 0; i < 7; i++)
        gdt2[i] = rom_gdt[i];
    gdt2[7] = 0x00cf12000000ffffULL;    /* rom_gdt[2] with P cleared */
    struct dtr d = { sizeof gdt2 - 1, (uint64_t)(uintptr_t)gdt2 };
    __asm__ volatile("lgdt %0" : : "m"(d) : "memory");
}

static uint64_t read_dr6(void) { uint64_t v; __asm__ volatile("mov %%dr6, %0" : "=r"(v)); return v; }
static void write_dr6(uint64_t v) { __asm__ volatile("mov %0, %%dr6" : : "r"(v)); }

/* ---- reporting ---- */

static const char *const names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "?", "#TS", "#NP", "#SS", "#GP",
    "#PF", "?", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void print_rip(uint64_t rip, const char *label)
{
    int64_t d = (int64_t)(rip - (uint64_t)(uintptr_t)label);
    if (d >= 0)
        rom_printf(" rip=insn+%ld", d);
    else
        rom_printf(" rip=insn-%ld", -d);
}

/* Prints "case NAME: #XX vector=V err=E rip=insn+D" and judges vector, error code and RIP. */
static int report(const char *name, int r, const struct rom_fault *f, const char *label,
                  uint64_t want_vec, uint64_t want_err, int64_t want_rip)
{
    rom_printf("case %s: ", name);
    if (!r) {
        rom_printf("no exception %s\n", rom_verdict(0));
        return 0;
    }
    const char *n = f->vector < 32 && names[f->vector] ? names[f->vector] : "int";
    rom_printf("%s vector=%lu err=0x%lx", n, f->vector, f->error);
    if (label)
        print_rip(f->rip, label);
    return f->vector == want_vec && f->error == want_err &&
           (!label || f->rip == (uint64_t)(uintptr_t)label + (uint64_t)want_rip);
}

static int run(int user, void (*fn)(void *), uint64_t arg, struct rom_fault *f)
{
    return user ? rom_try_user(fn, (void *)(uintptr_t)arg, f) : rom_try(fn, (void *)(uintptr_t)arg, f);
}

static void simple(const char *name, int user, void (*fn)(void *), uint64_t arg, const char *label,
                   uint64_t want_vec, uint64_t want_err, int64_t want_rip)
{
    struct rom_fault f;
    int r = run(user, fn, arg, &f);
    int ok = report(name, r, &f, label, want_vec, want_err, want_rip);
    if (r)
        rom_printf(" %s\n", rom_verdict(ok));
}

/*
 * A case where QEMU 7.2 is known to differ from the SDM (DEVIATIONS-proposed.md
 * in this folder): the SDM's result is judged ok; so is QEMU's known result,
 * followed by what the SDM gives. Anything else fails.
 */
static void known_dev(const char *name, int user, void (*fn)(void *), uint64_t arg, const char *label,
                      uint64_t want_vec, uint64_t want_err, int64_t want_rip,
                      uint64_t q_vec, uint64_t q_err, int64_t q_rip, const char *sdm)
{
    struct rom_fault f;
    int r = run(user, fn, arg, &f);
    if (!r) {
        rom_printf("case %s: no exception %s\n", name, rom_verdict(0));
        return;
    }
    if (report(name, r, &f, label, want_vec, want_err, want_rip)) {
        rom_printf(" %s\n", rom_verdict(1));
        return;
    }
    int q = f.vector == q_vec && f.error == q_err && f.rip == (uint64_t)(uintptr_t)label + (uint64_t)q_rip;
    rom_printf(" (SDM: %s) %s\n", sdm, rom_verdict(q));
}

/* Error code of a fault on IDT entry v: v*8 + 2 ("Error Code"; the index is the vector even with
   16-byte gates). QEMU 7.2 gives v*16 + 2. */
static void idt_case(const char *name, int user, void (*fn)(void *), const char *label, uint64_t vec, unsigned v)
{
    char sdm[48] = "#GP vector=13 err=0x";
    if (vec == NP)
        memcpy(sdm, "#NP vector=11", 13);
    char *p = sdm + 20;
    uint64_t e = IDT_ERR(v, 0);
    char tmp[8];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[e & 15];
        e >>= 4;
    } while (e);
    while (n)
        *p++ = tmp[--n];
    memcpy(p, " rip=insn+0", 12);
    known_dev(name, user, fn, 0, label, vec, IDT_ERR(v, 0), 0, vec, (uint64_t)v * 16 + 2, 0, sdm);
}

/* ---- cases ---- */

static void cases_basic(void)
{
    /* Faults report the faulting instruction, traps the next one ("Exception Classifications"). */
    simple("de-div-zero", 0, exc_div0, 0, exc_div0_insn, DE, 0, 0);
    simple("de-idiv-overflow", 0, exc_idiv, 0, exc_idiv_insn, DE, 0, 0);
    /* INT1 (F1) raises a #DB trap; it is not checked against the gate's DPL (Vol. 3A 6.12.1.1,
       Vol. 2A INT n), so a DPL0 gate serves CPL3. QEMU 7.2 builds without ICEBP: #UD. */
    known_dev("db-int1", 0, exc_icebp, 0, exc_icebp_insn, DB, 0, 1, UD, 0, 0, "#DB vector=1 err=0x0 rip=insn+1");
    known_dev("db-int1-cpl3", 1, exc_icebp, 0, exc_icebp_insn, DB, 0, 1, UD, 0, 0, "#DB vector=1 err=0x0 rip=insn+1");

    /* Single-step: DR6.BS set, B0-B3 clear ("Single-Step Exception Condition"). */
    struct rom_fault f;
    write_dr6(0xffff0ff0);
    int r = rom_try(exc_tf, 0, &f);
    uint64_t dr6 = read_dr6();
    int ok = report("db-single-step", r, &f, exc_tf_insn, DB, 0, 5);
    if (r) {
        unsigned bs = (dr6 >> 14) & 1, b = dr6 & 0xf;
        rom_printf(" dr6.bs=%u dr6.b0-3=0x%x %s\n", bs, b, rom_verdict(ok && bs && !b));
    }
    write_dr6(0xffff0ff0);

    simple("bp-int3", 0, exc_int3, 0, exc_int3_insn, BP, 0, 1);
    simple("bp-int3-cd03", 0, exc_int3_cd, 0, exc_int3_cd_insn, BP, 0, 2);
    simple("ud-ud2", 0, exc_ud2, 0, exc_ud2_insn, UD, 0, 0);
    simple("ud-push-es", 0, exc_badop, 0, exc_badop_insn, UD, 0, 0);
    simple("ud-lock-add-reg", 0, exc_lock, 0, exc_lock_insn, UD, 0, 0);
}

static void cases_gp(void)
{
    simple("gp-hlt-cpl3", 1, exc_hlt, 0, exc_hlt_insn, GP, 0, 0);
    simple("gp-mov-cr4-cpl3", 1, exc_movcr, 0, exc_movcr_insn, GP, 0, 0);
    simple("gp-wrmsr-cpl3", 1, exc_wrmsr, 0, exc_wrmsr_insn, GP, 0, 0);
    simple("gp-noncanonical-read", 0, exc_noncanon, 0, exc_noncanon_insn, GP, 0, 0);
    simple("gp-noncanonical-read-cpl3", 1, exc_noncanon, 0, exc_noncanon_insn, GP, 0, 0);

    /* Software INT through a gate with DPL < CPL: #GP(vector*8+2) ("Protection of Exception- and
       Interrupt-Handler Procedures"); INT3 is checked too. */
    set_gate(0x82, (const void *)(uintptr_t)rom_trap_stubs[3], 0, 0, 1);
    idt_case("gp-int82-dpl0-gate-cpl3", 1, exc_int82, exc_int82_insn, GP, 0x82);
    clear_gate(0x82);
    idt_case("gp-int3-dpl0-gate-cpl3", 1, exc_int3, exc_int3_insn, GP, 3);
    /* A gate of type 0 is no interrupt, trap or task gate: #GP (Vol. 2A INT n, Operation). */
    idt_case("gp-int84-type0-gate-cpl0", 0, exc_int84, exc_int84_insn, GP, 0x84);
    /* Valid gate, P = 0: #NP; from CPL3 with DPL0 the DPL check comes first: #GP. */
    set_gate(0x83, (const void *)(uintptr_t)rom_trap_stubs[3], 0, 0, 0);
    idt_case("np-int83-absent-gate-cpl0", 0, exc_int83, exc_int83_insn, NP, 0x83);
    idt_case("gp-int83-absent-dpl0-gate-cpl3", 1, exc_int83, exc_int83_insn, GP, 0x83);
    clear_gate(0x83);

    /* Segment loads: error code = the selector (index, TI, no RPL) ("Error Code"). */
    load_gdt2();
    simple("gp-mov-ds-beyond-gdt", 0, exc_lds, 0x40, exc_lds_insn, GP, 0x40, 0);
    simple("gp-mov-ds-beyond-gdt-rpl3", 0, exc_lds, 0x43, exc_lds_insn, GP, 0x40, 0);
    simple("gp-mov-ds-tss", 0, exc_lds, SEL_TSS, exc_lds_insn, GP, SEL_TSS, 0);
    simple("gp-mov-ds-kdata-cpl3", 1, exc_lds, SEL_KDATA, exc_lds_insn, GP, SEL_KDATA, 0);
    simple("np-mov-ds-not-present", 0, exc_lds, 0x38, exc_lds_insn, NP, 0x38, 0);

    /* RDMSR of an unimplemented MSR: #GP(0) (Vol. 2B RDMSR). QEMU 7.2's TCG returns 0 instead. */
    struct rom_fault f;
    int r = rom_try(exc_rdmsr, (void *)(uintptr_t)0xdead0000, &f);
    if (!r) {
        rom_printf("case gp-rdmsr-unknown: no exception (SDM: #GP vector=13 err=0x0 rip=insn+0) %s\n",
                   rom_verdict(1));
    } else {
        int ok = report("gp-rdmsr-unknown", r, &f, exc_rdmsr_insn, GP, 0, 0);
        rom_printf(" %s\n", rom_verdict(ok));
    }
}

static void cases_ss_pf(void)
{
    /* 64-bit mode: a non-canonical address through SS (RSP/RBP base) gives #SS(0), otherwise
       #GP(0) (Vol. 3A "Interrupt 12—Stack Fault Exception (#SS)"). */
    known_dev("ss-noncanonical-rsp-base", 0, exc_ss_mov, 0, exc_ss_mov_insn, SS, 0, 0, GP, 0, 0,
              "#SS vector=12 err=0x0 rip=insn+0");
    known_dev("ss-push-noncanonical-rsp-cpl3", 1, exc_ss_push, 0, exc_ss_push_insn, SS, 0, 0, GP, 0, 0,
              "#SS vector=12 err=0x0 rip=insn+0");

    struct rom_fault f;
    int r = rom_try(exc_pf_read, 0, &f);
    int ok = report("pf-read-not-present", r, &f, exc_pf_read_insn, PF, 0x0, 0);
    if (r)
        rom_printf(" cr2=0x%lx %s\n", f.cr2, rom_verdict(ok && f.cr2 == 0x100000000ULL));

    r = rom_try_user(exc_pf_write, 0, &f);
    ok = report("pf-write-not-present-cpl3", r, &f, exc_pf_write_insn, PF, 0x6, 0);
    if (r)
        rom_printf(" cr2=0x%lx %s\n", f.cr2, rom_verdict(ok && f.cr2 == 0x100000000ULL));

    /* A fetch fault reports the target: RIP = CR2. */
    r = rom_try(exc_pf_fetch, 0, &f);
    ok = report("pf-fetch-not-present", r, &f, 0, PF, 0x10, 0);
    if (r)
        rom_printf(" cr2=0x%lx rip=%s %s\n", f.cr2, f.rip == f.cr2 ? "cr2" : "other",
                   rom_verdict(ok && f.cr2 == 0x100000000ULL && f.rip == f.cr2));
}

static void case_int81_iret(void)
{
    /* INT 0x81 through a DPL3 gate from CPL3: stack switch to TSS.RSP0, SS := NULL, the old
       SS:RSP pushed ("Stack Switching in IA-32e Mode", "64-Bit Mode Stack Frame"). The
       handler changes RAX and RFLAGS and IRETQs to ring 3. */
    struct rom_fault f;
    set_gate(0x81, exc_int81_handler, 0, 3, 1);
    exc_spy_rsp = 0;
    int r = rom_try_user(exc_user_int81, 0, &f);
    clear_gate(0x81);

    uint64_t top = rsp0_top();
    uint64_t rip = exc_spy_frame[0], cs = exc_spy_frame[1], fl = exc_spy_frame[2];
    uint64_t rsp = exc_spy_frame[3], ss = exc_spy_frame[4];
    int on_rsp0 = exc_spy_rsp == top - 40;     /* 16-byte aligned top, 5 qwords pushed */
    rom_printf("case int81-dpl3-gate-cpl3: ret=%d handler-cs=0x%x handler-rsp=%s", r, exc_k_cs,
               on_rsp0 ? "rsp0-top-0x28 (on RSP0)" : "elsewhere");
    print_rip(rip, exc_user_int81_insn);
    int64_t drsp = (int64_t)(rsp - exc_u_rsp);
    rom_printf(" cs=0x%lx rflags=0x%lx rsp=user%s%ld ss=0x%lx", cs, fl, drsp < 0 ? "-" : "+",
               drsp < 0 ? -drsp : drsp, ss);
    rom_printf(" %s\n", rom_verdict(r == 0 && exc_k_cs == SEL_KCODE && on_rsp0 &&
                                    rip == (uint64_t)(uintptr_t)exc_user_int81_insn + 2 &&
                                    cs == SEL_UCODE && fl == 0x46 && drsp == 0 && ss == SEL_UDATA));
    rom_printf("case iretq-to-cpl3: rax=0x%lx rflags=0x%lx cs=0x%x %s\n", exc_u_rax, exc_u_flags,
               exc_u_cs, rom_verdict(exc_u_rax == 0x5a5a1234 && exc_u_flags == 0x847 && exc_u_cs == SEL_UCODE));
}

static void case_ist(void)
{
    /* Gate IST field != 0: always switch to TSS.IST1, even without a privilege change
       ("Interrupt Stack Table"). */
    struct rom_fault f;
    uint64_t rsp_before;
    __asm__ volatile("mov %%rsp, %0" : "=r"(rsp_before));
    set_gate(BP, exc_spy_3, 1, 0, 1);
    exc_spy_rsp = 0;
    int r = rom_try(exc_int3, 0, &f);
    set_gate(BP, (const void *)(uintptr_t)rom_trap_stubs[BP], 0, 0, 1);
    int on_ist = exc_spy_rsp == ist1_top() - 40;
    int ok = report("bp-int3-on-ist1", r, &f, exc_int3_insn, BP, 0, 1);
    uint64_t old_rsp = exc_spy_frame[3];
    int rsp_ok = old_rsp < rsp_before && old_rsp > rsp_before - 256;   /* rom_try's own stack */
    if (r)
        rom_printf(" handler-rsp=%s cs=0x%lx ss=0x%lx old-rsp=%s %s\n", on_ist ? "ist1-top-0x28 (on IST1)" : "elsewhere",
                   exc_spy_frame[1], exc_spy_frame[4], rsp_ok ? "caller's stack" : "other",
                   rom_verdict(ok && on_ist && exc_spy_frame[1] == SEL_KCODE && exc_spy_frame[4] == SEL_KDATA && rsp_ok));
}

static void case_syscall(void)
{
    /* SYSCALL: RCX = next RIP, R11 = RFLAGS, RFLAGS &= ~SFMASK, CS = STAR[47:32],
       SS = STAR[47:32] + 8. SYSRET: CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3
       (Vol. 2B SYSCALL, SYSRET; Vol. 3A "Fast System Calls in 64-Bit Mode"). */
    struct rom_fault f;
    wrmsr(MSR_STAR, (0x10ULL << 48) | ((uint64_t)SEL_KCODE << 32));
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)exc_syscall_entry);
    wrmsr(MSR_SFMASK, 0x40700);         /* AC DF IF TF */
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    int r = rom_try_user(exc_user_syscall, 0, &f);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~(uint64_t)EFER_SCE);
    if (r) {
        report("syscall", r, &f, exc_user_syscall_insn, 0, 0, 0);
        rom_printf(" %s\n", rom_verdict(0));
        return;
    }
    /* QEMU 7.2 clears the arithmetic flags too (kernel RFLAGS 0x2): accepted, with the SDM's value. */
    int64_t d = (int64_t)(exc_k_rcx - (uint64_t)(uintptr_t)exc_user_syscall_insn);
    rom_printf("case syscall: rcx=insn%s%ld r11=0x%lx rflags=0x%lx", d < 0 ? "-" : "+", d < 0 ? -d : d,
               exc_k_r11, exc_k_flags);
    if (exc_k_flags == 0x2)
        rom_printf(" (SDM: rflags=0x83)");
    rom_printf(" cs=0x%x ss=0x%x %s\n", exc_k_cs, exc_k_ss,
               rom_verdict(d == 2 && exc_k_r11 == 0x40483 && (exc_k_flags == 0x83 || exc_k_flags == 0x2) &&
                           exc_k_cs == SEL_KCODE && exc_k_ss == SEL_KDATA));
    rom_printf("case sysret: rflags=0x%lx cs=0x%x ss=0x%x %s\n", exc_u_flags, exc_u_cs, exc_u_ss,
               rom_verdict(exc_u_flags == 0x40483 && exc_u_cs == SEL_UCODE && exc_u_ss == SEL_UDATA));
}

static void case_double_fault(void)
{
    /* #GP with gate 13 not present: delivering it raises #NP(13*8+2+EXT); #GP then #NP are both
       contributory, so #DF(0) ("Interrupt 8—Double Fault Exception (#DF)", Table 6-5), on the
       IST1 stack of gate 8. The saved CS:RIP of a #DF are undefined: not printed. */
    struct rom_fault f;
    set_gate(DF, exc_spy_8, 1, 0, 1);
    set_gate(GP, (const void *)(uintptr_t)rom_trap_stubs[GP], 0, 0, 0);
    exc_spy_rsp = 0;
    int r = rom_try(exc_df, 0, &f);
    set_gate(GP, (const void *)(uintptr_t)rom_trap_stubs[GP], 0, 0, 1);
    set_gate(DF, (const void *)(uintptr_t)rom_trap_stubs[DF], 1, 0, 1);
    int on_ist = exc_spy_rsp == ist1_top() - 48;       /* error code + 5 qwords */
    int ok = report("df-gp-then-np", r, &f, 0, DF, 0, 0);
    if (r)
        rom_printf(" handler-rsp=%s %s\n", on_ist ? "ist1-top-0x30 (on IST1)" : "elsewhere",
                   rom_verdict(ok && on_ist));

    /* Still working afterwards: an ordinary #GP. */
    simple("gp-after-df", 0, exc_noncanon, 0, exc_noncanon_insn, GP, 0, 0);
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom exceptions\n");

    struct dtr d;
    __asm__ volatile("sidt %0" : "=m"(d));
    idt = (volatile struct gate *)(uintptr_t)d.base;

    cases_basic();
    cases_gp();
    cases_ss_pf();
    case_int81_iret();
    case_ist();
    case_syscall();
    case_double_fault();
    rom_done();
}
