/* BT/BTS/BTR/BTC, BSF/BSR/TZCNT/LZCNT/POPCNT, BSWAP, MOVZX/MOVSX/MOVSXD, CBW..CQO. */
#include "isa64.h"

/* Register forms: the bit offset is taken modulo the operand size. */
#define GEN_BT(op, w, M)                                                           \
    static void op##w(void *v)                                                     \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE #op " %" M "[b], %" M "[a]" POST                      \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [b] "r"(p->b), [fi] "r"(p->fin) : "cc");                \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
#define GEN_BTI(op, w, M, n, imm)                                                  \
    static void op##w##_##n(void *v)                                               \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE #op " $" #imm ", %" M "[a]" POST                      \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [fi] "r"(p->fin) : "cc");                               \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
#define GEN_BT3(G, op) G(op, 16, "w") G(op, 32, "k") G(op, 64, "q")
#define GEN_BTI3(op, n, imm) GEN_BTI(op, 16, "w", n, imm) GEN_BTI(op, 32, "k", n, imm) GEN_BTI(op, 64, "q", n, imm)
#define GEN_BTALL(op) GEN_BT3(GEN_BT, op) GEN_BTI3(op, 0, 3) GEN_BTI3(op, 1, 63) GEN_BTI3(op, 2, 100)
GEN_BTALL(bt) GEN_BTALL(bts) GEN_BTALL(btr) GEN_BTALL(btc)
#define BTFNS(op) { op##16, op##32, op##64 }, { { op##16_0, op##32_0, op##64_0 }, \
    { op##16_1, op##32_1, op##64_1 }, { op##16_2, op##32_2, op##64_2 } }
struct btop { const char *name; opfn f[3]; opfn fi[3][3]; };
static const struct btop bts_[] = { { "bt", BTFNS(bt) }, { "bts", BTFNS(bts) },
                                    { "btr", BTFNS(btr) }, { "btc", BTFNS(btc) } };
static const unsigned btimm[3] = { 3, 63, 100 };

/* Bit-string forms on memory: a register offset addresses bytes beyond the operand. */
static uint8_t bitmem[32] __attribute__((aligned(16)));
#define GEN_BTM(op, w, M)                                                          \
    static void op##m##w(void *v)                                                  \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t fo;                                                               \
        __asm__ volatile(PRE #op M " %[b], (%[m])" POST : [fo] "=&r"(fo)           \
                         : [b] "r"(p->b), [m] "r"(bitmem + 16), [fi] "r"(p->fin)   \
                         : "cc", "memory");                                        \
        p->f = fo;                                                                 \
    }
#define GEN_BTM_ALL(op) static void op##m16(void *v)                               \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t fo;                                                               \
        __asm__ volatile(PRE #op "w %w[b], (%[m])" POST : [fo] "=&r"(fo)           \
                         : [b] "r"(p->b), [m] "r"(bitmem + 16), [fi] "r"(p->fin)   \
                         : "cc", "memory");                                        \
        p->f = fo;                                                                 \
    }                                                                              \
    static void op##m32(void *v)                                                   \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t fo;                                                               \
        __asm__ volatile(PRE #op "l %k[b], (%[m])" POST : [fo] "=&r"(fo)           \
                         : [b] "r"(p->b), [m] "r"(bitmem + 16), [fi] "r"(p->fin)   \
                         : "cc", "memory");                                        \
        p->f = fo;                                                                 \
    }                                                                              \
    static void op##m64(void *v)                                                   \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t fo;                                                               \
        __asm__ volatile(PRE #op "q %q[b], (%[m])" POST : [fo] "=&r"(fo)           \
                         : [b] "r"(p->b), [m] "r"(bitmem + 16), [fi] "r"(p->fin)   \
                         : "cc", "memory");                                        \
        p->f = fo;                                                                 \
    }
GEN_BTM_ALL(bt) GEN_BTM_ALL(bts) GEN_BTM_ALL(btr) GEN_BTM_ALL(btc)
static const opfn btm[4][3] = { { btm16, btm32, btm64 }, { btsm16, btsm32, btsm64 },
                                { btrm16, btrm32, btrm64 }, { btcm16, btcm32, btcm64 } };

/* Bit scans and counts. */
#define GEN_SC(op, w, M)                                                           \
    static void op##w(void *v)                                                     \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->c, fo;                                                     \
        __asm__ volatile(PRE #op " %" M "[b], %" M "[a]" POST                      \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [b] "r"(p->a), [fi] "r"(p->fin) : "cc");                \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
GEN_BT3(GEN_SC, bsf) GEN_BT3(GEN_SC, bsr) GEN_BT3(GEN_SC, tzcnt) GEN_BT3(GEN_SC, lzcnt)
GEN_BT3(GEN_SC, popcnt)
/*
 * BSF/BSR: only ZF is defined, and the destination is undefined for a zero
 * source (SDM Vol. 2 BSF, BSR). TZCNT/LZCNT: ZF and CF defined. POPCNT: all.
 */
struct scop { const char *name; opfn f[3]; uint32_t mask; int zero_undef; };
static const struct scop scs[] = {
    { "bsf", { bsf16, bsf32, bsf64 }, F_ZF, 1 },
    { "bsr", { bsr16, bsr32, bsr64 }, F_ZF, 1 },
    { "tzcnt", { tzcnt16, tzcnt32, tzcnt64 }, F_ZF | F_CF, 0 },
    { "lzcnt", { lzcnt16, lzcnt32, lzcnt64 }, F_ZF | F_CF, 0 },
    { "popcnt", { popcnt16, popcnt32, popcnt64 }, F_ALL, 0 },
};

static void print_mem(void)
{
    rom_puts(" mem=");
    for (int k = 0; k < 32; k++)
        rom_put_hex(bitmem[k], 2);
}

#define GARB 0x0123456789abcdefULL

/* Sign/zero extension and accumulator conversions: destinations start as GARB. */
#define GEN_X(name, text)                                                          \
    static uint64_t name(uint64_t src)                                             \
    {                                                                              \
        uint64_t d = GARB;                                                         \
        __asm__(text : [d] "+&r"(d) : [s] "r"(src));                               \
        return d;                                                                  \
    }
GEN_X(x_movzbw, "movzbw %b[s], %w[d]") GEN_X(x_movzbl, "movzbl %b[s], %k[d]")
GEN_X(x_movzbq, "movzbq %b[s], %q[d]") GEN_X(x_movzwl, "movzwl %w[s], %k[d]")
GEN_X(x_movzwq, "movzwq %w[s], %q[d]") GEN_X(x_movsbw, "movsbw %b[s], %w[d]")
GEN_X(x_movsbl, "movsbl %b[s], %k[d]") GEN_X(x_movsbq, "movsbq %b[s], %q[d]")
GEN_X(x_movswl, "movswl %w[s], %k[d]") GEN_X(x_movswq, "movswq %w[s], %q[d]")
GEN_X(x_movslq, "movslq %k[s], %q[d]") GEN_X(x_movl, "movl %k[s], %k[d]")
GEN_X(x_movw, "movw %w[s], %w[d]") GEN_X(x_movb, "movb %b[s], %b[d]")
GEN_X(x_bswapl, "movq %[s], %[d]\n\tbswap %k[d]") GEN_X(x_bswapq, "movq %[s], %[d]\n\tbswap %q[d]")
struct xop { const char *name; uint64_t (*f)(uint64_t); };
static const struct xop xs[] = {
    { "movzbw", x_movzbw }, { "movzbl", x_movzbl }, { "movzbq", x_movzbq }, { "movzwl", x_movzwl },
    { "movzwq", x_movzwq }, { "movsbw", x_movsbw }, { "movsbl", x_movsbl }, { "movsbq", x_movsbq },
    { "movswl", x_movswl }, { "movswq", x_movswq }, { "movslq", x_movslq }, { "movl", x_movl },
    { "movw", x_movw },     { "movb", x_movb },     { "bswapl", x_bswapl }, { "bswapq", x_bswapq },
};
/* CBW..CQO: rAX in, rAX and rDX (preset to GARB) out. */
#define GEN_C(name, text)                                                          \
    static void name(uint64_t *a, uint64_t *d)                                     \
    {                                                                              \
        __asm__(text : "+a"(*a), "+d"(*d));                                        \
    }
GEN_C(c_cbw, "cbtw") GEN_C(c_cwde, "cwtl") GEN_C(c_cdqe, "cltq")
GEN_C(c_cwd, "cwtd") GEN_C(c_cdq, "cltd") GEN_C(c_cqo, "cqto")
struct cop { const char *name; void (*f)(uint64_t *, uint64_t *); };
static const struct cop cs[] = { { "cbw", c_cbw }, { "cwde", c_cwde }, { "cdqe", c_cdqe },
                                 { "cwd", c_cwd }, { "cdq", c_cdq },   { "cqo", c_cqo } };

void run_bits(void)
{
    struct io io;
    uint32_t r[4];
    cpuid(1, 0, r);
    rom_printf("cpuid popcnt=%u cx8=%u cx16=%u", (r[2] >> 23) & 1, (r[3] >> 8) & 1, (r[2] >> 13) & 1);
    cpuid(7, 0, r);
    rom_printf(" bmi1=%u", (r[1] >> 3) & 1);
    cpuid(0x80000001, 0, r);
    rom_printf(" lzcnt=%u lahf64=%u\n", (r[2] >> 5) & 1, r[2] & 1);

    /* CF = the selected bit; ZF unaffected; OF SF AF PF undefined (SDM Vol. 2 BT, BTS, BTR, BTC). */
    static const uint64_t offs[6] = { 0, 1, 15, 31, 63, 0x1c4 };
    for (int o = 0; o < 4; o++)
        for (int s = 0; s < 3; s++) {
            int bits = sizes[s + 1];
            for (int i = 0; i < 2; i++)
                for (int k = 0; k < 6; k++) {
                    io.a = i ? val(5, bits) : val(4, bits) | 1;
                    io.b = offs[k];
                    io.fin = FIN(k & 1);
                    bts_[o].f[s](&io);
                    rom_printf("%s%d", bts_[o].name, bits);
                    hx(" a=", io.a, bits);
                    rom_printf(" bit=%u cf=%d ->", (unsigned)io.b, k & 1);
                    hx(" r=", io.r, bits);
                    fl(io.f, F_CF | F_ZF);
                    rom_puts("\n");
                }
            for (int i = 0; i < 2; i++)
                for (int k = 0; k < 3; k++) {
                    io.a = i ? val(5, bits) : val(4, bits) | 1;
                    io.fin = FIN((k + i) & 1);
                    bts_[o].fi[k][s](&io);
                    rom_printf("%s%d imm=%u", bts_[o].name, bits, btimm[k]);
                    hx(" a=", io.a, bits);
                    rom_printf(" cf=%d ->", (k + i) & 1);
                    hx(" r=", io.r, bits);
                    fl(io.f, F_CF | F_ZF);
                    rom_puts("\n");
                }
        }
    static const int64_t moffs[6] = { 0, 13, 64, 100, -1, -77 };
    for (int o = 0; o < 4; o++)
        for (int s = 0; s < 3; s++)
            for (int k = 0; k < 6; k++) {
                int bits = sizes[s + 1];
                for (int q = 0; q < 32; q++)
                    bitmem[q] = (uint8_t)(0x5a + q * 0x25);
                io.b = (uint64_t)moffs[k] & szmask(bits);
                io.fin = FIN(k & 1);
                btm[o][s](&io);
                rom_printf("%s%d mem bit=%ld cf=%d ->", bts_[o].name, bits, (long)moffs[k], k & 1);
                fl(io.f, F_CF | F_ZF);
                print_mem();
                rom_puts("\n");
            }

    static const uint64_t scv[8] = { 0, 1, 0x10, 0x8000, 0x80000000ULL, 0x8000000000000000ULL,
                                     0xa5c3e1f00f1e3c5aULL, ~0ULL };
    for (unsigned o = 0; o < sizeof scs / sizeof scs[0]; o++)
        for (int s = 0; s < 3; s++)
            for (int i = 0; i < 8; i++) {
                int bits = sizes[s + 1];
                if (i > 0 && (scv[i] & szmask(bits)) == 0)
                    continue;
                io.a = scv[i] & szmask(bits);
                io.c = GARB;
                io.fin = FIN(i & 1);
                scs[o].f[s](&io);
                rom_printf("%s%d", scs[o].name, bits);
                hx(" a=", io.a, bits);
                rom_printf(" cf=%d ->", i & 1);
                if (io.a == 0 && scs[o].zero_undef)
                    rom_puts(" r=undef");
                else
                    hx(" r=", io.r, bits);
                fl(io.f, scs[o].mask);
                rom_puts("\n");
            }

    static const uint64_t xv[6] = { 0, 0x7f, 0x80, 0x7fff8000ULL, 0x80007fffULL, 0xfedcba9876543210ULL };
    for (unsigned o = 0; o < sizeof xs / sizeof xs[0]; o++)
        for (int i = 0; i < 6; i++) {
            rom_printf("%s", xs[o].name);
            hx(" s=", xv[i], 64);
            hx(" d=", GARB, 64);
            hx(" -> d=", xs[o].f(xv[i]), 64);
            rom_puts("\n");
        }
    for (unsigned o = 0; o < sizeof cs / sizeof cs[0]; o++)
        for (int i = 0; i < 6; i++) {
            uint64_t a = xv[i], d = GARB;
            cs[o].f(&a, &d);
            rom_printf("%s", cs[o].name);
            hx(" rax=", xv[i], 64);
            hx(" -> rax=", a, 64);
            hx(" rdx=", d, 64);
            rom_puts("\n");
        }
}
