/* SETcc/CMOVcc/Jcc, LEA, XCHG/XADD/CMPXCHG/CMPXCHG8B/16B, LAHF/SAHF/PUSHF/POPF, stack ops. */
#include "isa64.h"

#define GA 0x1111222233334444ULL
#define GB 0xaaaabbbbccccddddULL

/* All three consume the same flags: SETcc keeps bits 8-63, 32-bit CMOVcc zero-extends even when false. */
#define GEN_CC(cc)                                                                 \
    static void cc_##cc(void *v)                                                   \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t s = 0xab00, m16 = GA, m32 = GA, m64 = GA, j;                      \
        __asm__ volatile("push %[fi]\n\tpopfq\n\t"                                 \
                         "set" #cc " %b[s]\n\t"                                    \
                         "cmov" #cc " %w[b], %w[m16]\n\t"                          \
                         "cmov" #cc " %k[b], %k[m32]\n\t"                          \
                         "cmov" #cc " %q[b], %q[m64]\n\t"                          \
                         "mov $1, %k[j]\n\t"                                       \
                         "j" #cc " 1f\n\t"                                         \
                         "xor %k[j], %k[j]\n"                                      \
                         "1:"                                                      \
                         : [s] "+&r"(s), [m16] "+&r"(m16), [m32] "+&r"(m32),       \
                           [m64] "+&r"(m64), [j] "=&r"(j)                          \
                         : [b] "r"(GB), [fi] "r"(p->fin) : "cc");                  \
        p->r = s;                                                                  \
        p->r2 = j;                                                                 \
        p->a = m16;                                                                \
        p->b = m32;                                                                \
        p->c = m64;                                                                \
    }
GEN_CC(o) GEN_CC(no) GEN_CC(b) GEN_CC(ae) GEN_CC(e) GEN_CC(ne) GEN_CC(be) GEN_CC(a)
GEN_CC(s) GEN_CC(ns) GEN_CC(p) GEN_CC(np) GEN_CC(l) GEN_CC(ge) GEN_CC(le) GEN_CC(g)
static const opfn ccf[16] = { cc_o, cc_no, cc_b, cc_ae, cc_e, cc_ne, cc_be, cc_a,
                              cc_s, cc_ns, cc_p, cc_np, cc_l, cc_ge, cc_le, cc_g };
static const char *const ccn[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
                                     "s", "ns", "p", "np", "l", "ge", "le", "g" };
static const uint64_t ccfl[10] = { 0x002, 0x003, 0x006, 0x042, 0x043, 0x082, 0x802, 0x882, 0x8c2, 0x8d7 };

static void run_cc(void)
{
    struct io io;
    for (int c = 0; c < 16; c++)
        for (int k = 0; k < 10; k++) {
            io.fin = ccfl[k];
            ccf[c](&io);
            rom_printf("cc%s fl=0x%03x -> set=0x%04x j=%u", ccn[c], (unsigned)io.fin, (unsigned)io.r,
                       (unsigned)io.r2);
            hx(" cmov16=", io.a, 64);
            hx(" cmov32=", io.b, 64);
            hx(" cmov64=", io.c, 64);
            rom_puts("\n");
        }
}

/* LEA: RBX = 0xfffffff0, RCX = 0x80000001, RAX preset to GA; values only, no addresses. */
#define LEA(text)                                                                  \
    do {                                                                           \
        uint64_t r = GA;                                                           \
        __asm__(text : "+a"(r) : "b"(0xfffffff0ULL), "c"(0x80000001ULL) : "r12", "r13"); \
        rom_puts_asm(#text);                                                    \
        hx(" -> rax=", r, 64);                                                     \
        rom_puts("\n");                                                            \
    } while (0)

uint64_t rip_target __attribute__((used));
static void run_lea(void)
{
    LEA("lea 0x10(%%rbx), %%rax");
    LEA("lea -0x10(%%rbx,%%rcx,8), %%rax");
    LEA("lea (,%%rcx,4), %%rax");
    LEA("lea 0x7fffffff(%%rbx,%%rcx), %%rax");
    LEA("lea -0x80000000(%%rbx), %%rax");
    LEA("lea -1(%%rcx,%%rcx,2), %%rax");
    LEA("lea 0x20(%%rbx,%%rcx,2), %%eax");
    LEA("lea 0x20(%%rbx,%%rcx,2), %%ax");
    LEA("lea 0x20(%%ebx,%%ecx,2), %%rax");
    LEA("lea 0x20(%%ebx), %%eax");
    LEA("lea -0x30(,%%ecx,8), %%rax");
    LEA("mov %%rbx, %%r12\n\tlea 4(%%r12,%%rcx,1), %%rax");
    LEA("mov %%rcx, %%r13\n\tlea (%%r13), %%rax");
    LEA("mov %%rcx, %%r13\n\tlea (%%rbx,%%r13,8), %%rax");
    LEA("lea 8(%%rsp), %%rax\n\tsub %%rsp, %%rax");
    LEA("lea 0x1234, %%rax");
    /* RIP-relative: minus the absolute address of the same target. */
    uint64_t r1, r2;
    __asm__("lea rip_target+0x100(%%rip), %0\n\tmovabs $rip_target, %1" : "=r"(r1), "=r"(r2));
    rom_printf("lea rip_target+0x100(%%rip) - rip_target -> 0x%lx\n", r1 - r2);
    __asm__("lea 1f(%%rip), %0\n\tlea 1f, %1\n1:" : "=r"(r1), "=r"(r2));
    rom_printf("lea 1f(%%rip) - 1f -> 0x%lx\n", r1 - r2);
    __asm__("addr32 lea rip_target(%%eip), %k0\n\tmov $rip_target, %k1" : "=r"(r1), "=r"(r2));
    rom_printf("lea rip_target(%%eip) - rip_target -> 0x%lx\n", r1 - r2);
    (void)rip_target;
}

/* Exchange family: register operands preset to GA/GB, memory cell to GB. */
static volatile uint64_t cell;
static uint64_t pair[2] __attribute__((aligned(16)));

#define XREG(text, init_a, init_d)                                                 \
    do {                                                                           \
        uint64_t a = init_a, d = init_d, rax = GA, fo;                             \
        __asm__ volatile(PRE text POST : [a] "+&r"(a), [d] "+&r"(d), "+a"(rax), [fo] "=&r"(fo) \
                         : [fi] "r"(FIN1) : "cc", "memory");                       \
        rom_puts_asm(#text);                                                           \
        hx(" -> a=", a, 64);                                                       \
        hx(" d=", d, 64);                                                          \
        hx(" rax=", rax, 64);                                                      \
        fl(fo, F_ALL);                                                             \
        rom_puts("\n");                                                            \
    } while (0)
#define XMEM(text, init_a)                                                         \
    do {                                                                           \
        uint64_t a = init_a, rax = GA, fo;                                         \
        cell = GB;                                                                 \
        __asm__ volatile(PRE text POST : [a] "+&r"(a), "+a"(rax), [fo] "=&r"(fo)   \
                         : [m] "r"(&cell), [fi] "r"(FIN0) : "cc", "memory");      \
        rom_puts_asm(#text);                                                           \
        hx(" -> a=", a, 64);                                                       \
        hx(" mem=", cell, 64);                                                     \
        hx(" rax=", rax, 64);                                                      \
        fl(fo, F_ALL);                                                             \
        rom_puts("\n");                                                            \
    } while (0)

static void run_xchg(void)
{
    XREG("xchg %%al, %b[d]", GB, GB);
    XREG("xchg %w[a], %w[d]", GA, GB);
    XREG("xchg %k[a], %k[d]", GA, GB);
    XREG("xchg %q[a], %q[d]", GA, GB);
    XREG("xchg %%eax, %%eax", GA, GB);
    XREG("xadd %b[a], %b[d]", 0x7f, 0x01);
    XREG("xadd %w[a], %w[d]", 0xffff, 0x0001);
    XREG("xadd %k[a], %k[d]", 0x80000000ULL, 0x80000000ULL);
    XREG("xadd %q[a], %q[d]", 0x7fffffffffffffffULL, 1);
    XREG("xadd %k[a], %k[d]", GA, GB);
    /* CMPXCHG: rAX = GA; equal when the destination matches it. */
    XREG("cmpxchg %b[a], %b[d]", GB, GA);
    XREG("cmpxchg %b[a], %b[d]", GB, GB);
    XREG("cmpxchg %w[a], %w[d]", GB, GA);
    XREG("cmpxchg %w[a], %w[d]", GB, GB);
    XREG("cmpxchg %k[a], %k[d]", GB, GA);
    XREG("cmpxchg %k[a], %k[d]", GB, GB);
    XREG("cmpxchg %q[a], %q[d]", GB, GA);
    XREG("cmpxchg %q[a], %q[d]", GB, GB);
    XMEM("xchg %b[a], (%[m])", GA);
    XMEM("xchg %w[a], (%[m])", GA);
    XMEM("xchg %k[a], (%[m])", GA);
    XMEM("xchg %q[a], (%[m])", GA);
    XMEM("xaddb %b[a], (%[m])", GA);
    XMEM("lock xaddw %w[a], (%[m])", GA);
    XMEM("lock xaddl %k[a], (%[m])", GA);
    XMEM("lock xaddq %q[a], (%[m])", GA);
    XMEM("mov %[a], %%rax\n\tcmpxchgb %b[a], (%[m])", GA);
    XMEM("mov (%[m]), %%rax\n\tcmpxchgb %b[a], (%[m])", GA);
    XMEM("mov %[a], %%rax\n\tlock cmpxchgw %w[a], (%[m])", GA);
    XMEM("mov (%[m]), %%rax\n\tlock cmpxchgw %w[a], (%[m])", GA);
    XMEM("mov %[a], %%rax\n\tcmpxchgl %k[a], (%[m])", GA);
    XMEM("mov (%[m]), %%rax\n\tcmpxchgl %k[a], (%[m])", GA);
    XMEM("mov %[a], %%rax\n\tlock cmpxchgq %q[a], (%[m])", GA);
    XMEM("mov (%[m]), %%rax\n\tlock cmpxchgq %q[a], (%[m])", GA);
    XMEM("mov (%[m]), %%rax\n\tdec %%rax\n\tlock cmpxchgq %q[a], (%[m])", GA);

    /* CMPXCHG8B/16B: compare rDX:rAX, store rCX:rBX; only ZF changes. */
    static const char *const nm[4] = { "cmpxchg8b", "lock cmpxchg8b", "cmpxchg16b", "lock cmpxchg16b" };
    for (int k = 0; k < 8; k++) {
        int eq = k & 1;
        uint64_t rax = GA, rdx = GB, fo;
        pair[0] = eq ? (k < 4 ? ((GB << 32) | (GA & 0xffffffff)) : GA) : 0x0102030405060708ULL;
        pair[1] = eq ? GB : 0x1112131415161718ULL;
        switch (k >> 1) {
        case 0:
            __asm__ volatile(PRE "cmpxchg8b (%[m])" POST : "+a"(rax), "+d"(rdx), [fo] "=&r"(fo)
                             : "b"(0xc0c1c2c3c4c5c6c7ULL), "c"(0xd0d1d2d3d4d5d6d7ULL), [m] "r"(pair),
                               [fi] "r"(FIN0 | (k & 2 ? 0 : 0)) : "cc", "memory");
            break;
        case 1:
            __asm__ volatile(PRE "lock cmpxchg8b (%[m])" POST : "+a"(rax), "+d"(rdx), [fo] "=&r"(fo)
                             : "b"(0xc0c1c2c3c4c5c6c7ULL), "c"(0xd0d1d2d3d4d5d6d7ULL), [m] "r"(pair),
                               [fi] "r"(FIN1) : "cc", "memory");
            break;
        case 2:
            __asm__ volatile(PRE "cmpxchg16b (%[m])" POST : "+a"(rax), "+d"(rdx), [fo] "=&r"(fo)
                             : "b"(0xc0c1c2c3c4c5c6c7ULL), "c"(0xd0d1d2d3d4d5d6d7ULL), [m] "r"(pair),
                               [fi] "r"(FIN0) : "cc", "memory");
            break;
        default:
            __asm__ volatile(PRE "lock cmpxchg16b (%[m])" POST : "+a"(rax), "+d"(rdx), [fo] "=&r"(fo)
                             : "b"(0xc0c1c2c3c4c5c6c7ULL), "c"(0xd0d1d2d3d4d5d6d7ULL), [m] "r"(pair),
                               [fi] "r"(FIN1) : "cc", "memory");
            break;
        }
        rom_printf("%s %s ->", nm[k >> 1], eq ? "equal" : "differ");
        hx(" mem0=", pair[0], 64);
        hx(" mem1=", pair[1], 64);
        hx(" rax=", rax, 64);
        hx(" rdx=", rdx, 64);
        fl(fo, F_ALL);
        rom_puts("\n");
    }
}

/* LAHF/SAHF, PUSHF/POPF: TF, IF and DF stay clear in what POPF loads. */
static void run_flags(void)
{
    static const uint64_t ah[5] = { 0x00, 0xff, 0xd5, 0x2a, 0x41 };
    for (int k = 0; k < 5; k++)
        for (int c = 0; c <= 1; c++) {
            uint64_t a = (ah[k] << 8) | 0xee, fo;
            __asm__ volatile(PRE "sahf" POST : "+a"(a), [fo] "=&r"(fo) : [fi] "r"(FIN(c)) : "cc");
            rom_printf("sahf ah=0x%02x cf=%d -> f=0x%03x\n", (unsigned)ah[k], c, (unsigned)(fo & 0xfff));
        }
    static const uint64_t lf[4] = { 0x002, 0x8d7, 0x0c3, 0x815 };
    for (int k = 0; k < 4; k++) {
        uint64_t a = GA, fo;
        __asm__ volatile(PRE "lahf" POST : "+a"(a), [fo] "=&r"(fo) : [fi] "r"(lf[k]) : "cc");
        rom_printf("lahf fl=0x%03x -> rax=0x%016lx\n", (unsigned)lf[k], a);
    }
    /* RFLAGS & 0xcd5 after POPF, and the always-1 bit 1 / always-0 bits 3, 5, 15. */
    static const uint64_t pv[6] = { 0, 0x8d5, 0xffffffffffbffcffULL, 0x0000000000004000ULL,
                                    0x0000000000007000ULL, 0x202ULL & ~0x200ULL };
    for (int k = 0; k < 6; k++) {
        uint64_t fo, d0, d1;
        __asm__ volatile("pushfq\n\t"
                         "mov %%rsp, %[d0]\n\t"
                         "push %[v]\n\t"
                         "popfq\n\t"
                         "pushfq\n\t"
                         "pop %[fo]\n\t"
                         "mov %%rsp, %[d1]\n\t"
                         "popfq"
                         : [fo] "=&r"(fo), [d0] "=&r"(d0), [d1] "=&r"(d1) : [v] "r"(pv[k]) : "cc", "memory");
        rom_printf("popf v=0x%016lx -> f=0x%03x fixed=0x%04x nt=%u iopl=%u ac=%u id=%u drsp=%ld\n", pv[k],
                   (unsigned)(fo & 0xcd5), (unsigned)(fo & 0x802a), (unsigned)((fo >> 14) & 1),
                   (unsigned)((fo >> 12) & 3), (unsigned)((fo >> 18) & 1), (unsigned)((fo >> 21) & 1),
                   (long)(d1 - d0));
    }
}

/* Stack: RSP (and RBP) deltas and the values moved, never addresses. */
static uint64_t enter_area[8];
static void run_stack(void)
{
    uint64_t s0, s1, v;
    __asm__ volatile("mov %%rsp, %0\n\tpushq $-1\n\tmov %%rsp, %1\n\tpop %2" : "=&r"(s0), "=&r"(s1), "=&r"(v));
    rom_printf("pushq $-1 -> drsp=%ld val=0x%016lx\n", (long)(s1 - s0), v);
    __asm__ volatile("mov %%rsp, %0\n\tpushq $-0x80000000\n\tmov %%rsp, %1\n\tpop %2" : "=&r"(s0), "=&r"(s1), "=&r"(v));
    rom_printf("pushq $-0x80000000 -> drsp=%ld val=0x%016lx\n", (long)(s1 - s0), v);
    uint64_t net;
    __asm__ volatile("mov %%rsp, %0\n\tpushw $0x1234\n\tmov %%rsp, %1\n\tmov %4, %2\n\tpopw %w2\n\tmov %%rsp, %3"
                     : "=&r"(s0), "=&r"(s1), "=&r"(v), "=&r"(net) : "r"(GA));
    rom_printf("pushw $0x1234; popw -> drsp=%ld val=0x%016lx net=%ld\n", (long)(s1 - s0), v, (long)(net - s0));
    __asm__ volatile("mov %%rsp, %0\n\tpush %w3\n\tmov %%rsp, %1\n\tpopq %2\n\tpushq %2\n\tpop %w2"
                     : "=&r"(s0), "=&r"(s1), "=&r"(v) : "r"(GB));
    rom_printf("pushw %%r16; popq -> drsp=%ld\n", (long)(s1 - s0));
    __asm__ volatile("mov %%rsp, %0\n\tcall 1f\n\tjmp 2f\n1:\tmov %%rsp, %1\n\tret\n2:\tsub %%rsp, %0"
                     : "=&r"(s0), "=&r"(s1));
    rom_printf("call/ret -> net=%ld\n", (long)s0);
    __asm__ volatile("mov %%rsp, %0\n\tsub $16, %%rsp\n\tcall 1f\n\tjmp 2f\n1:\tret $16\n2:\tsub %%rsp, %0"
                     : "=&r"(s0));
    rom_printf("sub $16; call; ret $16 -> net=%ld\n", (long)s0);
    /* ENTER with nesting levels reads frame pointers below RBP: RBP points into enter_area. */
    static const unsigned lv[3] = { 0, 1, 3 };
    static uint64_t out[10];
    for (int k = 0; k < 3; k++) {
        for (int q = 0; q < 8; q++)
            enter_area[q] = 0xe0e0e0e0e0e0e000ULL + q;
        uint64_t base = (uint64_t)(enter_area + 6);
        /* out: rsp delta, rbp delta, saved rbp - base, two copied slots, pushed frame pointer - rsp0, rsp delta after leave */
        __asm__ volatile("push %%rbp\n\t"
                         "mov %[base], %%rbp\n\t"
                         "mov %%rsp, %%r8\n\t"
                         "cmpl $0, %[lv]\n\tjne 1f\n\tenter $24, $0\n\tjmp 4f\n"
                         "1:\tcmpl $1, %[lv]\n\tjne 2f\n\tenter $8, $1\n\tjmp 4f\n"
                         "2:\tenter $0, $3\n"
                         "4:\tmov %%rsp, %%r9\n\tsub %%r8, %%r9\n\tmov %%r9, 0(%[o])\n\t"
                         "mov %%rbp, %%r9\n\tsub %%r8, %%r9\n\tmov %%r9, 8(%[o])\n\t"
                         "mov -8(%%r8), %%r9\n\tsub %[base], %%r9\n\tmov %%r9, 16(%[o])\n\t"
                         "mov -16(%%r8), %%r9\n\tmov %%r9, 24(%[o])\n\t"
                         "mov -24(%%r8), %%r9\n\tmov %%r9, 32(%[o])\n\t"
                         "mov -32(%%r8), %%r9\n\tsub %%r8, %%r9\n\tmov %%r9, 40(%[o])\n\t"
                         "leave\n\t"
                         "mov %%rsp, %%r9\n\tsub %%r8, %%r9\n\tmov %%r9, 48(%[o])\n\t"
                         "mov %%rbp, %%r9\n\tsub %[base], %%r9\n\tmov %%r9, 56(%[o])\n\t"
                         "mov %%r8, 64(%[o])\n\t"
                         "pop %%rbp"
                         : : [base] "r"(base), [lv] "m"(lv[k]), [o] "r"(out) : "r8", "r9", "memory", "cc");
        rom_printf("enter level=%u -> drsp=%ld drbp=%ld saved_rbp-base=%ld", lv[k], (long)out[0], (long)out[1],
                   (long)out[2]);
        if (lv[k] == 3)
            rom_printf(" copied=0x%016lx,0x%016lx framep-rsp0=%ld", out[3], out[4], (long)out[5]);
        if (lv[k] == 1)
            rom_printf(" framep-rsp0=%ld", (long)(out[3] - out[8]));
        rom_printf(" leave_drsp=%ld leave_rbp-base=%ld\n", (long)out[6], (long)out[7]);
    }
}

void run_misc(void)
{
    run_cc();
    run_lea();
    run_xchg();
    run_flags();
    run_stack();
}
