/* MUL, IMUL (1, 2 and 3 operands), DIV and IDIV including #DE. */
#include "isa64.h"

/* One-operand forms: 8-bit uses AX, wider ones rDX:rAX. */
#define GEN_M8(op)                                                                 \
    static void op##8(void *v)                                                     \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a | (p->c << 8), fo;                                       \
        __asm__ volatile(PRE #op "b %b[b]" POST : "+a"(a), [fo] "=&r"(fo)          \
                         : [b] "r"(p->b), [fi] "r"(p->fin) : "cc");                \
        p->r = a & 0xff;                                                           \
        p->r2 = (a >> 8) & 0xff;                                                   \
        p->f = fo;                                                                 \
    }
#define GEN_M(op, w, M)                                                            \
    static void op##w(void *v)                                                     \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, d = p->c, fo;                                           \
        __asm__ volatile(PRE #op " %" M "[b]" POST : "+a"(a), "+d"(d), [fo] "=&r"(fo) \
                         : [b] "r"(p->b), [fi] "r"(p->fin) : "cc");                \
        p->r = a;                                                                  \
        p->r2 = d;                                                                 \
        p->f = fo;                                                                 \
    }
#define GEN_M4(op) GEN_M8(op) GEN_M(op, 16, "w") GEN_M(op, 32, "k") GEN_M(op, 64, "q")
GEN_M4(mul) GEN_M4(imul) GEN_M4(div) GEN_M4(idiv)

#define GEN_I2(w, M)                                                               \
    static void imul2_##w(void *v)                                                 \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE "imul %" M "[b], %" M "[a]" POST                      \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [b] "r"(p->b), [fi] "r"(p->fin) : "cc");                \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
GEN_I2(16, "w") GEN_I2(32, "k") GEN_I2(64, "q")

/* Three-operand forms, imm8 (6B) and imm32/imm16 (69). */
#define GEN_I3(name, imm, M)                                                       \
    static void name(void *v)                                                      \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = 0x5555555555555555ULL, fo;                                    \
        __asm__ volatile(PRE "imul $" imm ", %" M "[b], %" M "[a]" POST            \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [b] "r"(p->a), [fi] "r"(p->fin) : "cc");                \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
#define GEN_I3S(n, imm) GEN_I3(i3_##n##_16, imm, "w") GEN_I3(i3_##n##_32, imm, "k") GEN_I3(i3_##n##_64, imm, "q")
GEN_I3S(m1, "-1") GEN_I3S(p7f, "0x7f") GEN_I3S(m80, "-0x80") GEN_I3S(big, "0x1234") GEN_I3S(neg, "-0x7001")
struct i3 { const char *imm; opfn f[3]; };
static const struct i3 i3s[] = {
    { "-1", { i3_m1_16, i3_m1_32, i3_m1_64 } },
    { "0x7f", { i3_p7f_16, i3_p7f_32, i3_p7f_64 } },
    { "-0x80", { i3_m80_16, i3_m80_32, i3_m80_64 } },
    { "0x1234", { i3_big_16, i3_big_32, i3_big_64 } },
    { "-0x7001", { i3_neg_16, i3_neg_32, i3_neg_64 } },
};

/* MUL/IMUL define only CF and OF (SDM Vol. 2 MUL, IMUL "Flags Affected"). */
#define MULF (F_CF | F_OF)

/* Dividends (high, low) and divisors, as operand-list indices: 0 1 0xf max min pat -1. */
static const int dvd[6][2] = { { 0, 3 }, { 0, 6 }, { 1, 0 }, { 6, 6 }, { 6, 4 }, { 0, 5 } };
static const int dvs[7] = { 0, 1, 6, 2, 3, 4, 5 };

void run_muldiv(void)
{
    static const opfn mul[4] = { mul8, mul16, mul32, mul64 };
    static const opfn imul[4] = { imul8, imul16, imul32, imul64 };
    static const opfn div[4] = { div8, div16, div32, div64 };
    static const opfn idiv[4] = { idiv8, idiv16, idiv32, idiv64 };
    static const opfn imul2[3] = { imul2_16, imul2_32, imul2_64 };
    struct io io;
    for (int o = 0; o < 2; o++)
        for (int s = 0; s < 4; s++)
            for (int i = 0; i < NVALS; i++)
                for (int j = 0; j < NVALS; j++) {
                    int bits = sizes[s];
                    io.a = val(i, bits);
                    io.b = val(j, bits);
                    io.c = 0x77;                /* old rDX / AH: must be overwritten */
                    io.fin = FIN((i + j) & 1);
                    (o ? imul : mul)[s](&io);
                    rom_printf("%s%d", o ? "imul" : "mul", bits);
                    hx(" a=", io.a, bits);
                    hx(" b=", io.b, bits);
                    rom_printf(" cf=%d ->", (i + j) & 1);
                    hx(" hi=", io.r2, bits);
                    hx(" lo=", io.r, bits);
                    fl(io.f, MULF);
                    rom_puts("\n");
                }
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < NVALS; i++)
            for (int j = 0; j < NVALS; j++) {
                int bits = sizes[s + 1];
                io.a = val(i, bits);
                io.b = val(j, bits);
                io.fin = FIN((i + j) & 1);
                imul2[s](&io);
                rom_printf("imul2_%d", bits);
                hx(" a=", io.a, bits);
                hx(" b=", io.b, bits);
                rom_printf(" cf=%d ->", (i + j) & 1);
                hx(" r=", io.r, bits);
                fl(io.f, MULF);
                rom_puts("\n");
            }
    /* The 64-bit view shows the 16-bit form keeps the destination's upper bits and the 32-bit one zeroes them. */
    for (unsigned k = 0; k < sizeof i3s / sizeof i3s[0]; k++)
        for (int s = 0; s < 3; s++)
            for (int i = 0; i < NVALS; i++) {
                int bits = sizes[s + 1];
                io.a = val(i, bits);
                io.fin = FIN(i & 1);
                i3s[k].f[s](&io);
                rom_printf("imul3_%d imm=%s", bits, i3s[k].imm);
                hx(" a=", io.a, bits);
                rom_printf(" cf=%d ->", i & 1);
                hx(" r=", io.r, 64);
                fl(io.f, MULF);
                rom_puts("\n");
            }
    /* All flags are undefined after DIV/IDIV: only quotient and remainder are printed. */
    for (int o = 0; o < 2; o++)
        for (int s = 0; s < 4; s++)
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 7; j++) {
                    int bits = sizes[s];
                    struct rom_fault f;
                    io.c = val(dvd[i][0], bits);
                    io.a = val(dvd[i][1], bits);
                    io.b = val(dvs[j], bits);
                    io.fin = FIN(0);
                    int r = rom_try((o ? idiv : div)[s], &io, &f);
                    rom_printf("%s%d", o ? "idiv" : "div", bits);
                    hx(" hi=", io.c, bits);
                    hx(" lo=", io.a, bits);
                    hx(" d=", io.b, bits);
                    rom_puts(" ->");
                    if (r) {
                        rom_printf(" #DE vec=%lu err=0x%lx\n", f.vector, f.error);
                    } else {
                        hx(" q=", io.r, bits);
                        hx(" rem=", io.r2, bits);
                        rom_puts("\n");
                    }
                }
}
